#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

#include <pthread.h>

#include "troupe/detail/process_hooks.hpp"
#include "troupe/detail/spin.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/deadline.hpp"

namespace troupe::detail {

/// What a channel operation did.
enum class status : unsigned char {
  ok,          // done
  dropped,     // accepted by a drop policy without being stored
  would_block, // not possible now; the caller decides whether to wait
  closed,      // the channel (or the peer) is closed
};

/// Wakes a `select` call waiting on several channels.
struct select_waiter {
  std::mutex mtx;
  std::condition_variable cv;
  bool ready = false;

  void wake() {
    std::lock_guard guard{mtx};
    ready = true;
    cv.notify_one();
  }
};

/// What every channel shares: its mutex and the `select` calls watching
/// it. Lock order: a channel's `mtx`, then a waiter's `mtx`; `select`
/// never holds a waiter's mutex while it locks a channel.
class channel_core {
public:
  // glibc's adaptive mutex spins a little before it sleeps: a channel's
  // critical sections are a few dozen instructions, and a producer and a
  // consumer on two cores otherwise meet the lock held often enough to pay
  // a futex sleep and wake-up each time (pipe ping-pong: 268 k -> 513 k
  // round trips/s). `mtx` is not yet used when it is re-initialized here.
  channel_core() {
#if defined(__GLIBC__)
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(mtx.native_handle(), &attr);
    pthread_mutexattr_destroy(&attr);
#endif
  }
  channel_core(const channel_core&) = delete;
  channel_core& operator=(const channel_core&) = delete;

  mutable std::mutex mtx;

  /// Marks a change a waiter may be spinning for (an item arrived, a slot
  /// freed, the channel closed). (mtx)
  void changed() noexcept {
    epoch_.store(epoch_.load(std::memory_order_relaxed) + 1,
                 std::memory_order_release);
  }

  /// Advances with every `changed()`; read without the lock.
  [[nodiscard]] std::uint32_t epoch() const noexcept {
    return epoch_.load(std::memory_order_acquire);
  }

  /// Wakes the `select` calls watching this channel. (mtx)
  void wake_watchers() {
    for (auto* w : watchers_)
      w->wake();
  }

  void watch(select_waiter* w) {
    std::lock_guard guard{mtx};
    watchers_.push_back(w);
  }

  void unwatch(select_waiter* w) {
    std::lock_guard guard{mtx};
    std::erase(watchers_, w);
  }

protected:
  ~channel_core() = default;

private:
  std::atomic<std::uint32_t> epoch_{0};  // written under mtx
  std::vector<select_waiter*> watchers_; // (mtx)
};

/// The calling thread's spin budget for channel waits.
inline thread_local wait_spin channel_spin;

/// Waits on `cv` (whose mutex `lk` holds) once, honouring `w`; returns
/// false when the deadline passed. `waiters` counts the threads waiting so
/// that wakers skip the notify when nobody waits.
///
/// With `ch` given, the first wait of an operation (`spun` still false)
/// first polls `ch`'s epoch for the thread's spin budget with the lock
/// released, and returns true at once when the channel changed: the caller
/// re-checks its condition, and neither side pays for a futex sleep and
/// wake-up. Later waits of the same operation park at once, so a waiter
/// whose condition other changes do not meet cannot spin for long.
inline bool wait_once(std::unique_lock<std::mutex>& lk,
                      std::condition_variable& cv, std::size_t& waiters,
                      const ext::deadline& w, channel_core* ch = nullptr,
                      bool* spun = nullptr) {
  if (stop_requested())
    throw_terminated();
  if (ch != nullptr && !*spun) {
    *spun = true;
    if (!w.passed()) {
      auto seen = ch->epoch();
      lk.unlock();
      channel_spin.spin([&] { return ch->epoch() != seen; });
      lk.lock();
      // A stop requested while the lock was free found nobody to wake.
      if (stop_requested())
        throw_terminated();
      if (ch->epoch() != seen)
        return true;
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  ++waiters;
  bool in_time = ext::park(lk, cv, w);
  --waiters;
  if (ch != nullptr)
    channel_spin.parked_for(std::chrono::steady_clock::now() - t0);
  if (stop_requested())
    throw_terminated();
  return in_time;
}

} // namespace troupe::detail
