#pragma once

/// Who runs a serialized engine now, lock-free: the claim under every
/// "one at a time, and whoever finds it idle runs it" engine in troupe (a
/// serial executor's commands, the manager's calls with flat combining, a
/// queue's pump to an attached actor).

#include <atomic>
#include <cstdint>

namespace troupe::ext {

/// A claim that one thread at a time holds, taken in one of two ways:
///
/// - By request (`request`): a thread that queued work for the engine asks
///   for a run. The request that finds the claim free takes it; the others
///   leave at once, their requests counted. The holder runs the engine,
///   then `release`s the requests it has seen; while others came meanwhile
///   it keeps the claim and runs again. So a request is never left behind
///   (a combining lock that nobody waits for), and the cost is one atomic
///   add on each side.
/// - By lock (`lock`, `try_lock`: the standard Lockable names, so
///   `std::unique_lock<serial_claim>` works): a drainer that must run, or a
///   caller that runs only when it finds the claim free. `lock` polls
///   briefly, then sleeps on a futex until the holder releases. `unlock`
///   frees the claim and drops the requests counted meanwhile: for holders
///   that hand the queued work on themselves (wake a drainer that looks at
///   the queue), or claims no one requests.
///
/// Ordering: every change of the claim is a sequentially consistent
/// read-modify-write, so "queue work, then request" on one side and
/// "release, then look at the queue" on the other cannot both miss each
/// other, when the queue's own push and look are sequentially consistent
/// too (as `ext::mpsc_stack`'s are).
///
/// Limits: at most 2^31 - 1 requests may be outstanding while one run
/// lasts. Thread-safety: every member from any thread; `release` and
/// `unlock` by the holder only. Not recursive.
class serial_claim {
public:
  serial_claim() = default;
  serial_claim(const serial_claim&) = delete;
  serial_claim& operator=(const serial_claim&) = delete;

  /// Counts a request; true when the caller took the claim (nobody held
  /// it): then it runs the engine and calls `release(1)`.
  [[nodiscard]] bool request() noexcept {
    return (word_.fetch_add(1, std::memory_order_seq_cst) & count_mask) == 0;
  }

  /// Takes the claim when nobody holds it (counting as one request seen).
  [[nodiscard]] bool try_lock() noexcept {
    auto w = word_.load(std::memory_order_seq_cst);
    return (w & count_mask) == 0
           && word_.compare_exchange_strong(w, w + 1,
                                            std::memory_order_seq_cst);
  }

  /// Takes the claim, waiting for its holder: a short poll, then a futex
  /// sleep. Counts as one request seen.
  void lock() noexcept {
    if (!try_lock())
      lock_slow();
  }

  /// The holder gives back the `seen` requests it served. Returns false
  /// when that freed the claim; true when other requests came meanwhile:
  /// then the caller still holds the claim, must run the engine again, and
  /// `seen` is set to the requests it now has in hand.
  [[nodiscard]] bool release(std::uint32_t& seen) noexcept {
    auto before = word_.fetch_sub(seen, std::memory_order_seq_cst);
    auto count = before & count_mask;
    if (count == seen) {
      if ((before & parked) != 0)
        wake_parked();
      return false;
    }
    seen = count - seen;
    return true;
  }

  /// Frees the claim, dropping the requests counted meanwhile (see the
  /// class comment). Holder only.
  void unlock() noexcept {
    if ((word_.exchange(0, std::memory_order_seq_cst) & parked) != 0)
      wake_parked();
  }

  /// Whether someone holds it (a snapshot).
  [[nodiscard]] bool held() const noexcept {
    return (word_.load(std::memory_order_seq_cst) & count_mask) != 0;
  }

private:
  static constexpr std::uint32_t parked = 0x8000'0000U; // a `lock` sleeps
  static constexpr std::uint32_t count_mask = ~parked;

  void lock_slow() noexcept;
  void wake_parked() noexcept;

  // The requests of the current run (0: free) and the `parked` bit.
  std::atomic<std::uint32_t> word_{0};
};

} // namespace troupe::ext
