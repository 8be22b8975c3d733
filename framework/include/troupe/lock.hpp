#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "troupe/detail/lockable.hpp"
#include "troupe/fwd.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

namespace detail {
class lock_core;
struct lock_access;
} // namespace detail

/// An owned, non-recursive lock: Python's `multiprocessing.Lock`, except
/// that it cannot be left held by a process that ended.
///
/// The holder is the process that acquired it (the main process on the
/// runtime's thread and on threads troupe does not run). When the holder
/// ends holding it — return, exception, `terminate()`, `kill()` — the lock
/// is released and the next process to acquire it sees
/// `previous_owner_died()` (a robust mutex's `EOWNERDEAD`), so it can
/// repair what the dead holder left half-done.
///
/// Usable with `std::lock_guard`, `std::unique_lock` and `std::scoped_lock`
/// (Lockable and TimedLockable). The class is `owned_lock` because a C++
/// class cannot have a member function named like itself (`lock()`);
/// write `troupe::lock`.
///
/// A blocking acquire that would close a wait-for cycle among troupe locks
/// (including acquiring again a lock the caller holds) throws
/// `deadlock_error` naming the processes and locks instead of hanging.
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: a release synchronizes with the next acquire (what the holder
/// wrote is visible to the next holder). Not fair: a process that releases
/// and acquires again at once may win over a waiter.
/// Lifetime: handles are cheap to copy and share one lock; pass them into
/// processes by value. The lock lives while any handle does.
class owned_lock : public detail::lockable<owned_lock> {
public:
  /// A lock of runtime `rt`; see `sync_options`.
  explicit owned_lock(runtime& rt, sync_options opts = {});

  /// Python's `acquire()`: blocks until the lock is free, takes it, returns
  /// true. Throws `terminated` when the calling process is asked to stop,
  /// `deadlock_error` when waiting would never end.
  bool acquire();

  /// Python's `acquire(block)`: with `block` false, takes the lock only if
  /// it is free and never blocks. Returns whether it took it.
  bool acquire(bool block);

  /// Python's `acquire(timeout=t)`: blocks at most `timeout`; returns
  /// whether it took the lock. A negative timeout throws `value_error`;
  /// throws `terminated` as `acquire()`.
  bool acquire(std::chrono::nanoseconds timeout);

  /// Releases the lock. Does not block. Throws `value_error` when it is
  /// not held, or held by another process. In a process that was asked to
  /// stop (or declared killed), releasing a lock it no longer holds is a
  /// no-op, so that unwinding never fails.
  void release();

  /// Whether some process holds the lock (for a lock handed to OS
  /// processes: in any of them). Does not block.
  [[nodiscard]] bool locked() const;

  /// Whether the caller holds the lock and took it over from a holder that
  /// ended while holding it. Stays true until the caller releases it.
  [[nodiscard]] bool previous_owner_died() const;

  /// The process holding the lock, if any.
  [[nodiscard]] std::optional<process> owner() const;

  [[nodiscard]] std::string name() const;

  /// Internal access for `condition`.
  [[nodiscard]] const std::shared_ptr<detail::lock_core>& core() const {
    return core_;
  }

  friend bool operator==(const owned_lock& x, const owned_lock& y) noexcept {
    return x.core_ == y.core_;
  }

private:
  friend struct detail::lock_access;
  explicit owned_lock(std::shared_ptr<detail::lock_core> core) noexcept
    : core_(std::move(core)) {}

  std::shared_ptr<detail::lock_core> core_;
};

/// Python's `Lock`; see `owned_lock`.
using lock = owned_lock;

} // namespace troupe
