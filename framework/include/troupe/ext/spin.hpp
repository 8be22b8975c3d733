#pragma once

/// Spinning before parking, for modules whose waits usually end within
/// microseconds (a reply from a peer on another core, a shared-memory
/// ring's next item). Header-only; nothing here blocks.

#include <algorithm>
#include <chrono>
#include <thread>

namespace troupe::ext {

/// Tells the CPU that the caller is spinning (x86 `pause`, ARM `yield`), so
/// the sibling hyper-thread and the memory system are not starved.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#else
  std::this_thread::yield();
#endif
}

/// How long a thread polls before it parks (sleeps on a futex), adapted to
/// how long its waits actually last.
///
/// Parking costs a futex sleep here and a futex wake-up on the waker's side,
/// several microseconds each (tens on a busy 2-core VM); in request/reply
/// and producer/consumer hand-offs the awaited change usually comes from a
/// peer on another core within a microsecond or two. The budget follows the
/// waits, not the spins' success: a wait that a longer spin would have
/// covered (under 100 µs) doubles it, a longer one (rare events, an idle
/// peer) halves it, so mostly-idle threads stop burning CPU. A spin that
/// misses by a little must not shrink the budget, or two threads in
/// ping-pong settle into both sleeping every round.
///
/// The pattern, for a waiter that parks on something of its own (a futex,
/// a condition variable):
///
///     thread_local troupe::ext::wait_spin spin;
///     if (!spin.spin([&] { return ready(); })) {
///       auto t0 = std::chrono::steady_clock::now();
///       park_until_ready();  // the module's own sleep
///       spin.parked_for(std::chrono::steady_clock::now() - t0);
///     }
///
/// Spinning does not look at stop requests: a waiter that parks registers
/// an `ext::stop_callback` that wakes it (see troupe/ext/stop.hpp).
///
/// Thread-compatible: one instance per waiting thread.
template <int MinSpins, int MaxSpins>
class adaptive_spin {
public:
  static_assert(0 < MinSpins && MinSpins <= MaxSpins);

  using clock = std::chrono::steady_clock;

  /// Polls `ready` up to the budget; returns whether it became true.
  template <class Ready>
  bool spin(Ready&& ready) noexcept(noexcept(ready())) {
    for (int i = 0; i < budget_; ++i) {
      if (ready())
        return true;
      cpu_relax();
    }
    return ready();
  }

  /// Adapts the budget after the caller parked for `waited`.
  void parked_for(clock::duration waited) noexcept {
    budget_ = waited < std::chrono::microseconds{100}
                ? std::min(MaxSpins, budget_ * 2)
                : std::max(MinSpins, budget_ / 2);
  }

  [[nodiscard]] int budget() const noexcept {
    return budget_;
  }

private:
  int budget_ = MaxSpins;
};

/// The budget of blocking mailbox and channel waits: 16 to 1024 `pause`s
/// (about 1 to 60 µs on the machines measured in docs/benchmarks.md).
using wait_spin = adaptive_spin<16, 1024>;

} // namespace troupe::ext
