#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/mpmc_ring.hpp"
#include "troupe/detail/queue_state.hpp"
#include "troupe/ext/serial_claim.hpp"

namespace troupe::detail {

/// A bounded queue whose items live in an `mpmc_ring`: a put or a get takes
/// no lock, so a producer and a consumer on two cores do not pass a mutex's
/// cache line back and forth for every item. For overflow policies
/// `block`, `fail` and `drop_newest`, and a `T` that moves without throwing
/// (a claimed cell must be filled).
///
/// Thread-safety and ordering:
/// - `mtx` and the condition variables only park and wake waiters, as an
///   eventcount: a waiter locks `mtx`, registers (a seq_cst RMW on
///   `get_attn_` or `put_waiters_`), probes the ring once more and only
///   then waits; the other side publishes (seq_cst) and then reads the
///   counter, and locks `mtx` to notify only when it is not zero. A
///   `select` watching the queue counts as a waiting getter. Before it
///   parks, a waiter spins on the ring once per operation (`channel_spin`).
/// - `close()` closes the ring, which refuses pushes atomically with their
///   claim of a cell: a put is accepted exactly when it claimed a cell
///   before. A getter reports closed only once the ring is drained (every
///   accepted push popped), so no accepted item is lost to a racing
///   close; a push that publishes after the close wakes every waiting
///   getter, since the one taking its item may leave the ring drained.
/// - An attached actor (`troupe::attach`) is fed by a pump that one thread
///   at a time runs, whichever asked first: `pump_claim_` (an
///   `ext::serial_claim` taken by request) counts the requests, the thread
///   that took it runs the pump until the requests it saw are served, and
///   the others leave at once (a combining lock without waiting). Only the pump
///   pops for the actor, so items reach it in ring order. A put asks for the
///   pump only when credit is free (push, then read the credit, both seq_cst),
///   and a returned credit asks for it after the increment, so an item and a
///   credit never both go unseen.
/// - `size()`, `empty()` and `full()` are snapshots of the ring's
///   positions; items still being pushed count as queued.
template <class T>
class ring_queue_state final : public queue_state<T> {
public:
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "a claimed ring cell must be filled: moving T must not throw");

  ring_queue_state(std::size_t capacity, overflow policy)
    : queue_state<T>(capacity, policy), ring_(capacity) {}

  // -- put and get ------------------------------------------------------------

  status put(const T& x, const ext::deadline& w) override {
    if constexpr (!std::is_copy_constructible_v<T>) {
      put_of_move_only();
    } else if constexpr (std::is_nothrow_copy_constructible_v<T>) {
      return put_impl<const T&>(x, w);
    } else {
      // A copy may throw, and must not do so in a claimed cell: copy first.
      T copy(x);
      return put_impl<T>(copy, w);
    }
  }

  status put(T&& x, const ext::deadline& w) override {
    return put_impl<T>(x, w);
  }

  status get(std::optional<T>& out, const ext::deadline& w) override {
    auto s = take(out);
    if (s != status::would_block || w.is_poll())
      return s;
    std::optional<stop_callback> cb;
    bool spun = false;
    for (;;) {
      auto in_time = wait(
        not_empty_, get_attn_, waiter_unit, w, spun, cb,
        [this] { return ring_.can_pop() || closing_.load(); },
        [this] { return readable(); });
      s = take(out);
      if (s != status::would_block || !in_time)
        return s;
    }
  }

  // -- observers and close ----------------------------------------------------

  std::size_t size() const override {
    return ring_.size();
  }

  bool full() const override {
    return ring_.size() >= this->capacity_;
  }

  bool is_closed() const override {
    return ring_.closed();
  }

  std::size_t dropped() const override {
    return dropped_.load(std::memory_order_relaxed);
  }

  void close() override {
    std::lock_guard guard{this->mtx};
    if (ring_.close())
      return;
    closing_.store(true);
    not_empty_.notify_all();
    not_full_.notify_all();
    this->wake_watchers();
  }

  // -- select and wait --------------------------------------------------------

  bool readable_locked() const override {
    return readable();
  }

  /// Counts as a waiting getter, so that puts lock `mtx` and wake it.
  void watch_select(select_waiter* w) override {
    get_attn_.fetch_add(waiter_unit);
    try {
      this->watch(w);
    } catch (...) {
      get_attn_.fetch_sub(waiter_unit);
      throw;
    }
  }

  void unwatch_select(select_waiter* w) override {
    this->unwatch(w);
    get_attn_.fetch_sub(waiter_unit);
  }

  // -- attach -----------------------------------------------------------------

  std::uint32_t attach_target(std::shared_ptr<pump_target<T>> target,
                              std::uint32_t limit) override {
    // Void the credit of an attached actor first, so that its pump, if
    // one runs, stops soon.
    this->pump_.void_current();
    own_pump();
    auto gen = this->pump_.set_target(std::move(target), limit);
    get_attn_.fetch_or(attached_bit);
    run_pump();
    return gen;
  }

  void detach_target(std::uint32_t gen) override {
    // First void the credit, so that no put asks for the pump any more and
    // a running pump stops at its next item; then wait for it to finish.
    if (!this->pump_.void_credit(gen))
      return;
    own_pump();
    run_pump(); // drops the target
  }

  void give_back(std::uint32_t gen, std::uint32_t items,
                 std::uint32_t messages) noexcept override {
    if (this->pump_.credit_returned(gen, items, messages))
      request_pump();
  }

private:
  // `get_attn_`: set while an actor is attached, plus `waiter_unit` per
  // parked getter or watching `select`.
  static constexpr std::size_t attached_bit = 1;
  static constexpr std::size_t waiter_unit = 2;

  /// Stores `x` (moved from only when stored), waiting as `w` allows. `U`
  /// says how: `const T&` copies it in, `T` moves it in.
  template <class U>
  status put_impl(std::remove_reference_t<U>& x, const ext::deadline& w) {
    auto s = offer<U>(x);
    if (s != status::would_block)
      return s;
    if (this->policy_ == overflow::drop_newest) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return status::dropped;
    }
    if (this->policy_ == overflow::fail || w.is_poll())
      return s;
    // `can_push` also holds once closed, and reads lines that only
    // producers write per item: it serves as the spin's hint too.
    auto writable = [this] { return ring_.can_push(); };
    std::optional<stop_callback> cb;
    bool spun = false;
    for (;;) {
      auto in_time
        = wait(not_full_, put_waiters_, 1, w, spun, cb, writable, writable);
      s = offer<U>(x);
      if (s != status::would_block || !in_time)
        return s;
    }
  }

  /// One attempt to push `x` (moved from only when stored).
  template <class U>
  status offer(std::remove_reference_t<U>& x) {
    switch (ring_.try_push(std::forward<U>(x))) {
      case ring_push::closed:
        return status::closed;
      case ring_push::full:
        return status::would_block;
      case ring_push::ok:
        break;
    }
    // Published (seq_cst); now look for sleepers and an attached actor.
    if (auto attn = get_attn_.load(); attn != 0) {
      if (attn >= waiter_unit)
        wake_getter();
      if ((attn & attached_bit) != 0 && this->pump_.has_credit())
        request_pump();
    }
    return status::ok;
  }

  void wake_getter() {
    std::lock_guard guard{this->mtx};
    // After close() a getter parks only for an accepted push still
    // publishing (this one, perhaps the last): once its item is taken the
    // ring is drained, and every other parked getter must see that.
    if (closing_.load())
      not_empty_.notify_all();
    else
      not_empty_.notify_one();
    this->wake_watchers();
  }

  /// One attempt to take the oldest item.
  status take(std::optional<T>& out) {
    if (ring_.try_pop(out)) {
      if (put_waiters_.load() != 0) {
        std::lock_guard guard{this->mtx};
        not_full_.notify_one();
      }
      return status::ok;
    }
    // Not `closed` while an accepted push may still be publishing.
    return ring_.drained() ? status::closed : status::would_block;
  }

  bool readable() const {
    return ring_.can_pop() || ring_.drained();
  }

  /// Waits once until `ready` may hold; returns false when the deadline
  /// passed. The first wait of an operation (`spun` false) polls `hint`
  /// for the thread's spin budget first; `hint` reads no line the other
  /// side writes per item (a spinning getter polling `tail_` would slow
  /// every put). Parking registers in `waiters` (by `unit`) under `mtx`
  /// and probes `ready` again before it waits, so a waker that publishes
  /// and then finds `waiters` zero needs no notify. `cb` wakes the wait
  /// when the process is asked to stop; it is made on the first park only,
  /// so spinning waits stay cheap, and a stop requested before is seen
  /// under `mtx` before parking.
  template <class Hint, class Ready>
  bool wait(std::condition_variable& cv, std::atomic<std::size_t>& waiters,
            std::size_t unit, const ext::deadline& w, bool& spun,
            std::optional<stop_callback>& cb, Hint hint, Ready ready) {
    using clock = std::chrono::steady_clock;
    if (stop_requested())
      throw_terminated();
    if (!spun) {
      spun = true;
      if (!w.passed() && channel_spin.spin(hint))
        return true;
    }
    if (!cb)
      cb.emplace([this] { wake_all(); });
    std::unique_lock lk{this->mtx};
    waiters.fetch_add(unit);
    auto t0 = clock::now();
    bool parked = false;
    bool in_time = true;
    if (!stop_requested() && !ready()) {
      parked = true;
      in_time = ext::park(lk, cv, w);
    }
    waiters.fetch_sub(unit);
    lk.unlock();
    if (parked)
      channel_spin.parked_for(clock::now() - t0);
    if (stop_requested())
      throw_terminated();
    return in_time;
  }

  /// Wakes every parked put and get (a stop request).
  void wake_all() {
    std::lock_guard guard{this->mtx};
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  // -- the pump's combining lock ----------------------------------------------

  /// Asks for the pump; runs it unless another thread does.
  void request_pump() noexcept {
    if (pump_claim_.request())
      run_pump();
  }

  /// Takes the pump when no thread runs it, waiting for one that does.
  /// Only attaching and detaching wait; the wait is short, since a pump
  /// whose credit was voided stops at its next item.
  void own_pump() noexcept {
    pump_claim_.lock();
  }

  /// Runs the pump until no request is left. (pump owner)
  void run_pump() noexcept {
    std::uint32_t seen = 1;
    do
      pump();
    while (pump_claim_.release(seen));
  }

  /// Hands ring items to the attached actor while it has credit. (pump
  /// owner)
  void pump() noexcept {
    auto sent = this->drain_to_target(
      [this](std::optional<T>& x) noexcept { return ring_.try_pop(x); });
    if (sent != 0 && put_waiters_.load() != 0) {
      std::lock_guard guard{this->mtx};
      not_full_.notify_all();
    }
    if (!this->pump_.attached() && (get_attn_.load() & attached_bit) != 0)
      get_attn_.fetch_and(~attached_bit);
  }

  mpmc_ring<T> ring_;
  // Written only by puts into a full queue: off the line below, which
  // every put and get reads.
  alignas(ring_line) std::atomic<std::size_t> dropped_{0};
  // Read by every put and get, written only by waiters, `select` and
  // attach: shared by all cores without traffic.
  alignas(ring_line) std::atomic<std::size_t> get_attn_{0};
  std::atomic<std::size_t> put_waiters_{0};
  std::atomic<bool> closing_{false}; // set by close(), for spinning getters
  // Used only to park and wake (`mtx`).
  alignas(ring_line) std::condition_variable not_empty_;
  std::condition_variable not_full_;
  // Both threads write it per item while an actor is attached.
  alignas(ring_line) ext::serial_claim pump_claim_;
};

} // namespace troupe::detail
