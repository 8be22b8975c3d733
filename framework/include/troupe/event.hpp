#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>

#include "troupe/detail/channel.hpp"
#include "troupe/fwd.hpp"

namespace troupe {

namespace detail {

/// The shared state of an `event`.
class event_state : public channel_core {
public:
  void set();
  void clear();
  bool wait(const ext::deadline& w);

  bool is_set() const noexcept {
    return flag_.load(std::memory_order_acquire);
  }

  /// (mtx)
  bool readable_locked() const noexcept {
    return flag_.load(std::memory_order_relaxed);
  }

private:
  void wake_all();

  std::atomic<bool> flag_{false}; // written under mtx, read anywhere
  std::size_t waiters_ = 0;       // (mtx)
  std::condition_variable cv_;
};

} // namespace detail

/// A flag processes wait on: Python's `multiprocessing.Event`.
///
/// Thread-safety: every member may be called from any thread or process.
/// Ordering: what a process did before `set()` is visible to a process
/// whose `wait()` returned true or that saw `is_set()` true.
/// Lifetime: handles are cheap to copy and all copies refer to the same
/// flag; pass them to processes by value.
class event {
public:
  /// An event that is not set.
  explicit event(runtime& rt);

  /// Sets the flag and wakes every waiter. Does not block.
  void set();

  /// Clears the flag. Does not block.
  void clear();

  /// Whether the flag is set. Does not block.
  [[nodiscard]] bool is_set() const noexcept {
    return state_->is_set();
  }

  /// Blocks until the flag is set. Throws `terminated` when the calling
  /// process is asked to stop while it waits.
  void wait();

  /// Blocks until the flag is set or `timeout` passed; returns whether it
  /// is set (Python's `wait(timeout)`). A negative timeout throws
  /// `value_error`; `terminated` as `wait()`.
  [[nodiscard]] bool wait(std::chrono::nanoseconds timeout);

  /// Internal: the shared state (for `select`).
  [[nodiscard]] const std::shared_ptr<detail::event_state>&
  state() const noexcept {
    return state_;
  }

private:
  std::shared_ptr<detail::event_state> state_;
};

} // namespace troupe
