#pragma once

#include <chrono>
#include <cstdint>
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

/// An owned, recursive lock: Python's `multiprocessing.RLock`. The holding
/// process may acquire it again; it is free once released as many times.
/// Only the holder may release it.
///
/// Ownership, diagnostics and deadlock detection as `troupe::lock`: when
/// the holder ends holding it (at any depth), it is released and the next
/// holder sees `previous_owner_died()`.
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: a release that frees the lock synchronizes with the next
/// acquire. Lifetime: handles are cheap to copy and share one lock.
class rlock : public detail::lockable<rlock> {
public:
  explicit rlock(runtime& rt, sync_options opts = {});

  /// Blocks until the caller holds the lock (at once if it already does,
  /// one level deeper); returns true. Throws `terminated` when the calling
  /// process is asked to stop, `deadlock_error` when waiting would never
  /// end, `value_error` past 32767 levels.
  bool acquire();

  /// With `block` false, never blocks; returns whether it took the lock.
  bool acquire(bool block);

  /// Blocks at most `timeout` (negative: `value_error`); returns whether it
  /// took the lock.
  bool acquire(std::chrono::nanoseconds timeout);

  /// Releases one level. Does not block. Throws `value_error` when the
  /// caller does not hold it (Python raises `AssertionError`); a no-op in
  /// a process that was asked to stop and no longer holds it.
  void release();

  /// Whether some process holds the lock (for an rlock handed to OS
  /// processes: in any of them).
  [[nodiscard]] bool locked() const;

  /// Whether the calling process holds the lock.
  [[nodiscard]] bool is_owned() const;

  /// How many times the calling process holds it (0 if not at all).
  [[nodiscard]] std::uint32_t depth() const;

  /// See `lock::previous_owner_died()`.
  [[nodiscard]] bool previous_owner_died() const;

  [[nodiscard]] std::optional<process> owner() const;

  [[nodiscard]] std::string name() const;

  [[nodiscard]] const std::shared_ptr<detail::lock_core>& core() const {
    return core_;
  }

  friend bool operator==(const rlock& x, const rlock& y) noexcept {
    return x.core_ == y.core_;
  }

private:
  friend struct detail::lock_access;
  explicit rlock(std::shared_ptr<detail::lock_core> core) noexcept
    : core_(std::move(core)) {}

  std::shared_ptr<detail::lock_core> core_;
};

} // namespace troupe
