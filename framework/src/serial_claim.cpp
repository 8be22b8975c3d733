// The serial claim's waits (see troupe/ext/serial_claim.hpp).

#include "troupe/ext/serial_claim.hpp"

#include <thread>

#include "troupe/ext/futex.hpp"
#include "troupe/ext/spin.hpp"

namespace troupe::ext {

void serial_claim::lock_slow() noexcept {
  // A run usually lasts microseconds (a command, a pass of the pump): poll
  // first, then give the core away, then sleep until the holder lets go.
  for (int i = 0;; ++i) {
    auto w = word_.load(std::memory_order_seq_cst);
    if ((w & count_mask) == 0) {
      // Keeps `parked`: other sleepers may still wait, and our release
      // then wakes them.
      if (word_.compare_exchange_weak(w, w + 1, std::memory_order_seq_cst))
        return;
      continue;
    }
    if (i < 64) {
      cpu_relax();
      continue;
    }
    if (i < 80) {
      std::this_thread::yield();
      continue;
    }
    if ((w & parked) == 0) {
      if (!word_.compare_exchange_weak(w, w | parked,
                                       std::memory_order_seq_cst))
        continue;
      w |= parked;
    }
    // Sleeps unless the word changed since: a release after the load above
    // changed it, so its wake-up is never slept through.
    futex_wait(&word_, w, deadline::forever());
  }
}

void serial_claim::wake_parked() noexcept {
  // Cleared before the wake-up: a sleeper that finds the claim held again
  // sets it anew before it sleeps.
  word_.fetch_and(count_mask, std::memory_order_seq_cst);
  futex_wake_all(&word_);
}

} // namespace troupe::ext
