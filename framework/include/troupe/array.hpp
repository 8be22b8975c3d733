#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/rlock.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {

/// A fixed-size array shared by processes: Python's
/// `multiprocessing.Array`. Every operation takes its `rlock` (owned: a
/// process that dies inside `update` leaves it released); `get_lock()`
/// returns it for compound operations, and `update(fn)` hands `fn` the
/// whole array under the lock, so read-modify-write races are impossible
/// by construction.
///
/// Thread-safety: every member may be called from any process or thread.
/// Ordering: lock-ordered. Lifetime: handles are cheap to copy and share
/// one array; pass them into processes by value.
template <class T>
class array {
public:
  /// An array of `n` value-initialized elements.
  array(runtime& rt, std::size_t n, sync_options opts = {})
    : core_(std::make_shared<core>(rt, std::vector<T>(n), std::move(opts))) {}

  /// An array holding `xs` (Python's `Array('i', range(10))`).
  array(runtime& rt, std::vector<T> xs, sync_options opts = {})
    : core_(std::make_shared<core>(rt, std::move(xs), std::move(opts))) {}

  array(runtime& rt, std::initializer_list<T> xs, sync_options opts = {})
    : array(rt, std::vector<T>(xs), std::move(opts)) {}

  [[nodiscard]] std::size_t size() const noexcept {
    return core_->size;
  }

  /// Element `i` (Python's `a[i]`); `value_error` when out of range.
  [[nodiscard]] T get(std::size_t i) const {
    std::lock_guard guard{core_->lk};
    return core_->data[check(i)];
  }

  /// Replaces element `i` (Python's `a[i] = x`).
  void set(std::size_t i, T x) {
    std::lock_guard guard{core_->lk};
    core_->data[check(i)] = std::move(x);
  }

  /// A copy of every element (Python's `a[:]`).
  [[nodiscard]] std::vector<T> to_vector() const {
    std::lock_guard guard{core_->lk};
    return core_->data;
  }

  /// Runs `fn(std::span<T>)` on the whole array under the lock and returns
  /// what it returns.
  template <class F>
  decltype(auto) update(F fn) {
    std::lock_guard guard{core_->lk};
    return fn(std::span<T>{core_->data});
  }

  /// Atomically replaces element `i`, `x`, with `fn(x)`; returns the new
  /// element.
  template <class F>
  T update(std::size_t i, F fn) {
    std::lock_guard guard{core_->lk};
    auto& x = core_->data[check(i)];
    x = fn(std::as_const(x));
    return x;
  }

  /// The lock (Python's `get_lock()`).
  [[nodiscard]] rlock get_lock() const {
    return core_->lk;
  }

private:
  std::size_t check(std::size_t i) const {
    if (i >= core_->size)
      throw value_error("array index " + std::to_string(i)
                        + " out of range (size " + std::to_string(core_->size)
                        + ")");
    return i;
  }

  struct core {
    core(runtime& rt, std::vector<T> xs, sync_options opts)
      : lk(rt, std::move(opts)), size(xs.size()), data(std::move(xs)) {}
    rlock lk;
    const std::size_t size;
    std::vector<T> data;
  };

  std::shared_ptr<core> core_;
};

} // namespace troupe
