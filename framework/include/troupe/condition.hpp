#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "troupe/detail/lockable.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/lock.hpp"
#include "troupe/rlock.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

namespace detail {
class lock_core;
class condition_core;
} // namespace detail

/// A condition variable over a troupe lock: Python's
/// `multiprocessing.Condition([lock])`. Without a lock it makes its own
/// `rlock`, as Python does.
///
/// `wait` releases the lock (every level of an rlock), sleeps until
/// notified, and takes the lock again before it returns. The lock keeps its
/// ownership rules: a process that ends inside `wait` or while holding the
/// lock leaves neither the lock held nor a waiter slot taken. When the
/// waiting process is asked to stop, `wait` throws `terminated` *without*
/// taking the lock again; releasing it during unwinding is then a no-op.
///
/// Thread-safety: every member may be called from any process or thread;
/// `wait`, `wait_for`, `notify` and `notify_all` require the caller to hold
/// the lock (else `state_error`), as in Python. Ordering: `notify(n)` wakes
/// the `n` longest-waiting processes. Lifetime: handles are cheap to copy
/// and share one condition and its lock.
class condition : public detail::lockable<condition> {
public:
  /// A condition with its own `rlock`.
  explicit condition(runtime& rt, sync_options opts = {});

  /// A condition over `l` (Python's `Condition(lock)`).
  condition(runtime& rt, const troupe::lock& l, sync_options opts = {});
  condition(runtime& rt, const rlock& l, sync_options opts = {});

  // -- the lock ---------------------------------------------------------------

  /// Acquires the underlying lock; see `lock::acquire`.
  bool acquire();
  bool acquire(bool block);
  bool acquire(std::chrono::nanoseconds timeout);

  /// Releases the underlying lock; see `lock::release`.
  void release();

  // -- waiting ----------------------------------------------------------------

  /// Releases the lock, blocks until notified, takes the lock again.
  /// Throws `state_error` when the caller does not hold the lock,
  /// `terminated` when it is asked to stop (the lock is then not held).
  void wait();

  /// As `wait()`, but gives up after `timeout`; returns false on timeout
  /// (the lock is held again either way). Negative: `value_error`.
  bool wait(std::chrono::nanoseconds timeout);

  /// Python's `wait_for(predicate)`: waits until `pred()` is true (checked
  /// with the lock held, first before waiting). Returns true.
  template <class Predicate>
  bool wait_for(Predicate pred) {
    while (!pred())
      wait();
    return true;
  }

  /// Python's `wait_for(predicate, timeout)`: waits until `pred()` or the
  /// timeout passed; returns the last value of `pred()`.
  template <class Predicate>
  bool wait_for(Predicate pred, std::chrono::nanoseconds timeout) {
    if (timeout.count() < 0)
      throw value_error("condition::wait_for: timeout must not be negative");
    auto until = std::chrono::steady_clock::now() + timeout;
    auto result = pred();
    while (!result) {
      auto left = until - std::chrono::steady_clock::now();
      if (left <= left.zero())
        break;
      wait(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
      result = pred();
    }
    return result;
  }

  /// Wakes up to `n` waiting processes. Does not block.
  void notify(std::size_t n = 1);

  /// Wakes every waiting process. Does not block.
  void notify_all();

  /// Whether the calling process held the lock last taken over from a
  /// holder that ended holding it; see `lock::previous_owner_died()`.
  [[nodiscard]] bool previous_owner_died() const;

private:
  std::shared_ptr<detail::condition_core> core_;
};

} // namespace troupe
