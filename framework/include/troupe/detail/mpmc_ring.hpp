#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace troupe::detail {

/// Distance between atomics that different cores write. 64-byte lines,
/// doubled because x86's adjacent-line prefetcher pulls lines in pairs.
inline constexpr std::size_t ring_line = 128;

/// What `mpmc_ring::try_push` did.
enum class ring_push : unsigned char { ok, full, closed };

/// A bounded multi-producer multi-consumer FIFO without locks: Dmitry
/// Vyukov's bounded MPMC queue (1024cores.net), with positions stamped by
/// lap as in crossbeam's `ArrayQueue`, so that any capacity works without a
/// division and `capacity()` is exact.
///
/// A position is `lap + index` (`index < capacity`, `lap` a multiple of
/// `one_lap_`, the power of two above the capacity). Every cell carries a
/// stamp saying whose turn it is: `pos` when a push at `pos` may fill it,
/// `pos + 1` when a pop at `pos` may empty it. A push claims a cell with a
/// CAS on `tail_`, builds the item in place and then publishes it; a pop
/// claims with a CAS on `head_`, moves the item out and hands the cell to
/// the next lap. `close()` sets the top bit of `tail_`: a push is accepted
/// exactly when its CAS claims a cell before that, so the pushes a close
/// must wait for are those below the closed tail, and the ring is drained
/// once `head_` reaches it.
///
/// Thread-safety: every member but the destructor may be called from any
/// thread at once.
/// Ordering: pushes are totally ordered by their CAS on `tail_` (so FIFO
/// per producer); pops return items in that order, each exactly once. A
/// push that has claimed a cell and not yet published it makes the ring
/// look empty from that cell on; a pop that has claimed a cell and not yet
/// emptied it makes it look full. Neither waits: the call returns false
/// and the caller decides. Stamps are published with seq_cst stores and
/// probed (`can_push`, `can_pop`) with seq_cst loads, so a caller can build
/// an eventcount on top (publish, then look for sleepers; register, then
/// probe) without fences.
/// Lifetime: destroying the ring destroys the items still in it; no call
/// may be running then.
///
/// `T`'s move constructor must not throw (a claimed cell must be filled);
/// a push constructing from other arguments requires the same of that
/// constructor.
template <class T>
class mpmc_ring {
public:
  /// A ring of `capacity` cells; 0 makes an unusable placeholder that
  /// allocates nothing.
  explicit mpmc_ring(std::size_t capacity)
    : capacity_(capacity), one_lap_(lap_for(capacity)) {
    if (capacity_ == 0)
      return;
    cells_ = std::make_unique<cell[]>(capacity_);
    for (std::size_t i = 0; i < capacity_; ++i)
      cells_[i].stamp.store(i, std::memory_order_relaxed);
  }

  mpmc_ring(const mpmc_ring&) = delete;
  mpmc_ring& operator=(const mpmc_ring&) = delete;

  ~mpmc_ring() {
    if (!cells_)
      return;
    auto pos = head_.load(std::memory_order_acquire);
    auto end = tail_.load(std::memory_order_acquire) & ~closed_flag;
    for (; pos != end; pos = next(pos))
      at(pos).item()->~T();
  }

  /// Builds an item from `args` at the back. Leaves `args` untouched when
  /// the ring is closed, or full (or the pop of the oldest item is still
  /// running).
  template <class... Args>
  ring_push try_push(Args&&... args) noexcept {
    static_assert(std::is_nothrow_constructible_v<T, Args&&...>);
    auto pos = tail_.load(std::memory_order_relaxed);
    for (;;) {
      // The CAS below compares the flag too, so no claim follows a close.
      if ((pos & closed_flag) != 0)
        return ring_push::closed;
      auto& c = at(pos);
      auto dif = diff(c.stamp.load(std::memory_order_acquire), pos);
      if (dif == 0) {
        if (tail_.compare_exchange_weak(pos, next(pos),
                                        std::memory_order_relaxed)) {
          ::new (static_cast<void*>(c.storage)) T(std::forward<Args>(args)...);
          c.stamp.store(pos + 1, std::memory_order_seq_cst);
          return ring_push::ok;
        }
        // The failed CAS reloaded `pos`.
      } else if (dif < 0) {
        // The item of the previous lap is still in this cell.
        return ring_push::full;
      } else {
        // Another producer took `pos` since we read `tail_`.
        pos = tail_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Moves the oldest item into `out`; false when the ring is empty or
  /// the push of the oldest item is still running.
  bool try_pop(std::optional<T>& out) noexcept {
    auto pos = head_.load(std::memory_order_relaxed);
    for (;;) {
      auto& c = at(pos);
      auto dif = diff(c.stamp.load(std::memory_order_acquire), pos + 1);
      if (dif == 0) {
        if (head_.compare_exchange_weak(pos, next(pos),
                                        std::memory_order_relaxed)) {
          auto* p = c.item();
          out.emplace(std::move(*p));
          p->~T();
          c.stamp.store(pos + one_lap_, std::memory_order_seq_cst);
          return true;
        }
      } else if (dif < 0) {
        return false;
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Whether a push would not find the ring full now (it is closed, or a
  /// cell is free). When false, the pop that frees the cell publishes
  /// after this probe (seq_cst order).
  [[nodiscard]] bool can_push() const noexcept {
    auto pos = tail_.load(std::memory_order_seq_cst);
    for (;;) {
      if ((pos & closed_flag) != 0)
        return true;
      auto dif = diff(at(pos).stamp.load(std::memory_order_seq_cst), pos);
      if (dif <= 0)
        return dif == 0;
      pos = tail_.load(std::memory_order_seq_cst);
    }
  }

  /// Whether a pop would find a published item now. When false, the push
  /// that fills the cell publishes after this probe (seq_cst order).
  [[nodiscard]] bool can_pop() const noexcept {
    auto pos = head_.load(std::memory_order_seq_cst);
    for (;;) {
      auto dif = diff(at(pos).stamp.load(std::memory_order_seq_cst), pos + 1);
      if (dif <= 0)
        return dif == 0;
      pos = head_.load(std::memory_order_seq_cst);
    }
  }

  /// Refuses every later push; returns whether the ring was closed
  /// already. Pushes that claimed a cell before still complete.
  bool close() noexcept {
    return (tail_.fetch_or(closed_flag, std::memory_order_seq_cst)
            & closed_flag)
           != 0;
  }

  [[nodiscard]] bool closed() const noexcept {
    return (tail_.load(std::memory_order_seq_cst) & closed_flag) != 0;
  }

  /// Whether the ring is closed and every push accepted before was popped
  /// (or is being popped): no pop will ever succeed again.
  [[nodiscard]] bool drained() const noexcept {
    auto tail = tail_.load(std::memory_order_seq_cst);
    return (tail & closed_flag) != 0
           && (tail & ~closed_flag) == head_.load(std::memory_order_seq_cst);
  }

  /// Items claimed by pushes and not yet by pops: exact when no call runs,
  /// a snapshot otherwise.
  [[nodiscard]] std::size_t size() const noexcept {
    for (;;) {
      auto tail = tail_.load(std::memory_order_seq_cst);
      auto head = head_.load(std::memory_order_seq_cst);
      // A `head` read between two equal reads of `tail` is not past it.
      if (tail_.load(std::memory_order_seq_cst) != tail)
        continue;
      tail &= ~closed_flag;
      auto hix = head & (one_lap_ - 1);
      auto tix = tail & (one_lap_ - 1);
      if (hix < tix)
        return static_cast<std::size_t>(tix - hix);
      if (hix > tix)
        return capacity_ - static_cast<std::size_t>(hix - tix);
      return tail == head ? 0 : capacity_;
    }
  }

  [[nodiscard]] std::size_t capacity() const noexcept {
    return capacity_;
  }

private:
  struct cell {
    std::atomic<std::uint64_t> stamp;
    alignas(T) unsigned char storage[sizeof(T)];

    T* item() noexcept {
      return std::launder(reinterpret_cast<T*>(storage));
    }
  };

  /// In `tail_`: set by `close()`. Positions never reach it (2^63 pushes).
  static constexpr std::uint64_t closed_flag = std::uint64_t{1} << 63;

  static std::uint64_t lap_for(std::size_t capacity) noexcept {
    std::uint64_t lap = 1;
    while (lap <= capacity)
      lap <<= 1;
    return lap;
  }

  /// `stamp - pos` as a signed distance: positions only grow (modulo
  /// 2^64), so the sign says whether the cell is behind, at or past `pos`.
  static std::int64_t diff(std::uint64_t stamp, std::uint64_t pos) noexcept {
    return static_cast<std::int64_t>(stamp - pos);
  }

  cell& at(std::uint64_t pos) const noexcept {
    return cells_[pos & (one_lap_ - 1)];
  }

  std::uint64_t next(std::uint64_t pos) const noexcept {
    auto index = pos & (one_lap_ - 1);
    return index + 1 < capacity_ ? pos + 1 : (pos - index) + one_lap_;
  }

  // Read-only after construction: shared by every core without traffic.
  const std::size_t capacity_;
  const std::uint64_t one_lap_;
  std::unique_ptr<cell[]> cells_;
  // Consumers write `head_`, producers `tail_`: one line each.
  alignas(ring_line) std::atomic<std::uint64_t> head_{0};
  // The ring's size is a multiple of its alignment, so whatever follows it
  // starts on a line of its own.
  alignas(ring_line) std::atomic<std::uint64_t> tail_{0};
};

} // namespace troupe::detail
