#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "troupe/detail/lockable.hpp"
#include "troupe/fwd.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

namespace detail {
class semaphore_core;
} // namespace detail

/// An owned counting semaphore: Python's `multiprocessing.Semaphore(n)`.
///
/// Permits are charged to the process that acquired them. A `release()` is
/// charged to the caller's own permits first; a process holding none may
/// release too (signalling, as in Python): that release is charged to
/// another holder's permits or, when nobody holds one, makes a permit that
/// its taker consumes rather than holds, so counting stays exact and a
/// signal is never returned twice. When a process ends
/// still holding permits — return, exception, `terminate()`, `kill()` —
/// they are returned, and each process that next acquires one of them sees
/// `previous_owner_died()`.
///
/// Usable with `std::lock_guard` and `std::unique_lock` (Lockable and
/// TimedLockable, via `detail::lockable`).
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: a release synchronizes with the acquire that takes its
/// permit. Waiters are not served in order. Lifetime: handles are cheap to
/// copy and share one semaphore.
class semaphore : public detail::lockable<semaphore> {
public:
  /// A semaphore with `value` permits.
  explicit semaphore(runtime& rt, std::size_t value = 1,
                     sync_options opts = {});

  /// Blocks until a permit is free and takes it; returns true. Throws
  /// `terminated` when the calling process is asked to stop.
  bool acquire();

  /// With `block` false, takes a permit only if one is free; never
  /// blocks. Returns whether it took one.
  bool acquire(bool block);

  /// Blocks at most `timeout` (negative: `value_error`); returns whether
  /// it took a permit.
  bool acquire(std::chrono::nanoseconds timeout);

  /// Returns `n` permits and wakes as many waiters. Does not block.
  /// A `bounded_semaphore` throws `value_error` (and changes nothing) when
  /// that would exceed its initial value.
  void release(std::size_t n = 1);

  /// Free permits now (Python's `get_value()`). Does not block.
  [[nodiscard]] std::size_t get_value() const;

  /// Permits the calling process holds.
  [[nodiscard]] std::size_t held() const;

  /// Whether the permit the caller took last was returned by a holder that
  /// ended holding it. Reset by the caller's next acquire.
  [[nodiscard]] bool previous_owner_died() const;

  [[nodiscard]] std::string name() const;

protected:
  semaphore(runtime& rt, std::size_t value, sync_options opts, bool bounded);

private:
  std::shared_ptr<detail::semaphore_core> core_;
};

/// Python's `BoundedSemaphore(n)`: a `semaphore` whose `release()` throws
/// `value_error` instead of raising the count above `n`.
class bounded_semaphore : public semaphore {
public:
  explicit bounded_semaphore(runtime& rt, std::size_t value = 1,
                             sync_options opts = {})
    : semaphore(rt, value, std::move(opts), true) {}
};

} // namespace troupe
