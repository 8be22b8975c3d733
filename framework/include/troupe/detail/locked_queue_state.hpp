#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/process_hooks.hpp"
#include "troupe/detail/queue_state.hpp"
#include "troupe/error.hpp"

namespace troupe::detail {

/// A queue whose items live in a deque guarded by `mtx`: every queue that
/// `ring_queue_state` does not serve (unbounded, `overflow::drop_oldest`, a
/// `T` whose move may throw) and every `joinable_queue` (`Joinable`).
///
/// Thread-safety: all members are guarded by `mtx`, which waiters release
/// while they park on `not_empty_`, `not_full_` or `all_done_`. Before it
/// parks, a waiter spins once per operation on the channel's epoch
/// (`wait_once`). An attached actor is fed under `mtx` by whichever thread
/// changed the queue or returned credit, so `mtx` serves as the pump's
/// lock too.
///
/// A joinable queue records every item taken as held by the taking process
/// (a copy, to redeliver it) until its `task_done()`; when a holder ends,
/// however it ends, its items are redelivered to the front or reported
/// (`consumer_exit_policy`).
template <class T, bool Joinable>
class locked_queue_state final : public queue_state<T> {
public:
  static_assert(!Joinable || std::is_copy_constructible_v<T>,
                "a joinable queue keeps a copy of every item held");

  locked_queue_state(std::size_t capacity, overflow policy,
                     consumer_exit_policy on_exit)
    : queue_state<T>(capacity, policy), on_exit_(on_exit) {}

  // -- put and get ------------------------------------------------------------

  status put(const T& x, const ext::deadline& w) override {
    if constexpr (std::is_copy_constructible_v<T>)
      return put_impl(x, w);
    else
      put_of_move_only();
  }

  status put(T&& x, const ext::deadline& w) override {
    return put_impl(std::move(x), w);
  }

  status get(std::optional<T>& out, const ext::deadline& w) override {
    std::shared_ptr<process_state> taker;
    if constexpr (Joinable)
      taker = current_state();
    {
      std::unique_lock lk{this->mtx};
      auto s = get_locked(out, taker, lk);
      if (s != status::would_block || w.is_poll())
        return s;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{this->mtx};
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

  void task_done() requires Joinable {
    auto st = current_state();
    std::lock_guard guard{this->mtx};
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
  bool join(const ext::deadline& w) requires Joinable {
    {
      std::lock_guard guard{this->mtx};
      if (unfinished_ == 0)
        return true;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{this->mtx};
    while (unfinished_ != 0) {
      std::size_t joiners = 0;
      if (!wait_once(lk, all_done_, joiners, w))
        return unfinished_ == 0;
    }
    return true;
  }

  std::vector<T> take_failed() requires Joinable {
    std::lock_guard guard{this->mtx};
    return std::exchange(failed_, {});
  }

  // -- observers and close ----------------------------------------------------

  std::size_t size() const override {
    std::lock_guard guard{this->mtx};
    return items_.size();
  }

  bool full() const override {
    std::lock_guard guard{this->mtx};
    return this->capacity_ != 0 && items_.size() >= this->capacity_;
  }

  bool is_closed() const override {
    std::lock_guard guard{this->mtx};
    return closed_;
  }

  std::size_t dropped() const override {
    std::lock_guard guard{this->mtx};
    return dropped_;
  }

  void close() override {
    std::lock_guard guard{this->mtx};
    if (closed_)
      return;
    closed_ = true;
    this->changed();
    not_empty_.notify_all();
    not_full_.notify_all();
    this->wake_watchers();
  }

  // -- select, wait and attach ------------------------------------------------

  bool readable_locked() const override {
    return !items_.empty() || closed_;
  }

  std::uint32_t attach_target(std::shared_ptr<pump_target<T>> target,
                              std::uint32_t limit) override {
    std::lock_guard guard{this->mtx};
    auto gen = this->pump_.set_target(std::move(target), limit);
    pump_locked();
    return gen;
  }

  void detach_target(std::uint32_t gen) override {
    // Void the credit first, so that a pump running on another thread
    // stops at its next item; the pump below then drops the target.
    if (!this->pump_.void_credit(gen))
      return;
    std::lock_guard guard{this->mtx};
    pump_locked();
  }

  void give_back(std::uint32_t gen, std::uint32_t items,
                 std::uint32_t messages) noexcept override {
    if (!this->pump_.credit_returned(gen, items, messages))
      return;
    std::lock_guard guard{this->mtx};
    pump_locked();
  }

private:
  struct holder {
    process_state* key;
    std::deque<T> items; // taken, not yet done, oldest first
  };

  template <class U>
  status put_impl(U&& x, const ext::deadline& w) {
    {
      std::unique_lock lk{this->mtx};
      auto s = put_locked(x);
      if (s != status::would_block || w.is_poll()
          || this->policy_ == overflow::fail)
        return s;
    }
    stop_callback cb{[this] { wake_all(); }};
    std::unique_lock lk{this->mtx};
    bool spun = false;
    for (;;) {
      auto s = put_locked(x);
      if (s != status::would_block)
        return s;
      if (!wait_once(lk, not_full_, putters_, w, this, &spun) && !has_room())
        return closed_ ? status::closed : status::would_block;
    }
  }

  /// Hands items to the attached actor while it has credit. (mtx)
  void pump_locked() {
    if (!this->pump_.attached())
      return;
    auto sent = this->drain_to_target([this](std::optional<T>& x) noexcept {
      if (items_.empty())
        return false;
      x.emplace(std::move(items_.front()));
      items_.pop_front();
      return true;
    });
    if (sent != 0)
      this->changed();
    if (sent != 0 && putters_ != 0)
      not_full_.notify_all();
  }

  bool has_room() const {
    return this->capacity_ == 0 || items_.size() < this->capacity_;
  }

  /// Wakes every waiter (a stop request).
  void wake_all() {
    std::lock_guard guard{this->mtx};
    not_empty_.notify_all();
    not_full_.notify_all();
    all_done_.notify_all();
  }

  /// Stores `x` (moved from only when stored, for an rvalue). (mtx)
  template <class U>
  status put_locked(U& x) {
    if (closed_)
      return status::closed;
    if (!has_room()) {
      switch (this->policy_) {
        case overflow::block:
        case overflow::fail:
          return status::would_block;
        case overflow::drop_newest:
          ++dropped_;
          return status::dropped;
        case overflow::drop_oldest:
          items_.pop_front();
          ++dropped_;
          if constexpr (Joinable) {
            if (--unfinished_ == 0)
              all_done_.notify_all();
          }
          break;
      }
    }
    items_.emplace_back(std::forward<U>(x));
    if constexpr (Joinable)
      ++unfinished_;
    this->changed();
    if (getters_ != 0)
      not_empty_.notify_one();
    this->wake_watchers();
    pump_locked();
    return status::ok;
  }

  /// Takes the oldest item into `out`; a joinable queue records it as held
  /// by `taker`. (mtx, which `lk` holds and may release meanwhile)
  status get_locked(std::optional<T>& out,
                    const std::shared_ptr<process_state>& taker,
                    std::unique_lock<std::mutex>& lk) {
    if (items_.empty())
      return closed_ ? status::closed : status::would_block;
    bool first_hold = false;
    if constexpr (Joinable) {
      // The item is recorded as held (a copy, to redeliver it) before it
      // leaves the queue: a copy that throws leaves it queued.
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
    items_.pop_front();
    if (this->capacity_ != 0)
      this->changed();
    if (putters_ != 0)
      not_full_.notify_one();
    if constexpr (Joinable) {
      if (first_hold) {
        // First item this process takes: release what it holds when it
        // ends. Registered unlocked, since the hook may run at once.
        lk.unlock();
        // A consumer declared killed whose thread still runs may still be
        // processing its items: they are redelivered once it left.
        on_process_exit(*taker, [weak = this->weak_from_this(),
                                 key = taker.get()](const exit_info&) {
          after_thread_left(*key, [weak, key] {
            if (auto self = weak.lock())
              static_cast<locked_queue_state&>(*self).release(key);
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
    if (auto* h = find_holder(key)) {
      h->items.push_back(x);
      return false;
    }
    holder h{key, {}};
    h.items.push_back(x);
    holders_.push_back(std::move(h));
    return key != nullptr;
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
    std::lock_guard guard{this->mtx};
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
      this->changed();
      not_empty_.notify_all();
      this->wake_watchers();
      return;
    }
    unfinished_ -= taken.size();
    for (auto& x : taken)
      failed_.push_back(std::move(x));
    if (unfinished_ == 0)
      all_done_.notify_all();
  }

  const consumer_exit_policy on_exit_;
  std::deque<T> items_;
  bool closed_ = false;
  std::size_t dropped_ = 0;
  std::size_t getters_ = 0;
  std::size_t putters_ = 0;
  std::condition_variable not_empty_;
  std::condition_variable not_full_;
  // joinable only
  std::condition_variable all_done_;
  std::size_t unfinished_ = 0;
  std::vector<holder> holders_;
  std::vector<T> failed_;
};

} // namespace troupe::detail
