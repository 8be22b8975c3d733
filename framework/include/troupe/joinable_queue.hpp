#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

#include "troupe/detail/make_queue_state.hpp"
#include "troupe/queue.hpp"
#include "troupe/queue_options.hpp"

namespace troupe {

/// A `queue` whose producer can wait until every item was processed:
/// Python's `multiprocessing.JoinableQueue`, fixed so that a consumer's
/// death cannot leave `join()` hanging.
///
/// Each `get()` records the item as held by the calling process until it
/// calls `task_done()`. When a process ends (return, exception,
/// `terminate()`, `kill()`) holding items, they are redelivered to the
/// front of the queue (the default) or, with
/// `consumer_exit_policy::report`, counted as done and kept for
/// `take_failed()`. Threads troupe does not run count as the main process,
/// which ends at runtime shutdown.
///
/// It is a `queue` (every member of `queue` works on it, and it converts to
/// one), plus `task_done()`, `join()` and `take_failed()`.
///
/// Thread-safety, ordering and lifetime: as `queue`; a redelivered item
/// goes before the items still queued. `T` must be copy-constructible (the
/// queue keeps a copy of each held item to redeliver it).
template <class T>
class joinable_queue : public queue<T> {
public:
  static_assert(std::is_copy_constructible_v<T>,
                "joinable_queue<T> keeps a copy of every item a consumer "
                "holds, to redeliver it if the consumer dies: T must be "
                "copy-constructible (use queue<T> for move-only types)");

  /// An empty queue with `opts` (unbounded by default).
  explicit joinable_queue(runtime& rt, joinable_queue_options opts = {})
    : queue<T>(detail::make_joinable_queue_state<T>(
      opts.capacity, opts.overflow, opts.on_consumer_exit)) {
    static_cast<void>(rt);
  }

  /// Marks the oldest item the calling process took and has not marked
  /// done as processed. Does not block. Throws `value_error` ("task_done()
  /// called too many times") when the calling process holds no such item.
  void task_done() {
    core().task_done();
  }

  /// Blocks until every item put has been taken and marked done (or
  /// released by its consumer's end). Throws `terminated` when the calling
  /// process is asked to stop while it waits.
  void join() {
    static_cast<void>(core().join(ext::deadline::forever()));
  }

  /// As `join()`, but waits at most `timeout`; returns whether every item
  /// was done. A negative timeout throws `value_error`.
  [[nodiscard]] bool join(std::chrono::nanoseconds timeout) {
    return core().join(ext::deadline::after(timeout));
  }

  /// Moves out the items reported as failed (their consumer ended before
  /// `task_done()`, under `consumer_exit_policy::report`). Does not block.
  [[nodiscard]] std::vector<T> take_failed() {
    return core().take_failed();
  }

private:
  /// The state, which the constructor made joinable.
  detail::locked_queue_state<T, true>& core() const noexcept {
    return static_cast<detail::locked_queue_state<T, true>&>(*this->state_);
  }
};

} // namespace troupe
