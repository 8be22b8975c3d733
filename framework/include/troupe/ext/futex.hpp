#pragma once

/// Sleeping on a 32-bit word until another thread changes it and wakes the
/// word's sleepers (Linux futexes, process-private): the parking under
/// every lock-free wait that a condition variable would make slower (a
/// serial claim's waiters, the manager's inbox and its callers).

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "troupe/ext/deadline.hpp"

namespace troupe::ext {

namespace futex_internal {

/// One FUTEX_WAIT until `until` (see futex_wait); `shared`: the word may
/// lie in memory shared with other OS processes.
inline void futex_sleep(std::atomic<std::uint32_t>* word,
                        std::uint32_t expected, deadline until,
                        bool shared) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t)
                && std::atomic<std::uint32_t>::is_always_lock_free);
  if (until.is_poll())
    return;
  int private_flag = shared ? 0 : FUTEX_PRIVATE_FLAG;
  if (until.is_forever()) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word),
              FUTEX_WAIT | private_flag, expected, nullptr, nullptr, 0);
    return;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is
  // what steady_clock reads on Linux.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              until.when().time_since_epoch())
              .count();
  if (ns < 0)
    ns = 0;
  timespec ts{static_cast<time_t>(ns / 1'000'000'000),
              static_cast<long>(ns % 1'000'000'000)};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word),
            FUTEX_WAIT_BITSET | private_flag, expected, &ts, nullptr,
            FUTEX_BITSET_MATCH_ANY);
}

inline void futex_wake(std::atomic<std::uint32_t>* word, int count,
                       bool shared) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word),
            FUTEX_WAKE | (shared ? 0 : FUTEX_PRIVATE_FLAG), count, nullptr,
            nullptr, 0);
}

} // namespace futex_internal

/// Wakes every thread sleeping in `futex_wait` on `word`. Any thread.
inline void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept {
  futex_internal::futex_wake(word, INT_MAX, false);
}

/// Sleeps while `*word == expected`, until `until`. Returns at once when the
/// word differs (the check and the sleep are one step, so a change made
/// before a `futex_wake_all` is never slept through), and otherwise on a
/// wake-up, a signal, the deadline (at once for `deadline::poll()`), or
/// spuriously: callers re-check their condition in a loop.
///
/// Within one OS process only (`FUTEX_PRIVATE_FLAG`): a word in memory
/// shared between processes needs `futex_wait_shared`.
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       deadline until) noexcept {
  futex_internal::futex_sleep(word, expected, until, false);
}

/// As `futex_wait`, for a word in memory shared between OS processes (a
/// `MAP_SHARED` mapping); woken by `futex_wake_one_shared`.
inline void futex_wait_shared(std::atomic<std::uint32_t>* word,
                              std::uint32_t expected, deadline until) noexcept {
  futex_internal::futex_sleep(word, expected, until, true);
}

/// Wakes one sleeper of `futex_wait_shared` on `word`, in any OS process.
inline void futex_wake_one_shared(std::atomic<std::uint32_t>* word) noexcept {
  futex_internal::futex_wake(word, 1, true);
}

} // namespace troupe::ext
