#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <ranges>
#include <string>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/ext/mpsc_stack.hpp"
#include "troupe/pool/detail/pool_core.hpp"
#include "troupe/pool/detail/tasks.hpp"

// How `pool::imap` feeds its workers and collects their results: the
// machinery behind `troupe::imap_result` (troupe/pool/imap.hpp).

namespace troupe::pooled::detail {

/// What one imap chunk produced: its values, or the exception that failed
/// it (which every one of its items then throws).
template <class R>
struct imap_outcome {
  std::size_t index = 0; // chunk number, in input order
  std::size_t count = 0; // items
  std::vector<R> values;
  std::exception_ptr error;
  imap_outcome* next = nullptr;
};

/// Where imap chunks deliver: a lock-free stack the workers push onto and
/// the consumer empties at once, so a worker never waits for the consumer.
template <class R>
class imap_channel {
public:
  imap_channel() = default;
  imap_channel(const imap_channel&) = delete;
  imap_channel& operator=(const imap_channel&) = delete;

  ~imap_channel() {
    free_list(outcomes_.take_all());
  }

  void push(imap_outcome<R>* o) noexcept {
    outcomes_.push(o);
    if (waiting_.load(std::memory_order_seq_cst) > 0) {
      std::lock_guard guard{mtx_};
      cv_.notify_one();
    }
  }

  /// Everything delivered so far, oldest first; blocks (spinning briefly
  /// first) until there is something or `until` passed (null then). Throws
  /// `terminated` when the calling process is asked to stop.
  imap_outcome<R>* take(ext::deadline until) {
    if (auto* p = take_now())
      return p;
    auto spin_end
      = std::chrono::steady_clock::now() + std::chrono::microseconds{30};
    for (unsigned i = 1;; ++i) {
      if (auto* p = take_now())
        return p;
      if ((i & 63) == 0 && std::chrono::steady_clock::now() > spin_end)
        break;
      pool_spin_pause(i);
    }
    // Counted before the stack is looked at under the lock, so that a
    // pusher that sees no waiter pushed before that look.
    waiting_.fetch_add(1, std::memory_order_seq_cst);
    struct uncount {
      std::atomic<int>& n;
      ~uncount() {
        n.fetch_sub(1, std::memory_order_seq_cst);
      }
    } guard{waiting_};
    imap_outcome<R>* p = nullptr;
    pool_wait(mtx_, cv_, until, [&] { return (p = take_now()) != nullptr; });
    return p;
  }

  /// Set when the consumer went away: chunks not started are skipped.
  std::atomic<bool> abandoned{false};

  static void free_list(imap_outcome<R>* p) noexcept {
    while (p != nullptr)
      delete std::exchange(p, p->next);
  }

private:
  /// Oldest first, i.e. completion order.
  imap_outcome<R>* take_now() noexcept {
    return outcomes_.take_all();
  }

  ext::mpsc_stack<imap_outcome<R>> outcomes_;
  std::atomic<int> waiting_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// Items of one imap chunk, with their own copies of the input items (the
/// input is read lazily, so they cannot point into it).
template <class R, class F, class V>
class imap_chunk final : public pool_task {
public:
  imap_chunk(std::shared_ptr<imap_channel<R>> ch, std::shared_ptr<const F> f,
             std::vector<V> items, std::size_t index)
    : ch_(std::move(ch)), f_(std::move(f)), items_(std::move(items)),
      index_(index) {}

  void run() override {
    if (claimed_.load(std::memory_order_acquire)
        || ch_->abandoned.load(std::memory_order_relaxed))
      return;
    std::vector<R> values;
    values.reserve(items_.size());
    try {
      // Only an entry point can run in a worker's OS process (submission
      // refuses anything else on such a pool).
      auto* host = is_entry_call<F> ? current_worker_host() : nullptr;
      if constexpr (is_entry_call<F>) {
        if (host != nullptr)
          values = call_isolated<F, R>(*host, items_.cbegin(), items_.size());
      }
      if (host == nullptr)
        for (const auto& x : items_)
          values.push_back(std::invoke(*f_, x));
    } catch (const terminated&) {
      throw;
    } catch (const os_worker_lost&) {
      throw; // the worker's OS process ended: so does the worker
    } catch (const std::exception&) {
      deliver({}, std::current_exception());
      return;
    }
    deliver(std::move(values), {});
  }

  void fail(const std::exception_ptr& e) noexcept override {
    deliver({}, e);
  }

  [[nodiscard]] std::string describe() const override {
    return "imap chunk " + std::to_string(index_ + 1);
  }

private:
  void deliver(std::vector<R> values, std::exception_ptr e) noexcept {
    if (claimed_.exchange(true, std::memory_order_acq_rel))
      return;
    auto* o = new imap_outcome<R>{index_, items_.size(), std::move(values),
                                  std::move(e), nullptr};
    ch_->push(o);
  }

  std::shared_ptr<imap_channel<R>> ch_;
  std::shared_ptr<const F> f_;
  std::vector<V> items_;
  std::size_t index_;
  std::atomic<bool> claimed_{false};
};

/// Reads the input and cuts it into chunk tasks, on the consumer's thread
/// (or on the thread that joins the pool, see `imap_feed`).
class imap_feeder_base {
public:
  virtual ~imap_feeder_base() = default;
  /// The next chunk (`items` says how many items it holds), or null once
  /// the input is exhausted. When reading the input throws, `input_error`
  /// is set and the chunk holds the items read before (null if none); the
  /// input is not read again.
  virtual pool_task* next_chunk(std::size_t index, std::size_t& items,
                                std::exception_ptr& input_error)
    = 0;
  /// The number of items, when the input knows it.
  [[nodiscard]] virtual std::optional<std::size_t> size() const = 0;
};

/// The submitting side of one imap: reads the input and submits chunks
/// while fewer than `window` are unconsumed. Registered with the pool so
/// that `join()` after `close()` can submit the rest of the input at once
/// (as Python's imap, which reads its whole input eagerly, would have).
///
/// Thread-safety: guarded by `mtx`; the consumer and a joining thread.
class imap_feed final : public imap_drain {
public:
  imap_feed(std::shared_ptr<pool_core> core,
            std::unique_ptr<imap_feeder_base> feeder, std::size_t window)
    : core_(std::move(core)), feeder_(std::move(feeder)), window_(window) {
    total_ = feeder_->size().value_or(0);
    core_->register_feed(this);
  }

  ~imap_feed() override {
    core_->unregister_feed(this);
  }

  imap_feed(const imap_feed&) = delete;
  imap_feed& operator=(const imap_feed&) = delete;

  /// Submits chunks while fewer than `window` are submitted and not
  /// consumed; once started, only when at most half the window is, so
  /// submissions come in batches.
  void top_up(std::size_t consumed, bool first) {
    std::lock_guard guard{mtx_};
    auto in_flight = submitted_ - consumed;
    if (!first && in_flight > window_ / 2)
      return;
    submit_locked(window_ > in_flight ? window_ - in_flight : 0);
  }

  /// join() after close(): everything left, regardless of the window.
  void drain() override {
    std::lock_guard guard{mtx_};
    submit_locked(static_cast<std::size_t>(-1));
  }

  struct snapshot {
    std::size_t submitted;
    std::size_t total;
    bool done; // input exhausted (or the pool stopped taking it)
  };

  snapshot state() {
    std::lock_guard guard{mtx_};
    return {submitted_, total_, input_done_};
  }

  /// Why the input ended early, once (then empty): the pool stopped
  /// taking it, or reading it threw.
  std::exception_ptr take_stop_error() {
    std::lock_guard guard{mtx_};
    if (stop_error_)
      return std::exchange(stop_error_, nullptr);
    return std::exchange(input_error_, nullptr);
  }

private:
  void submit_locked(std::size_t max_chunks) {
    if (input_done_)
      return;
    std::vector<pool_task*> batch;
    // Owned here until submitted: what is read before an exception is
    // submitted, and nothing leaks when the input stops the reading.
    struct owner {
      std::vector<pool_task*>& tasks;
      ~owner() {
        for (auto* t : tasks)
          delete t;
      }
    } owned{batch};
    std::size_t items = 0;
    while (batch.size() < max_chunks) {
      std::size_t count = 0;
      std::exception_ptr input_error;
      auto* t
        = feeder_->next_chunk(submitted_ + batch.size(), count, input_error);
      if (t != nullptr) {
        items += count;
        batch.push_back(t);
      }
      if (input_error) {
        // As Python's imap: every item read before is processed and
        // yielded, then the iteration raises the input's exception.
        input_error_ = std::move(input_error);
        input_done_ = true;
        break;
      }
      if (t == nullptr) {
        input_done_ = true;
        break;
      }
    }
    if (!batch.empty()) {
      auto first_id = core_->next_ids(batch.size());
      for (auto* t : batch)
        t->id = first_id++;
      auto n = batch.size();
      try {
        core_->submit(batch, true);
        submitted_ += n;
        read_ += items;
      } catch (...) {
        stop_error_ = std::current_exception();
        input_done_ = true;
      }
    }
    if (input_done_ && total_ == 0)
      total_ = read_;
  }

  std::mutex mtx_;
  std::shared_ptr<pool_core> core_;
  std::unique_ptr<imap_feeder_base> feeder_;
  std::size_t window_;        // chunks
  std::size_t submitted_ = 0; // chunks
  std::size_t read_ = 0;      // items submitted
  std::size_t total_ = 0;
  bool input_done_ = false;
  std::exception_ptr stop_error_;
  std::exception_ptr input_error_; // what reading the input threw
};

template <class R, class F, class View>
class imap_feeder final : public imap_feeder_base {
public:
  using value_type = std::ranges::range_value_t<View>;

  imap_feeder(std::shared_ptr<imap_channel<R>> ch, std::shared_ptr<const F> f,
              View view, std::size_t chunksize)
    : ch_(std::move(ch)), f_(std::move(f)), view_(std::move(view)),
      it_(std::ranges::begin(view_)), chunksize_(chunksize) {}

  imap_feeder(const imap_feeder&) = delete;
  imap_feeder& operator=(const imap_feeder&) = delete;

  pool_task* next_chunk(std::size_t index, std::size_t& count,
                        std::exception_ptr& input_error) override {
    std::vector<value_type> items;
    try {
      auto end = std::ranges::end(view_);
      if (it_ == end)
        return nullptr;
      items.reserve(chunksize_);
      for (std::size_t i = 0; i < chunksize_ && it_ != end; ++i, ++it_)
        items.emplace_back(*it_);
    } catch (const terminated&) {
      throw; // the reading process is asked to stop: not the input's fault
    } catch (...) {
      input_error = std::current_exception();
    }
    count = items.size();
    if (items.empty())
      return nullptr;
    return new imap_chunk<R, F, value_type>(ch_, f_, std::move(items), index);
  }

  [[nodiscard]] std::optional<std::size_t> size() const override {
    if constexpr (std::ranges::sized_range<const View>)
      return static_cast<std::size_t>(std::ranges::size(view_));
    else
      return std::nullopt;
  }

private:
  std::shared_ptr<imap_channel<R>> ch_;
  std::shared_ptr<const F> f_;
  View view_;
  std::ranges::iterator_t<View> it_;
  std::size_t chunksize_;
};

} // namespace troupe::pooled::detail
