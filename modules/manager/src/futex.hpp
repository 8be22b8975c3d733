#pragma once

// Sleeping on a 32-bit word and waking its sleepers (Linux futexes): how the
// state actor sleeps on its inbox and a caller on its call.

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "troupe/ext/deadline.hpp"

namespace troupe::managed::detail {

/// Wakes every thread sleeping on `addr`.
inline void futex_wake_all(std::atomic<std::uint32_t>* addr) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
            FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

/// Sleeps while `*addr == expected`, until `until`. Returns on a wake-up,
/// a change, a signal, or the deadline (at once for `poll`).
inline void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                       ext::deadline until) {
  if (until.is_poll())
    return;
  if (until.is_forever()) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
              FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
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
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
            FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr,
            FUTEX_BITSET_MATCH_ANY);
}

} // namespace troupe::managed::detail
