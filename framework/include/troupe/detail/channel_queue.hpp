#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/process_state.hpp"
#include "troupe/error.hpp"

namespace troupe {

/// What a bounded channel does with an item put while it is full (the
/// caller chooses, as with SObjectizer's mchain overflow reactions).
enum class overflow : unsigned char {
  /// The put waits for a free slot (Python's default).
  block,
  /// The put fails at once: `put` throws `full`, `try_put` returns false.
  fail,
  /// The new item is discarded; the put returns as if it succeeded.
  drop_newest,
  /// The oldest queued item is discarded to make room for the new one.
  drop_oldest,
};

/// What a `joinable_queue` does with the items a consumer process took and
/// had not acknowledged (`task_done()`) when it ended, however it ended.
enum class consumer_exit_policy : unsigned char {
  /// The items go back to the front of the queue, in the order taken.
  redeliver,
  /// The items count as done (so `join()` returns) and are kept for
  /// `take_failed()`.
  report,
};

} // namespace troupe

namespace troupe::detail {

/// Credit given back by an actor that handled (destroyed) a delivered
/// item; see `troupe::attach`.
class credit_line {
public:
  virtual ~credit_line() = default;
  virtual void give_back() = 0;
};

/// True on a thread that is handing queued items to an attached actor.
inline thread_local bool in_pump = false;

/// Sends items to an attached actor (`troupe::attach`). (queue mtx)
template <class T>
class pump_target {
public:
  virtual ~pump_target() = default;
  /// Whether the actor may take one more item now.
  virtual bool has_credit() = 0;
  /// Hands `x` to the actor; returns false when it is gone.
  virtual bool deliver(T&& x) = 0;
};

/// The shared state behind every handle of a `queue`, `simple_queue` or
/// `joinable_queue`. All members are guarded by `mtx`.
template <class T>
class queue_state : public channel_core,
                    public std::enable_shared_from_this<queue_state<T>> {
public:
  queue_state(std::size_t capacity, overflow policy, bool joinable,
              consumer_exit_policy on_exit)
    : capacity_(capacity),
      policy_(policy),
      joinable_(joinable),
      on_exit_(on_exit) {
  }

  // -- put --------------------------------------------------------------------

  /// Stores `x` (moved from only when stored), waiting as `w` allows.
  template <class U>
  status put(U&& x, const wait_spec& w) {
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
    std::lock_guard guard{mtx};
    return items_.size();
  }

  bool full() const {
    std::lock_guard guard{mtx};
    return capacity_ != 0 && items_.size() >= capacity_;
  }

  bool is_closed() const {
    std::lock_guard guard{mtx};
    return closed_;
  }

  std::size_t dropped() const {
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
    if (closed_)
      return;
    closed_ = true;
    changed();
    not_empty_.notify_all();
    not_full_.notify_all();
    wake_watchers();
  }

  /// Attaches `target`, which then takes items as credit allows; null
  /// detaches.
  void set_target(std::shared_ptr<pump_target<T>> target) {
    std::lock_guard guard{mtx};
    target_ = std::move(target);
    pump_locked();
  }

  /// Hands queued items to the attached target while it has credit.
  void pump() {
    std::lock_guard guard{mtx};
    pump_locked();
  }

  /// Whether a get would not block (an item, or closed). (mtx)
  bool readable_locked() const {
    return !items_.empty() || closed_;
  }

private:
  void pump_locked() {
    if (!target_ || items_.empty())
      return;
    // Sends happen under the lock, so the actor receives items in queue
    // order; `in_pump` stops a delivery destroyed at once (a dead actor)
    // from re-entering.
    auto prev = std::exchange(in_pump, true);
    std::size_t sent = 0;
    while (!items_.empty() && target_->has_credit()) {
      T x = std::move(items_.front());
      items_.pop_front();
      ++sent;
      if (!target_->deliver(std::move(x))) {
        target_.reset();
        break;
      }
    }
    in_pump = prev;
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
    out.emplace(std::move(items_.front()));
    items_.pop_front();
    if (capacity_ != 0)
      changed();
    if (putters_ != 0)
      not_full_.notify_one();
    if constexpr (std::is_copy_constructible_v<T>) {
      if (joinable_ && hold(*out, taker.get())) {
        // First item this process takes: release what it holds when it
        // ends. Registered unlocked, since the hook may run at once.
        lk.unlock();
        taker->on_exit(
          [weak = this->weak_from_this(), key = taker.get()](const exit_info&) {
            if (auto self = weak.lock())
              self->release(key);
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

  /// Records `x` as held by `key`; returns whether `key` is new.
  bool hold(const T& x, process_state* key) {
    if constexpr (std::is_copy_constructible_v<T>) {
      if (auto* h = find_holder(key)) {
        h->items.push_back(x);
        return false;
      }
      holders_.push_back(holder{key, {}});
      holders_.back().items.push_back(x);
      return key != nullptr;
    } else {
      return false;
    }
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
  std::deque<T> items_;
  bool closed_ = false;
  std::size_t getters_ = 0;
  std::size_t putters_ = 0;
  std::size_t dropped_ = 0;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  // joinable_queue only
  std::condition_variable all_done_;
  std::size_t unfinished_ = 0;
  std::vector<holder> holders_;
  std::vector<T> failed_;
  // attached actor, if any
  std::shared_ptr<pump_target<T>> target_;
};

} // namespace troupe::detail
