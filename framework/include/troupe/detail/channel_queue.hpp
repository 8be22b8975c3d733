#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/mpmc_ring.hpp"
#include "troupe/detail/process_state.hpp"
#include "troupe/error.hpp"
#include "troupe/queue_options.hpp"

namespace troupe::detail {

/// Takes back the credit of deliveries an attached actor handled; see
/// `troupe::attach`. Implemented by the queue.
class credit_line {
public:
  virtual ~credit_line() = default;
  /// `items` delivered under attachment `generation` were handled (their
  /// message was destroyed), in `messages` batches (0 for a `delivery`,
  /// which counts as an item only). Credit of an earlier attachment is
  /// ignored.
  virtual void give_back(std::uint32_t generation, std::uint32_t items,
                         std::uint32_t messages) noexcept
    = 0;
};

/// True on a thread that is handing queued items to an attached actor.
inline thread_local bool in_pump = false;

/// Set when a delivery is destroyed during its own send: the actor is gone.
inline thread_local bool delivery_bounced = false;

/// Sends items to an attached actor (`troupe::attach`). Called only by the
/// thread that runs the queue's pump.
template <class T>
class pump_target {
public:
  virtual ~pump_target() = default;
  /// Whether items go in batches (`deliveries`) rather than one per
  /// message (`delivery`).
  [[nodiscard]] virtual bool batched() const noexcept = 0;
  /// The most items one batch carries.
  [[nodiscard]] virtual std::uint32_t max_batch() const noexcept = 0;
  /// Sends one item. A dead actor's mailbox destroys the message at once,
  /// which the pump sees through `delivery_bounced`.
  virtual void deliver(T&& x, const std::shared_ptr<credit_line>& line,
                       std::uint32_t generation)
    = 0;
  /// Sends `xs` (left empty) in one message, as `deliver(x, ...)`.
  virtual void deliver(std::vector<T>& xs,
                       const std::shared_ptr<credit_line>& line,
                       std::uint32_t generation)
    = 0;
};

/// The shared state behind every handle of a `queue`, `simple_queue` or
/// `joinable_queue`.
///
/// Two storages. A bounded, non-joinable queue whose overflow policy is
/// `block`, `fail` or `drop_newest` (and whose `T` moves without throwing)
/// keeps its items in an `mpmc_ring` ("ring mode"): a put or a get takes no
/// lock, so a producer and a consumer on two cores no longer pass a
/// mutex's cache line back and forth for every item. Every other queue
/// (unbounded, joinable, `drop_oldest`) keeps them in a deque, and all its
/// members are guarded by `mtx`.
///
/// Ring mode, thread-safety and ordering:
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
///   at a time runs, whichever asked first: `pump_requests_` counts the
///   requests, the thread that raised it from zero runs the pump until the
///   requests it saw are served, and the others leave at once (a combining
///   lock without waiting). Only the pump pops for the actor, so items
///   reach it in ring order. The actor's credit lives in `credit_`, tagged
///   with the attachment's generation; a put asks for the pump only when
///   credit is free (push, then read `credit_`, both seq_cst), and a
///   returned credit asks for it after the increment, so an item and a
///   credit never both go unseen.
/// - `qsize()`, `empty()` and `full()` are snapshots of the ring's
///   positions; items still being pushed count as queued.
///
/// Lifetime: shared by the handles (an attached actor holds it weakly);
/// destroying it destroys the items left in it.
template <class T>
class queue_state : public channel_core,
                    public credit_line,
                    public std::enable_shared_from_this<queue_state<T>> {
public:
  queue_state(std::size_t capacity, overflow policy, bool joinable,
              consumer_exit_policy on_exit)
    : capacity_(capacity),
      policy_(policy),
      joinable_(joinable),
      on_exit_(on_exit),
      ring_mode_(ring_capable && capacity != 0 && !joinable
                 && policy != overflow::drop_oldest),
      ring_(ring_mode_ ? capacity : 0) {
  }

  // -- put --------------------------------------------------------------------

  /// Stores `x` (moved from only when stored), waiting as `w` allows.
  template <class U>
  status put(U&& x, const wait_spec& w) {
    if constexpr (ring_capable) {
      if (ring_mode_)
        return ring_put(std::forward<U>(x), w);
    }
    {
      std::unique_lock lk{mtx};
      auto s = put_locked(x);
      if (s != status::would_block || w.kind == wait_spec::kind_t::none
          || policy_ == overflow::fail)
        return s;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{mtx};
    bool spun = false;
    for (;;) {
      auto s = put_locked(x);
      if (s != status::would_block)
        return s;
      if (!wait_once(lk, not_full_, putters_, w, this, &spun) && !has_room())
        return closed_ ? status::closed : status::would_block;
    }
  }

  // -- get --------------------------------------------------------------------

  /// Takes the oldest item into `out`, waiting as `w` allows.
  status get(std::optional<T>& out, const wait_spec& w) {
    if (ring_mode_)
      return ring_get(out, w);
    std::shared_ptr<process_state> taker;
    if (joinable_)
      taker = current_state();
    {
      std::unique_lock lk{mtx};
      auto s = get_locked(out, taker, lk);
      if (s != status::would_block || w.kind == wait_spec::kind_t::none)
        return s;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{mtx};
    bool spun = false;
    for (;;) {
      auto s = get_locked(out, taker, lk);
      if (s != status::would_block)
        return s;
      if (!wait_once(lk, not_empty_, getters_, w, this, &spun)
          && items_.empty())
        return closed_ ? status::closed : status::would_block;
    }
  }

  // -- joinable ---------------------------------------------------------------

  void task_done() {
    auto st = current_state();
    std::lock_guard guard{mtx};
    auto* h = find_holder(st.get());
    if (h == nullptr || h->items.empty())
      throw value_error("task_done() called too many times: the calling "
                        "process holds no item taken with get() and not "
                        "yet marked done");
    h->items.pop_front();
    if (--unfinished_ == 0)
      all_done_.notify_all();
  }

  /// Waits until every item put was taken and marked done; false on
  /// timeout.
  bool join(const wait_spec& w) {
    {
      std::lock_guard guard{mtx};
      if (unfinished_ == 0)
        return true;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{mtx};
    while (unfinished_ != 0) {
      std::size_t joiners = 0;
      if (!wait_once(lk, all_done_, joiners, w))
        return unfinished_ == 0;
    }
    return true;
  }

  std::vector<T> take_failed() {
    std::lock_guard guard{mtx};
    return std::exchange(failed_, {});
  }

  // -- observers and close ----------------------------------------------------

  std::size_t size() const {
    if (ring_mode_)
      return ring_.size();
    std::lock_guard guard{mtx};
    return items_.size();
  }

  bool full() const {
    if (ring_mode_)
      return ring_.size() >= capacity_;
    std::lock_guard guard{mtx};
    return capacity_ != 0 && items_.size() >= capacity_;
  }

  bool is_closed() const {
    if (ring_mode_)
      return ring_.closed();
    std::lock_guard guard{mtx};
    return closed_;
  }

  std::size_t dropped() const {
    if (ring_mode_)
      return dropped_.load(std::memory_order_relaxed);
    std::lock_guard guard{mtx};
    return dropped_;
  }

  std::size_t capacity() const noexcept {
    return capacity_;
  }

  overflow policy() const noexcept {
    return policy_;
  }

  void close() {
    std::lock_guard guard{mtx};
    if (ring_mode_) {
      if (ring_.close())
        return;
      closing_.store(true);
      not_empty_.notify_all();
      not_full_.notify_all();
      wake_watchers();
      return;
    }
    if (closed_)
      return;
    closed_ = true;
    changed();
    not_empty_.notify_all();
    not_full_.notify_all();
    wake_watchers();
  }

  // -- attach -----------------------------------------------------------------

  /// Attaches `target` (replacing any attached actor) with `limit` items
  /// in flight at most; returns the attachment's generation.
  std::uint32_t attach_target(std::shared_ptr<pump_target<T>> target,
                              std::uint32_t limit) {
    if (ring_mode_) {
      // Void the credit of an attached actor first, so that its pump, if
      // one runs, stops soon.
      auto word = credit_.load();
      while (!credit_.compare_exchange_weak(word, next_generation(word))) {
      }
      own_pump();
      auto gen = set_target(std::move(target), limit);
      get_attn_.fetch_or(attached_bit);
      run_pump(1);
      return gen;
    }
    std::lock_guard guard{mtx};
    auto gen = set_target(std::move(target), limit);
    pump_locked();
    return gen;
  }

  /// Ends attachment `gen` (a detach, or its actor ended); nothing if a
  /// later attachment replaced it. Once this returns, no item is sent to
  /// that actor any more.
  void detach_target(std::uint32_t gen) {
    // First void the credit, so that no put asks for the pump any more and
    // a running pump stops at its next item; then wait for it to finish.
    if (!void_credit(gen))
      return;
    if (ring_mode_) {
      own_pump();
      run_pump(1); // drops the target
      return;
    }
    std::lock_guard guard{mtx};
    pump_locked();
  }

  void give_back(std::uint32_t gen, std::uint32_t items,
                 std::uint32_t messages) noexcept override {
    auto word = credit_.load();
    do {
      if (generation(word) != gen)
        return;
    } while (!credit_.compare_exchange_weak(
      word, word + items + (std::uint64_t{messages} << message_shift)));
    if (in_pump) {
      // Destroyed during the pump's own send: the actor is gone, and the
      // pump (on this thread) must not be re-entered.
      delivery_bounced = true;
      return;
    }
    if (ring_mode_) {
      request_pump();
      return;
    }
    std::lock_guard guard{mtx};
    pump_locked();
  }

  /// Whether a get would not block (an item, or closed). (mtx)
  bool readable_locked() const {
    if (ring_mode_)
      return ring_readable();
    return !items_.empty() || closed_;
  }

  /// Registers a `select` call watching this queue. In ring mode it counts
  /// as a waiting getter, so that puts lock `mtx` and wake it.
  void watch_select(select_waiter* w) {
    get_attn_.fetch_add(waiter_unit);
    try {
      watch(w);
    } catch (...) {
      get_attn_.fetch_sub(waiter_unit);
      throw;
    }
  }

  /// Undoes a `watch_select(w)` that returned.
  void unwatch_select(select_waiter* w) {
    unwatch(w);
    get_attn_.fetch_sub(waiter_unit);
  }

private:
  // -- ring mode --------------------------------------------------------------

  /// Whether `T` may live in the ring: a claimed cell must be filled, so
  /// moving an item in must not throw.
  static constexpr bool ring_capable = std::is_nothrow_move_constructible_v<T>;

  // `get_attn_`: set while an actor is attached, plus `waiter_unit` per
  // parked getter or watching `select`.
  static constexpr std::size_t attached_bit = 1;
  static constexpr std::size_t waiter_unit = 2;

  template <class U>
  status ring_put(U&& x, const wait_spec& w) {
    if constexpr (!std::is_nothrow_constructible_v<T, U&&>) {
      // A copy may throw, and must not do so in a claimed cell: copy first.
      T copy(std::forward<U>(x));
      return ring_put(std::move(copy), w);
    } else {
      auto s = ring_offer<U>(x);
      if (s != status::would_block)
        return s;
      if (policy_ == overflow::drop_newest) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return status::dropped;
      }
      if (policy_ == overflow::fail || w.kind == wait_spec::kind_t::none)
        return s;
      // `can_push` also holds once closed, and reads lines that only
      // producers write per item: it serves as the spin's hint too.
      auto writable = [this] { return ring_.can_push(); };
      std::optional<stop_callback> cb;
      bool spun = false;
      for (;;) {
        auto in_time = ring_wait(not_full_, put_waiters_, 1, w, spun, cb,
                                 writable, writable);
        s = ring_offer<U>(x);
        if (s != status::would_block || !in_time)
          return s;
      }
    }
  }

  /// One attempt to push `x` (moved from only when stored).
  template <class U>
  status ring_offer(U& x) {
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
      if ((attn & attached_bit) != 0 && may_send(credit_.load()))
        request_pump();
    }
    return status::ok;
  }

  void wake_getter() {
    std::lock_guard guard{mtx};
    // After close() a getter parks only for an accepted push still
    // publishing (this one, perhaps the last): once its item is taken the
    // ring is drained, and every other parked getter must see that.
    if (closing_.load())
      not_empty_.notify_all();
    else
      not_empty_.notify_one();
    wake_watchers();
  }

  status ring_get(std::optional<T>& out, const wait_spec& w) {
    auto s = ring_take(out);
    if (s != status::would_block || w.kind == wait_spec::kind_t::none)
      return s;
    std::optional<stop_callback> cb;
    bool spun = false;
    for (;;) {
      auto in_time = ring_wait(
        not_empty_, get_attn_, waiter_unit, w, spun, cb,
        [this] { return ring_.can_pop() || closing_.load(); },
        [this] { return ring_readable(); });
      s = ring_take(out);
      if (s != status::would_block || !in_time)
        return s;
    }
  }

  /// One attempt to take the oldest item.
  status ring_take(std::optional<T>& out) {
    if (ring_.try_pop(out)) {
      if (put_waiters_.load() != 0) {
        std::lock_guard guard{mtx};
        not_full_.notify_one();
      }
      return status::ok;
    }
    // Not `closed` while an accepted push may still be publishing.
    return ring_.drained() ? status::closed : status::would_block;
  }

  bool ring_readable() const {
    return ring_.can_pop() || ring_.drained();
  }

  /// Waits once in ring mode until `ready` may hold; returns false when
  /// the deadline passed. The first wait of an operation (`spun` false)
  /// polls `hint` for the thread's spin budget first; `hint` reads no line
  /// the other side writes per item (a spinning getter polling `tail_`
  /// would slow every put). Parking registers in `waiters` (by `unit`)
  /// under `mtx` and probes `ready` again before it waits, so a waker that
  /// publishes and then finds `waiters` zero needs no notify. `cb` wakes
  /// the wait when the process is asked to stop; it is made on the first
  /// park only, so spinning waits stay cheap, and a stop requested before
  /// is seen under `mtx` before parking.
  template <class Hint, class Ready>
  bool ring_wait(std::condition_variable& cv, std::atomic<std::size_t>& waiters,
                 std::size_t unit, const wait_spec& w, bool& spun,
                 std::optional<stop_callback>& cb, Hint hint, Ready ready) {
    using clock = std::chrono::steady_clock;
    if (stop_requested())
      throw_terminated();
    auto timed = w.kind == wait_spec::kind_t::until;
    if (!spun) {
      spun = true;
      if ((!timed || w.deadline > clock::now()) && channel_spin.spin(hint))
        return true;
    }
    if (!cb)
      cb.emplace([this] { wake_all(); });
    std::unique_lock lk{mtx};
    waiters.fetch_add(unit);
    auto t0 = clock::now();
    bool parked = false;
    bool in_time = true;
    if (!stop_requested() && !ready()) {
      parked = true;
      if (timed)
        in_time = cv.wait_until(lk, w.deadline) == std::cv_status::no_timeout;
      else
        cv.wait(lk);
    }
    waiters.fetch_sub(unit);
    lk.unlock();
    if (parked)
      channel_spin.parked_for(clock::now() - t0);
    if (stop_requested())
      throw_terminated();
    return in_time;
  }

  // -- attach -----------------------------------------------------------------

  // `credit_`: the attachment's generation (bits 40-63), the batches it
  // may still have in flight (bits 32-39, batched attachments only) and
  // its free item credit (bits 0-31). A new generation voids the credit of
  // the one before, so late returns of a detached actor's deliveries
  // change nothing.
  static constexpr std::uint64_t credit_mask = 0xffff'ffff;
  static constexpr unsigned message_shift = 32;
  static constexpr unsigned generation_shift = 40;

  /// Batches a batched attachment has in flight at most: while the actor
  /// handles one, the next waits in its mailbox, and the items put
  /// meanwhile gather in the queue for the one after (natural batching).
  /// A single-item attachment is limited by its item credit only.
  static constexpr std::uint32_t batches_in_flight = 2;

  static std::uint32_t generation(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> generation_shift);
  }

  static std::uint32_t credit(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word & credit_mask);
  }

  static std::uint32_t messages(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> message_shift) & 0xff;
  }

  /// Whether the actor may take another message now.
  static bool may_send(std::uint64_t word) noexcept {
    return credit(word) != 0 && messages(word) != 0;
  }

  /// A word of the next generation, without credit (the 24-bit generation
  /// wraps).
  static std::uint64_t next_generation(std::uint64_t word) noexcept {
    return static_cast<std::uint64_t>((generation(word) + 1) & 0xff'ffff)
           << generation_shift;
  }

  /// Installs `target` under a new generation. (pump owner, or `mtx` in
  /// deque mode)
  std::uint32_t set_target(std::shared_ptr<pump_target<T>> target,
                           std::uint32_t limit) {
    // A single-item attachment's batch count never moves: 1 in flight
    // always "left".
    std::uint64_t batches = target->batched() ? batches_in_flight : 1;
    auto word = credit_.load();
    std::uint64_t next = 0;
    do {
      next = next_generation(word) | (batches << message_shift) | limit;
    } while (!credit_.compare_exchange_weak(word, next));
    target_ = std::move(target);
    target_gen_ = generation(next);
    return target_gen_;
  }

  /// Asks for the pump; runs it unless another thread does. (ring mode)
  void request_pump() noexcept {
    if (pump_requests_.fetch_add(1) == 0)
      run_pump(1);
  }

  /// Takes the pump when no thread runs it, waiting for one that does.
  /// Only attaching and detaching wait; the wait is short, since a pump
  /// whose credit was voided stops at its next item. (ring mode)
  void own_pump() noexcept {
    std::size_t idle = 0;
    while (!pump_requests_.compare_exchange_weak(idle, 1)) {
      idle = 0;
      std::this_thread::yield();
    }
  }

  /// Runs the pump until no request is left; `seen` requests are in hand.
  void run_pump(std::size_t seen) noexcept {
    for (;;) {
      ring_pump();
      auto before = pump_requests_.fetch_sub(seen);
      if (before == seen)
        return;
      seen = before - seen;
    }
  }

  /// Hands ring items to the attached target while it has credit. (pump
  /// owner)
  void ring_pump() noexcept {
    auto sent = drain_to_target([this](std::optional<T>& x) noexcept {
      return ring_.try_pop(x);
    });
    if (sent != 0 && put_waiters_.load() != 0) {
      std::lock_guard guard{mtx};
      not_full_.notify_all();
    }
    if (target_ == nullptr && (get_attn_.load() & attached_bit) != 0)
      get_attn_.fetch_and(~attached_bit);
  }

  /// Hands items taken with `pop` to the attached target, as many at once
  /// as its batch and the credit allow; drops the target once it is
  /// detached or its actor is gone. Returns how many it sent. (pump owner,
  /// or `mtx` in deque mode)
  template <class Pop>
  std::size_t drain_to_target(Pop pop) noexcept {
    if (target_ == nullptr)
      return 0;
    const bool batched = target_->batched();
    const auto batch = batched ? target_->max_batch() : 1;
    std::shared_ptr<credit_line> line;
    std::optional<T> x;
    std::size_t sent = 0;
    bool alive = true;
    auto prev = std::exchange(in_pump, true);
    for (;;) {
      auto word = credit_.load();
      if (generation(word) != target_gen_) {
        alive = false; // detached
        break;
      }
      if (!may_send(word))
        break;
      std::uint32_t got = 0;
      if (!batched) {
        if (!pop(x))
          break;
        got = 1;
      } else {
        auto want = std::min(credit(word), batch);
        while (got < want && pop(x)) {
          batch_.push_back(std::move(*x));
          ++got;
        }
        if (got == 0)
          break;
      }
      // Only the pump lowers the credit. A detach may void it meanwhile;
      // the items taken still go, as they left the queue before it.
      const std::uint64_t cost
        = got + (batched ? std::uint64_t{1} << message_shift : 0);
      while (generation(word) == target_gen_
             && !credit_.compare_exchange_weak(word, word - cost)) {
      }
      if (line == nullptr)
        line = this->shared_from_this();
      delivery_bounced = false;
      if (!batched)
        target_->deliver(std::move(*x), line, target_gen_);
      else
        target_->deliver(batch_, line, target_gen_);
      alive = !delivery_bounced;
      batch_.clear();
      sent += got;
      if (!alive)
        break;
    }
    in_pump = prev;
    if (!alive)
      drop_target();
    return sent;
  }

  /// The actor is gone (a delivery bounced) or was detached: void the
  /// credit and drop the target. (pump owner, or `mtx` in deque mode)
  void drop_target() noexcept {
    void_credit(target_gen_);
    target_.reset();
  }

  /// Moves `credit_` to the next generation, without credit, if attachment
  /// `gen` is still the current one; returns whether it did.
  bool void_credit(std::uint32_t gen) noexcept {
    auto word = credit_.load();
    do {
      if (generation(word) != gen)
        return false;
    } while (!credit_.compare_exchange_weak(word, next_generation(word)));
    return true;
  }

  // -- deque mode -------------------------------------------------------------

  void pump_locked() {
    // In ring mode only `close` and the waiters use `mtx`.
    if (ring_mode_ || target_ == nullptr)
      return;
    auto sent = drain_to_target([this](std::optional<T>& x) noexcept {
      if (items_.empty())
        return false;
      x.emplace(std::move(items_.front()));
      items_.pop_front();
      return true;
    });
    if (sent != 0)
      changed();
    if (sent != 0 && putters_ != 0)
      not_full_.notify_all();
  }

  struct holder {
    process_state* key;
    std::deque<T> items; // taken, not yet done, oldest first
  };

  bool has_room() const {
    return capacity_ == 0 || items_.size() < capacity_;
  }

  void wake_all() {
    std::lock_guard guard{mtx};
    not_empty_.notify_all();
    not_full_.notify_all();
    all_done_.notify_all();
  }

  template <class U>
  status put_locked(U& x) {
    if (closed_)
      return status::closed;
    if (!has_room()) {
      switch (policy_) {
        case overflow::block:
          return status::would_block;
        case overflow::fail:
          return status::would_block;
        case overflow::drop_newest:
          ++dropped_;
          return status::dropped;
        case overflow::drop_oldest:
          items_.pop_front();
          ++dropped_;
          if (joinable_ && --unfinished_ == 0)
            all_done_.notify_all();
          break;
      }
    }
    items_.emplace_back(std::forward<U>(x));
    if (joinable_)
      ++unfinished_;
    changed();
    if (getters_ != 0)
      not_empty_.notify_one();
    wake_watchers();
    if (target_)
      pump_locked();
    return status::ok;
  }

  status get_locked(std::optional<T>& out,
                    const std::shared_ptr<process_state>& taker,
                    std::unique_lock<std::mutex>& lk) {
    if (items_.empty())
      return closed_ ? status::closed : status::would_block;
    // A joinable queue records the item as held (a copy, to redeliver it)
    // before it leaves the queue: a copy that throws leaves it queued.
    bool first_hold = false;
    if constexpr (std::is_copy_constructible_v<T>) {
      if (joinable_) {
        auto known = holders_.size();
        first_hold = hold(items_.front(), taker.get());
        try {
          out.emplace(std::move(items_.front()));
        } catch (...) {
          unhold(taker.get(), holders_.size() != known);
          throw;
        }
      } else {
        out.emplace(std::move(items_.front()));
      }
    } else {
      out.emplace(std::move(items_.front()));
    }
    items_.pop_front();
    if (capacity_ != 0)
      changed();
    if (putters_ != 0)
      not_full_.notify_one();
    if constexpr (std::is_copy_constructible_v<T>) {
      if (first_hold) {
        // First item this process takes: release what it holds when it
        // ends. Registered unlocked, since the hook may run at once.
        lk.unlock();
        // A consumer declared killed whose thread still runs may still be
        // processing its items: they are redelivered once it left.
        taker->on_exit(
          [weak = this->weak_from_this(), key = taker.get()](const exit_info&) {
            after_thread_left(*key, [weak, key] {
              if (auto self = weak.lock())
                self->release(key);
            });
          });
        lk.lock();
      }
    }
    return status::ok;
  }

  holder* find_holder(process_state* key) {
    for (auto& h : holders_)
      if (h.key == key)
        return &h;
    return nullptr;
  }

  /// Records a copy of `x` as held by `key`; returns whether `key` is new.
  /// Changes nothing when the copy throws.
  bool hold(const T& x, process_state* key) {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (auto* h = find_holder(key)) {
        h->items.push_back(x);
        return false;
      }
      holder h{key, {}};
      h.items.push_back(x);
      holders_.push_back(std::move(h));
      return key != nullptr;
    } else {
      return false;
    }
  }

  /// Undoes the last `hold(x, key)`; `created` when it added the holder
  /// (the last one).
  void unhold(process_state* key, bool created) noexcept {
    if (created) {
      holders_.pop_back();
      return;
    }
    if (auto* h = find_holder(key))
      h->items.pop_back();
  }

  /// The process `key` ended: its unacknowledged items are redelivered or
  /// reported.
  void release(process_state* key) {
    std::lock_guard guard{mtx};
    auto i = std::find_if(holders_.begin(), holders_.end(),
                          [key](const holder& h) { return h.key == key; });
    if (i == holders_.end())
      return;
    auto taken = std::move(i->items);
    holders_.erase(i);
    if (taken.empty())
      return;
    if (on_exit_ == consumer_exit_policy::redeliver) {
      items_.insert(items_.begin(), std::make_move_iterator(taken.begin()),
                    std::make_move_iterator(taken.end()));
      changed();
      not_empty_.notify_all();
      wake_watchers();
      return;
    }
    unfinished_ -= taken.size();
    for (auto& x : taken)
      failed_.push_back(std::move(x));
    if (unfinished_ == 0)
      all_done_.notify_all();
  }

  const std::size_t capacity_;
  const overflow policy_;
  const bool joinable_;
  const consumer_exit_policy on_exit_;
  // ring mode only
  const bool ring_mode_;
  mpmc_ring<T> ring_;
  // Written only by puts into a full queue (and under `mtx` in deque
  // mode): off the line below, which every put and get reads.
  alignas(ring_line) std::atomic<std::size_t> dropped_{0};
  // Read by every put and get, written only by waiters, `select` and
  // attach: shared by all cores without traffic.
  alignas(ring_line) std::atomic<std::size_t> get_attn_{0};
  std::atomic<std::size_t> put_waiters_{0};
  std::atomic<bool> closing_{false}; // set by close(), for spinning getters
  // deque mode only (`mtx`), but for the condition variables and `target_`
  alignas(ring_line) std::deque<T> items_;
  bool closed_ = false;
  std::size_t getters_ = 0;
  std::size_t putters_ = 0;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  // joinable_queue only
  std::condition_variable all_done_;
  std::size_t unfinished_ = 0;
  std::vector<holder> holders_;
  std::vector<T> failed_;
  // attach: the actor's credit, and the pump's requests (ring mode), each
  // on a line of its own, since a put reads the first and both threads
  // write both per item
  alignas(ring_line) std::atomic<std::uint64_t> credit_{0};
  alignas(ring_line) std::atomic<std::size_t> pump_requests_{0};
  // the attached actor, if any, and the pump's scratch batch (pump owner,
  // or `mtx` in deque mode)
  alignas(ring_line) std::shared_ptr<pump_target<T>> target_;
  std::uint32_t target_gen_ = 0;
  std::vector<T> batch_;
};

/// Throws what a put that returned `s` (`closed` or `would_block`) means
/// for its caller: `closed`, or `full` with the reason.
[[noreturn]] void throw_put_failed(status s, std::size_t capacity,
                                   overflow policy, bool timed);

/// Throws what a get named `what` that returned `s` (`closed` or
/// `would_block`) means for its caller: `closed`, or `empty` with the
/// reason.
[[noreturn]] void throw_get_failed(status s, bool timed, const char* what);

} // namespace troupe::detail
