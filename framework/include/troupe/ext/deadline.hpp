#pragma once

/// When a blocking wait gives up, and the one way troupe sleeps until then.
///
/// Every wait in the framework and its modules — channels, locks and the
/// other sync types, joins, the pool's results, the manager's calls, the
/// supervisor's shutdowns — carries its limit as one `deadline` and sleeps
/// through `park`, as Abseil keeps one `KernelTimeout` for all its waits.
/// A `deadline` is a value (one steady-clock time point): cheap to copy,
/// safe to share between threads.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>

#include "troupe/error.hpp"

namespace troupe::ext {

/// How long a blocking call may wait: not at all (`poll`), without limit
/// (`forever`), or until a point of the steady clock (`at`, `after`).
class deadline {
public:
  using clock = std::chrono::steady_clock;

  /// Waits without limit (Python's `block=True, timeout=None`).
  constexpr deadline() noexcept = default;

  /// Waits without limit.
  [[nodiscard]] static constexpr deadline forever() noexcept {
    return deadline{};
  }

  /// Does not wait at all (Python's `block=False`).
  [[nodiscard]] static constexpr deadline poll() noexcept {
    return deadline{clock::time_point::min()};
  }

  /// Python's `block` flag: `forever()` when true, `poll()` when false.
  [[nodiscard]] static constexpr deadline blocking(bool block) noexcept {
    return block ? forever() : poll();
  }

  /// Gives up at `t` (already passed: the call tries once and gives up).
  [[nodiscard]] static constexpr deadline at(clock::time_point t) noexcept {
    return deadline{t};
  }

  /// Gives up `timeout` from now. A timeout beyond the clock's range (such
  /// as `hours::max()`) waits without limit. Throws `value_error` for a
  /// negative timeout, its message prefixed with `what` when given
  /// ("queue.get: timeout must not be negative").
  template <class Rep, class Period>
  [[nodiscard]] static deadline
  after(std::chrono::duration<Rep, Period> timeout,
        const char* what = nullptr) {
    if (timeout < timeout.zero())
      throw value_error(
        what == nullptr ? std::string{"timeout must not be negative"}
                        : std::string{what} + ": timeout must not be negative");
    auto now = clock::now();
    if (timeout
        >= std::chrono::duration<double>(clock::time_point::max() - now))
      return forever();
    return deadline{now + std::chrono::ceil<clock::duration>(timeout)};
  }

  /// Waits without limit.
  [[nodiscard]] constexpr bool is_forever() const noexcept {
    return when_ == clock::time_point::max();
  }

  /// Does not wait at all.
  [[nodiscard]] constexpr bool is_poll() const noexcept {
    return when_ == clock::time_point::min();
  }

  /// Gives up at a point in time (made by `at` or `after`): a call that
  /// runs out of it reports a timeout rather than "would block".
  [[nodiscard]] constexpr bool is_timed() const noexcept {
    return !is_forever() && !is_poll();
  }

  /// The point it gives up at: `time_point::max()` for `forever`,
  /// `time_point::min()` for `poll`.
  [[nodiscard]] constexpr clock::time_point when() const noexcept {
    return when_;
  }

  /// Whether it has come (always for `poll`, never for `forever`).
  [[nodiscard]] bool passed() const noexcept {
    return !is_forever() && (is_poll() || clock::now() >= when_);
  }

  /// Whether it has come at `now`.
  [[nodiscard]] constexpr bool passed(clock::time_point now) const noexcept {
    return !is_forever() && now >= when_;
  }

  /// The time left from `now` (zero once passed; `duration::max()` for
  /// `forever`).
  [[nodiscard]] constexpr clock::duration
  remaining(clock::time_point now) const noexcept {
    if (is_forever())
      return clock::duration::max();
    return now < when_ ? when_ - now : clock::duration::zero();
  }

  /// The earlier of the two.
  [[nodiscard]] friend constexpr deadline min(deadline a, deadline b) noexcept {
    return a.when_ < b.when_ ? a : b;
  }

  friend constexpr bool operator==(deadline, deadline) noexcept = default;

private:
  constexpr explicit deadline(clock::time_point t) noexcept : when_(t) {}

  clock::time_point when_ = clock::time_point::max();
};

/// Sleeps once on `cv`, whose mutex `lk` owns, until a notify (or a
/// spurious wake-up) or `d`; returns false when it woke because `d` came.
/// The one place troupe's waits sleep: callers loop on their condition,
/// check for stop requests and keep their waiter counts around it. Does not
/// block for `poll` or a deadline that has passed.
inline bool park(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                 deadline d) {
  if (d.is_forever()) {
    cv.wait(lk);
    return true;
  }
  if (d.is_poll())
    return false;
  return cv.wait_until(lk, d.when()) == std::cv_status::no_timeout;
}

} // namespace troupe::ext
