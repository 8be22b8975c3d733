#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "troupe/fwd.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

namespace detail {
class barrier_core;
} // namespace detail

/// Python's `multiprocessing.Barrier(parties, action)`: each of `parties`
/// processes calls `wait()`; all return once the last one arrived, after
/// that one ran `action`. Then the barrier is ready for the next round.
///
/// Broken barriers (Python's `BrokenBarrierError`): when a waiter times
/// out, `abort()` is called, the action throws, or a waiter is asked to
/// stop, every waiter of the round throws `broken_barrier`, and so does
/// every later `wait()` until `reset()`.
///
/// Ownership: a process becomes a party at its first `wait()`. When a
/// party ends while others wait — return, exception, `terminate()`,
/// `kill()` — or ends abnormally at any time, the barrier breaks instead
/// of leaving the others waiting forever; the message names the party.
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: everything a party did before `wait()` is visible to every
/// party after `wait()` returns. The action runs under the barrier's lock,
/// so it must not use the barrier. Lifetime: handles are cheap to copy.
class barrier {
public:
  /// A barrier for `parties` processes (at least 1, else `value_error`)
  /// running `action` (may be empty) when the last one arrives.
  barrier(runtime& rt, std::size_t parties, std::function<void()> action = {},
          sync_options opts = {});

  /// Blocks until all parties waited; returns this caller's arrival index,
  /// 0 to `parties() - 1` (Python returns the same). Throws
  /// `broken_barrier` as described above, `terminated` when the calling
  /// process is asked to stop (which also breaks the barrier), and what
  /// the action threw in the process that ran it.
  std::size_t wait();

  /// As `wait()`, but breaks the barrier and throws `broken_barrier` after
  /// `timeout` (negative: `value_error`).
  std::size_t wait(std::chrono::nanoseconds timeout);

  /// Breaks the barrier: current and later waiters throw `broken_barrier`
  /// until `reset()`. Does not block.
  void abort();

  /// Returns the barrier to its initial state; processes waiting now throw
  /// `broken_barrier`. Does not block.
  void reset();

  [[nodiscard]] std::size_t parties() const;

  /// Processes waiting in the current round.
  [[nodiscard]] std::size_t n_waiting() const;

  [[nodiscard]] bool broken() const;

  [[nodiscard]] std::string name() const;

private:
  std::shared_ptr<detail::barrier_core> core_;
};

} // namespace troupe
