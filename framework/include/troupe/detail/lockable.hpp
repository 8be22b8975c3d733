#pragma once

#include <chrono>

namespace troupe::detail {

/// The standard's Lockable and TimedLockable members (`lock`, `unlock`,
/// `try_lock`, `try_lock_for`, `try_lock_until`) in terms of Python's
/// `acquire()`, `acquire(false)`, `acquire(timeout)` and `release()`, for
/// every troupe type usable with `std::lock_guard` and `std::unique_lock`.
template <class Derived>
class lockable {
public:
  void lock() {
    self().acquire();
  }

  void unlock() {
    self().release();
  }

  [[nodiscard]] bool try_lock() {
    return self().acquire(false);
  }

  template <class Rep, class Period>
  [[nodiscard]] bool try_lock_for(std::chrono::duration<Rep, Period> d) {
    return self().acquire(
      std::chrono::duration_cast<std::chrono::nanoseconds>(d));
  }

  template <class Clock, class Duration>
  [[nodiscard]] bool
  try_lock_until(std::chrono::time_point<Clock, Duration> tp) {
    auto left = tp - Clock::now();
    if (left < decltype(left)::zero())
      left = decltype(left)::zero();
    return self().acquire(
      std::chrono::duration_cast<std::chrono::nanoseconds>(left));
  }

private:
  Derived& self() {
    return static_cast<Derived&>(*this);
  }
};

} // namespace troupe::detail
