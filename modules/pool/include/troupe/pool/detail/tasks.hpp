#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/pool/async_result.hpp"
#include "troupe/pool/detail/isolated.hpp"
#include "troupe/pool/detail/pool_core.hpp"

namespace troupe::pooled::detail {

/// One `apply`/`apply_async`: `f(args...)` with the task's own copies of
/// the arguments (a retry after a worker died runs on the same copies,
/// which no other thread touches: a task is retried only once the thread
/// that ran it has left it).
template <class R, class F, class Tuple>
class apply_task final : public pool_task {
public:
  apply_task(F f, Tuple args, std::shared_ptr<result_state<R>> st)
    : f_(std::move(f)), args_(std::move(args)), st_(std::move(st)) {}

  void run() override {
    if (st_->claimed())
      return; // cancelled or failed while queued
    if constexpr (is_entry_call<F>) {
      if (auto* host = current_worker_host()) {
        run_isolated(*host);
        return;
      }
    }
    try {
      if constexpr (std::is_void_v<R>) {
        std::apply(f_, args_);
        st_->set_value();
      } else {
        st_->set_value(std::apply(f_, args_));
      }
    } catch (const terminated&) {
      throw; // the worker is asked to stop: the task did not finish
    } catch (const std::exception&) {
      st_->set_error(std::current_exception());
    }
  }

  void fail(const std::exception_ptr& e) noexcept override {
    st_->set_error(e);
  }

  [[nodiscard]] std::string describe() const override {
    return "apply_async";
  }

private:
  /// On a worker whose tasks run in its OS process: one call there.
  void run_isolated(worker_host& host) {
    using traits = isolated_traits<F>;
    using entry = typename traits::entry_type;
    std::vector<typename entry::params> calls;
    calls.push_back(std::apply(
      [](const auto&... xs) { return traits::params_of(xs...); }, args_));
    try {
      auto bytes = host.call(entry::name(), entry::encode_calls(calls));
      if constexpr (std::is_void_v<R>) {
        entry::decode_results(bytes, 1);
        st_->set_value();
      } else {
        st_->set_value(R(std::move(entry::decode_results(bytes, 1).front())));
      }
    } catch (const terminated&) {
      throw;
    } catch (const os_worker_lost&) {
      throw; // the worker's OS process ended: so does the worker
    } catch (const std::exception&) {
      st_->set_error(std::current_exception());
    }
  }

  F f_;
  Tuple args_;
  std::shared_ptr<result_state<R>> st_;
};

/// Where a map writes item i: `R` itself when it can be default-constructed
/// (and is not `bool`, whose vector packs bits that two chunks would share),
/// else `std::optional<R>`.
template <class R>
using map_slot_t = std::conditional_t<
  std::is_default_constructible_v<R> && !std::is_same_v<R, bool>, R,
  std::optional<R>>;

/// Python's default map chunksize: the input split into about four chunks
/// per worker.
inline std::size_t default_chunksize(std::size_t n, std::size_t workers) {
  auto per = workers * 4;
  auto size = n / per;
  if (n % per != 0)
    ++size;
  return std::max<std::size_t>(size, 1);
}

/// The progress callback of map and imap: (done, total).
using progress_fn = std::function<void(std::size_t, std::size_t)>;

/// A whole map: results go straight into `out` at their input index (no
/// per-item allocation or lock), the last chunk publishes the vector.
template <class R, class F, class It, class Owned>
class map_job final : public result_state<std::vector<R>> {
public:
  using slot_type = map_slot_t<R>;
  using result_type = R;
  using function_type = F;

  map_job(F fn, Owned input, std::size_t items, std::size_t chunks,
          bool progress)
    : f(std::move(fn)), owned(std::move(input)), n(items), out(items),
      chunks_left(chunks), track_progress(progress) {}

  /// Called once by the last successful chunk, or by a chunk that finished.
  void chunk_done(std::size_t items) {
    done.fetch_add(items, std::memory_order_relaxed);
    if (chunks_left.fetch_sub(1, std::memory_order_acq_rel) != 1) {
      if (track_progress)
        this->poke();
      return;
    }
    if (this->claimed())
      return;
    if constexpr (std::is_same_v<slot_type, R>) {
      this->set_value(std::move(out));
    } else {
      std::vector<R> values;
      values.reserve(n);
      for (auto& x : out)
        values.push_back(std::move(*x));
      this->set_value(std::move(values));
    }
  }

  F f;
  Owned owned; // the input, when the job keeps its own copy
  It first{};  // item i is first[i]
  std::size_t n;
  std::size_t chunksize = 0;
  std::vector<slot_type> out;
  std::atomic<std::size_t> chunks_left;
  std::atomic<std::size_t> done{0};
  /// Chunks inside run(): a blocking map that failed waits for them to
  /// leave, since they read the caller's input.
  std::atomic<int> running{0};
  bool track_progress;
};

/// Items [begin, end) of a map job.
template <class Job>
class map_chunk final : public pool_task {
public:
  map_chunk(std::shared_ptr<Job> job, std::size_t begin, std::size_t end,
            std::size_t index, std::size_t chunks)
    : job_(std::move(job)), begin_(begin), end_(end), index_(index),
      chunks_(chunks) {}

  void run() override {
    auto& j = *job_;
    // Counted before the check, so a blocking map that sees its job failed
    // and then no running chunk knows no chunk will read its input again.
    j.running.fetch_add(1);
    struct leave {
      Job& j;
      ~leave() {
        j.running.fetch_sub(1);
        if (j.claimed())
          j.poke();
      }
    } guard{j};
    if (j.claimed())
      return; // the job failed: skip the work
    if constexpr (is_entry_call<typename Job::function_type>) {
      if (auto* host = current_worker_host()) {
        run_isolated(*host);
        return;
      }
    }
    try {
      // Locals, so that the compiler keeps them in registers and can
      // vectorize the inner loop.
      const auto& fn = j.f;
      auto first = j.first;
      auto* out = j.out.data();
      constexpr std::size_t block = 1024;
      for (auto i = begin_; i < end_;) {
        auto e = std::min(i + block, end_);
        for (auto k = i; k < e; ++k) {
          const auto& x = first[static_cast<std::ptrdiff_t>(k)];
          out[k] = std::invoke(fn, x);
        }
        i = e;
        if (i < end_ && j.claimed())
          return; // another chunk failed: stop early
      }
    } catch (const terminated&) {
      throw;
    } catch (const os_worker_lost&) {
      throw; // the worker's OS process ended: so does the worker
    } catch (const std::exception&) {
      j.set_error(std::current_exception());
      return;
    }
    j.chunk_done(end_ - begin_);
  }

  void fail(const std::exception_ptr& e) noexcept override {
    job_->set_error(e);
  }

  [[nodiscard]] std::string describe() const override {
    return "map chunk " + std::to_string(index_ + 1) + " of "
           + std::to_string(chunks_) + " (items " + std::to_string(begin_)
           + " to " + std::to_string(end_ - 1) + ")";
  }

private:
  /// On a worker whose tasks run in its OS process: the whole chunk there,
  /// as one batch.
  void run_isolated(worker_host& host) {
    auto& j = *job_;
    try {
      auto first = j.first + static_cast<std::ptrdiff_t>(begin_);
      auto values
        = call_isolated<typename Job::function_type, typename Job::result_type>(
          host, first, end_ - begin_);
      for (auto k = begin_; k < end_; ++k)
        j.out[k] = std::move(values[k - begin_]);
    } catch (const terminated&) {
      throw;
    } catch (const os_worker_lost&) {
      throw; // the worker's OS process ended: so does the worker
    } catch (const std::exception&) {
      j.set_error(std::current_exception());
      return;
    }
    j.chunk_done(end_ - begin_);
  }

  std::shared_ptr<Job> job_;
  std::size_t begin_;
  std::size_t end_;
  std::size_t index_;
  std::size_t chunks_;
};

} // namespace troupe::pooled::detail
