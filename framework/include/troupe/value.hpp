#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

#include "troupe/fwd.hpp"
#include "troupe/rlock.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

namespace detail {

template <class T, bool = std::is_trivially_copyable_v<T>>
struct lock_free_value_t : std::false_type {};

template <class T>
struct lock_free_value_t<T, true>
  : std::bool_constant<std::atomic<T>::is_always_lock_free> {};

template <class T>
inline constexpr bool lock_free_value = lock_free_value_t<T>::value;

} // namespace detail

/// A value shared by processes: Python's `multiprocessing.Value`.
///
/// When `std::atomic<T>` is lock-free (`int`, `double`, pointers, small
/// trivially copyable structs), every operation is one atomic instruction
/// or a compare-and-swap loop, and there is no lock: read-modify-write goes
/// through `update(fn)`, which is atomic by construction, so
/// `v.update([](int x) { return x + 1; })` is Python's
/// `with v.get_lock(): v.value += 1`. Otherwise the value is guarded by an
/// `rlock` (owned: a process that dies inside `update` leaves it
/// released), which `get_lock()` returns for compound operations.
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: sequentially consistent (lock-free) or lock-ordered (guarded).
/// Lifetime: handles are cheap to copy and share one value; pass them into
/// processes by value.
template <class T>
class value {
public:
  /// Whether this value needs no lock.
  static constexpr bool is_lock_free = detail::lock_free_value<T>;

  value(runtime& rt, T initial = T{}, sync_options opts = {})
    : core_(std::make_shared<core>(rt, std::move(initial), std::move(opts))) {}

  /// The current value (Python's `v.value`). Does not block when
  /// lock-free; otherwise takes the lock.
  [[nodiscard]] T get() const {
    if constexpr (is_lock_free) {
      return core_->val.load();
    } else {
      std::lock_guard guard{core_->lk};
      return core_->val;
    }
  }

  /// Replaces the value (Python's `v.value = x`).
  void set(T x) {
    if constexpr (is_lock_free) {
      core_->val.store(x);
    } else {
      std::lock_guard guard{core_->lk};
      core_->val = std::move(x);
    }
  }

  /// Atomically replaces the value `x` with `fn(x)` and returns the new
  /// value. `fn` may run more than once when lock-free (a compare-and-swap
  /// retry), so it must have no side effects; when guarded it runs once
  /// under the lock.
  template <class F>
  T update(F fn) {
    if constexpr (is_lock_free) {
      auto old = core_->val.load(std::memory_order_relaxed);
      T next = fn(old);
      while (!core_->val.compare_exchange_weak(old, next)) {
        next = fn(old);
      }
      return next;
    } else {
      std::lock_guard guard{core_->lk};
      core_->val = fn(std::as_const(core_->val));
      return core_->val;
    }
  }

  /// The lock guarding a non-lock-free value (Python's `get_lock()`);
  /// hold it to combine several `get`/`set` calls.
  [[nodiscard]] rlock get_lock() const requires(!is_lock_free) {
    return core_->lk;
  }

private:
  struct locked_core {
    locked_core(runtime& rt, T x, sync_options opts)
      : lk(rt, std::move(opts)), val(std::move(x)) {}
    rlock lk;
    T val;
  };

  struct atomic_core {
    atomic_core(runtime&, T x, const sync_options&) : val(x) {}
    std::atomic<T> val;
  };

  using core = std::conditional_t<is_lock_free, atomic_core, locked_core>;

  std::shared_ptr<core> core_;
};

} // namespace troupe
