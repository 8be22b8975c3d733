#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/pool/detail/imap_feed.hpp"
#include "troupe/pool/detail/tasks.hpp"

namespace troupe {

/// The lazy result of `pool::imap` and `imap_unordered` (Python's
/// `IMapIterator`): a single-pass range of the results.
///
/// The input is read as results are consumed: at most `window` items are
/// submitted and not yet consumed, so a huge (or endless) input is never
/// read whole and a slow consumer holds the workers back (backpressure).
/// Ordered (`imap`): results come in input order; `imap_unordered`: in
/// completion order.
///
/// An item whose task threw (or was lost with its worker, or cancelled)
/// rethrows that exception when dereferenced; iteration may continue after
/// it (every item of a failed chunk throws the chunk's exception). When the
/// pool stops taking work before the input is exhausted, one last item
/// throws why (`value_error("pool not running")`, `pool_broken`).
///
/// Thread-safety: one consumer thread at a time. Lifetime: an input passed
/// as an lvalue is read in place and must outlive the iteration; an rvalue
/// input is moved in. Destroying the result before the end abandons the
/// rest: chunks not yet started are skipped, and the input is not read
/// further.
template <class R>
class [[nodiscard]] imap_result {
public:
  /// Internal: made by the pool.
  imap_result(std::shared_ptr<pooled::detail::pool_core> core,
              std::shared_ptr<pooled::detail::imap_channel<R>> ch,
              std::unique_ptr<pooled::detail::imap_feeder_base> feeder,
              bool ordered, std::size_t chunksize, std::size_t window,
              pooled::detail::progress_fn progress)
    : ch_(std::move(ch)), feed_(std::make_unique<pooled::detail::imap_feed>(
                            std::move(core), std::move(feeder),
                            std::max<std::size_t>(window / chunksize, 1))),
      ordered_(ordered), progress_(std::move(progress)) {
    feed_->top_up(0, true);
  }

  imap_result(imap_result&&) noexcept = default;
  imap_result& operator=(imap_result&&) = delete;
  imap_result(const imap_result&) = delete;

  ~imap_result() {
    if (!ch_)
      return; // moved from
    ch_->abandoned = true;
    delete cur_;
    for (auto* o : pending_)
      delete o;
  }

  struct sentinel {};

  class iterator {
  public:
    using value_type = R;
    using difference_type = std::ptrdiff_t;

    iterator() = default;

    /// The current result; rethrows its task's exception. Blocks only in
    /// `begin()` and `++`.
    R& operator*() const {
      return r_->current();
    }

    iterator& operator++() {
      r_->advance();
      return *this;
    }

    void operator++(int) {
      r_->advance();
    }

    friend bool operator==(const iterator& it, sentinel) {
      return it.r_->at_end();
    }

  private:
    friend class imap_result;
    explicit iterator(imap_result* r) : r_(r) {}
    imap_result* r_ = nullptr;
  };

  /// Blocks until the first result is there.
  iterator begin() {
    if (!started_) {
      started_ = true;
      advance();
    }
    return iterator{this};
  }

  sentinel end() const noexcept {
    return {};
  }

  /// Python's `next(it)`: the next result, or empty at the end. Blocks;
  /// rethrows as dereferencing does.
  std::optional<R> next() {
    started_ = true;
    advance();
    if (at_end())
      return std::nullopt;
    return std::move(current());
  }

  /// Whether iteration reached the end (after `begin()`).
  [[nodiscard]] bool at_end() const noexcept {
    return cur_ == nullptr;
  }

private:
  R& current() {
    if (cur_ == nullptr)
      throw state_error("imap: no current result (the end was reached)");
    if (cur_->error)
      std::rethrow_exception(cur_->error);
    return cur_->values[pos_];
  }

  void advance() {
    if (cur_ != nullptr && ++pos_ < cur_->count)
      return;
    if (cur_ != nullptr) {
      delete std::exchange(cur_, nullptr);
      ++consumed_;
    }
    for (;;) {
      if (!pending_.empty() && (pending_.front() != nullptr || !ordered_)) {
        cur_ = pending_.front();
        pending_.pop_front();
        if (ordered_)
          ++next_index_;
        pos_ = 0;
        return;
      }
      feed_->top_up(consumed_, false);
      auto st = feed_->state();
      if (st.submitted == consumed_ && st.done) {
        if (auto e = feed_->take_stop_error()) {
          // The pool stopped taking work: one item says why, then the end.
          cur_ = new pooled::detail::imap_outcome<R>{0, 1, {}, e, nullptr};
          --consumed_; // not a chunk of the input
          pos_ = 0;
        }
        return; // the end
      }
      auto* list = ch_->take(ext::deadline::forever());
      while (list != nullptr) {
        auto* o = std::exchange(list, list->next);
        o->next = nullptr;
        done_ += o->count;
        if (ordered_) {
          // By input order: slot i holds chunk next_index_ + i.
          auto at = o->index - next_index_;
          if (pending_.size() <= at)
            pending_.resize(at + 1, nullptr);
          pending_[at] = o;
        } else {
          pending_.push_back(o);
        }
      }
      if (progress_)
        progress_(done_, feed_->state().total);
    }
  }

  std::shared_ptr<pooled::detail::imap_channel<R>> ch_;
  std::unique_ptr<pooled::detail::imap_feed> feed_;
  bool ordered_;
  pooled::detail::progress_fn progress_;
  /// Ordered: chunks by input position from `next_index_` (null: not yet
  /// there); unordered: chunks in completion order.
  std::deque<pooled::detail::imap_outcome<R>*> pending_;
  pooled::detail::imap_outcome<R>* cur_ = nullptr;
  std::size_t pos_ = 0;
  std::size_t consumed_ = 0; // chunks
  std::size_t next_index_ = 0;
  std::size_t done_ = 0; // items delivered
  bool started_ = false;
};

} // namespace troupe
