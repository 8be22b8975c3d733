#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/pool/async_result.hpp"
#include "troupe/pool/detail/pool_core.hpp"
#include "troupe/pool/detail/tasks.hpp"
#include "troupe/pool/error.hpp"
#include "troupe/pool/imap.hpp"
#include "troupe/pool/options.hpp"
#include "troupe/process.hpp"

namespace troupe {

/// `progress(done, total)`: items finished so far and the input's size (0
/// while an imap's input size is not known yet).
using progress_fn = std::function<void(std::size_t done, std::size_t total)>;

/// Options of `map`, `starmap` and their async forms.
struct map_options {
  /// Items per task; 0 takes Python's default (about four chunks per
  /// worker).
  std::size_t chunksize = 0;

  /// For `map`/`starmap`: called on the calling thread (while it waits)
  /// after chunks finish. Ignored by the async forms.
  progress_fn progress{};
};

/// Options of `imap` and `imap_unordered`.
struct imap_options {
  /// Items per task (Python's default: 1).
  std::size_t chunksize = 1;

  /// Most items submitted and not yet consumed; 0 takes
  /// max(4 * processes * chunksize, 1024).
  std::size_t window = 0;

  /// Called on the consuming thread whenever results arrive.
  progress_fn progress{};
};

/// Callbacks for `apply_async` and `map_async` (Python's `callback` and
/// `error_callback`); make them with `troupe::callback(...)` or
/// `troupe::error_callback(...)`.
template <class C, class E>
struct callbacks {
  C callback;
  E error_callback;
};

/// `callback(result)` runs when the task succeeded; `error_callback` (given
/// `std::exception_ptr` or `const std::exception&`) when it failed.
template <class C>
callbacks<C, std::nullptr_t> callback(C on_value) {
  return {std::move(on_value), nullptr};
}

template <class C, class E>
callbacks<C, E> callback(C on_value, E on_error) {
  return {std::move(on_value), std::move(on_error)};
}

template <class E>
callbacks<std::nullptr_t, E> error_callback(E on_error) {
  return {nullptr, std::move(on_error)};
}

namespace pooled::detail {

template <class T>
struct is_callbacks : std::false_type {};

template <class C, class E>
struct is_callbacks<callbacks<C, E>> : std::true_type {};

template <class T>
concept not_callbacks = !is_callbacks<std::decay_t<T>>::value;

template <class F, class... Args>
using apply_result_t = std::decay_t<
  std::invoke_result_t<std::decay_t<F>&, std::decay_t<Args>&...>>;

template <class F, class Range>
using map_result_t = std::decay_t<std::invoke_result_t<
  const std::decay_t<F>&, const std::ranges::range_value_t<Range>&>>;

} // namespace pooled::detail

/// A pool of worker processes: Python's `multiprocessing.Pool`, as a
/// supervised worker fleet.
///
/// Workers are processes (threads with a mailbox and troupe's stop
/// semantics), supervised children of the pool's own supervisor: a worker
/// that dies (an exception that escapes the worker loop — one not derived
/// from `std::exception`, `this_process::exit()` — or `terminate()`,
/// `kill()`) is replaced, and the task it was running is retried up to
/// `max_retries` times, then fails with `worker_lost`. Too many restarts
/// within the intensity period break the pool: every pending result fails
/// with `pool_broken`. No result waits forever for a dead worker.
///
/// Tasks are `f(args...)` with copies of the arguments; an exception a task
/// throws is its result's outcome and is rethrown, as the original object,
/// by `get()`. Callbacks run on the pool's callback thread, never on a
/// worker; a result with a callback is ready once its callback ran.
///
/// The hot path is in-process: per-worker task queues with stealing,
/// results written in place, brief spinning before sleeping; no actor
/// message per task.
///
/// Thread-safety: every member may be called from any thread; `join()` and
/// `terminate()` not from inside the pool's own tasks (`state_error`).
/// Lifetime: the destructor terminates the pool (as Python's `with` does):
/// pending results fail with `cancelled`; call `close()` and `join()` first
/// to finish the work instead. Destroy the pool before its runtime.
class pool {
public:
  /// Starts the workers; blocks until they run. Throws `value_error` for
  /// bad options.
  explicit pool(runtime& rt, pool_options opts = {});

  /// As above, with Python's `initializer(*initargs)`: every worker calls
  /// `init(initargs...)` (copies) when it starts.
  ///
  /// For a pool of OS-process workers the initializer must be a registered
  /// entry point, `troupe::entry<init>`, which runs in each worker's OS
  /// process (its arguments cross as values).
  template <class F, class... Args>
    requires(std::is_invocable_v<const std::decay_t<F>&, const Args&...>)
  pool(runtime& rt, pool_options opts, F&& init, Args... initargs)
    : pool(
      rt,
      entry_initializer(static_cast<const std::decay_t<F>&>(init), initargs...),
      with_initializer(std::move(opts), std::forward<F>(init),
                       std::move(initargs)...)) {}

  /// Terminates the pool and waits for its workers (see the class comment).
  ~pool();

  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // -- one task
  // -------------------------------------------------------------------

  /// Runs `f(args...)` on a worker and returns its result (Python's
  /// `apply`). Blocks until done; rethrows the task's exception.
  template <class F, class... Args>
    requires(pooled::detail::not_callbacks<F>)
  auto apply(F&& f, Args&&... args)
    -> pooled::detail::apply_result_t<F, Args...> {
    using R = pooled::detail::apply_result_t<F, Args...>;
    auto res = apply_async(std::forward<F>(f), std::forward<Args>(args)...);
    res.wait();
    if (!res.successful())
      std::rethrow_exception(res.exception());
    if constexpr (!std::is_void_v<R>)
      return std::move(res.state()->value());
  }

  /// Submits `f(args...)` and returns at once (Python's `apply_async`).
  /// Throws `value_error("pool not running")` after `close()` or
  /// `terminate()`, `pool_broken` once broken.
  template <class F, class... Args>
    requires(pooled::detail::not_callbacks<F>)
  auto apply_async(F&& f, Args&&... args)
    -> async_result<pooled::detail::apply_result_t<F, Args...>> {
    return apply_async(callbacks<std::nullptr_t, std::nullptr_t>{},
                       std::forward<F>(f), std::forward<Args>(args)...);
  }

  /// As above, with Python's `callback` and `error_callback`:
  /// `p.apply_async(troupe::callback(on_done), f, x)`.
  template <class C, class E, class F, class... Args>
  auto apply_async(callbacks<C, E> cbs, F&& f, Args&&... args)
    -> async_result<pooled::detail::apply_result_t<F, Args...>> {
    using R = pooled::detail::apply_result_t<F, Args...>;
    core_->check_isolated_callable(
      pooled::detail::is_entry_call<std::decay_t<F>>);
    auto st = std::make_shared<pooled::detail::result_state<R>>();
    set_callbacks<R>(*st, std::move(cbs));
    using tuple_t = std::tuple<std::decay_t<Args>...>;
    auto* t = new pooled::detail::apply_task<R, std::decay_t<F>, tuple_t>(
      std::forward<F>(f), tuple_t{std::forward<Args>(args)...}, st);
    t->id = core_->next_ids(1);
    core_->submit(t);
    return async_result<R>{std::move(st)};
  }

  // -- map
  // ------------------------------------------------------------------------

  /// `f(x)` for every item of `input`, results in input order (Python's
  /// `map`). Blocks until all are done; the first failure is rethrown
  /// (after the chunks still running have stopped). `f` is called
  /// concurrently from several workers, as `const`.
  template <class F, std::ranges::input_range Range>
  auto map(const F& f, Range&& input, std::size_t chunksize = 0)
    -> std::vector<pooled::detail::map_result_t<F, Range>> {
    return map(f, std::forward<Range>(input),
               map_options{.chunksize = chunksize});
  }

  template <class F, std::ranges::input_range Range>
  auto map(const F& f, Range&& input, map_options opts)
    -> std::vector<pooled::detail::map_result_t<F, Range>> {
    using R = pooled::detail::map_result_t<F, Range>;
    static_assert(!std::is_void_v<R>,
                  "map needs a function that returns a value");
    core_->check_isolated_callable(
      pooled::detail::is_entry_call<std::decay_t<F>>);
    if constexpr (std::ranges::random_access_range<
                    Range> && std::ranges::sized_range<Range>) {
      auto first = std::ranges::begin(input);
      auto n = static_cast<std::size_t>(std::ranges::size(input));
      return run_map<R>(f, first, n, std::monostate{}, opts);
    } else {
      auto owned = to_vector(std::forward<Range>(input));
      auto n = owned.size();
      return run_map<R>(f, owned.cbegin(), n, std::monostate{}, opts);
    }
  }

  /// Submits a map and returns at once (Python's `map_async`); the input
  /// is copied first. `get()` gives the vector of results.
  template <class F, std::ranges::input_range Range>
    requires(pooled::detail::not_callbacks<F>)
  auto map_async(const F& f, Range&& input, std::size_t chunksize = 0)
    -> async_result<std::vector<pooled::detail::map_result_t<F, Range>>> {
    return map_async(callbacks<std::nullptr_t, std::nullptr_t>{}, f,
                     std::forward<Range>(input), chunksize);
  }

  /// As above, with Python's callbacks: `callback(const std::vector<R>&)`.
  template <class C, class E, class F, std::ranges::input_range Range>
  auto map_async(callbacks<C, E> cbs, const F& f, Range&& input,
                 std::size_t chunksize = 0)
    -> async_result<std::vector<pooled::detail::map_result_t<F, Range>>> {
    using R = pooled::detail::map_result_t<F, Range>;
    static_assert(!std::is_void_v<R>,
                  "map_async needs a function that returns a value");
    core_->check_isolated_callable(
      pooled::detail::is_entry_call<std::decay_t<F>>);
    auto owned = to_vector(std::forward<Range>(input));
    auto job = make_map_job<R>(f, std::move(owned), chunksize, {});
    set_callbacks<std::vector<R>>(*job, std::move(cbs));
    submit_map(job);
    return async_result<std::vector<R>>{std::move(job)};
  }

  /// `f(a, b, ...)` for every tuple (or pair, or array) of `input`, in
  /// order (Python's `starmap`).
  template <class F, std::ranges::input_range Range>
  auto starmap(const F& f, Range&& input, std::size_t chunksize = 0) {
    return map(pooled::detail::star<std::decay_t<F>>{f},
               std::forward<Range>(input), chunksize);
  }

  template <class F, std::ranges::input_range Range>
  auto starmap(const F& f, Range&& input, map_options opts) {
    return map(pooled::detail::star<std::decay_t<F>>{f},
               std::forward<Range>(input), std::move(opts));
  }

  template <class F, std::ranges::input_range Range>
    requires(pooled::detail::not_callbacks<F>)
  auto starmap_async(const F& f, Range&& input, std::size_t chunksize = 0) {
    return map_async(pooled::detail::star<std::decay_t<F>>{f},
                     std::forward<Range>(input), chunksize);
  }

  template <class C, class E, class F, std::ranges::input_range Range>
  auto starmap_async(callbacks<C, E> cbs, const F& f, Range&& input,
                     std::size_t chunksize = 0) {
    return map_async(std::move(cbs), pooled::detail::star<std::decay_t<F>>{f},
                     std::forward<Range>(input), chunksize);
  }

  // -- imap
  // -----------------------------------------------------------------------

  /// A lazy, ordered map (Python's `imap`): see `imap_result`. Does not
  /// block (it submits the first window of tasks).
  template <class F, std::ranges::input_range Range>
  auto imap(const F& f, Range&& input, std::size_t chunksize = 1) {
    return imap(f, std::forward<Range>(input),
                imap_options{.chunksize = chunksize});
  }

  template <class F, std::ranges::input_range Range>
  auto imap(const F& f, Range&& input, imap_options opts) {
    return make_imap(f, std::forward<Range>(input), std::move(opts), true);
  }

  /// As `imap`, results in completion order (Python's `imap_unordered`).
  template <class F, std::ranges::input_range Range>
  auto imap_unordered(const F& f, Range&& input, std::size_t chunksize = 1) {
    return imap_unordered(f, std::forward<Range>(input),
                          imap_options{.chunksize = chunksize});
  }

  template <class F, std::ranges::input_range Range>
  auto imap_unordered(const F& f, Range&& input, imap_options opts) {
    return make_imap(f, std::forward<Range>(input), std::move(opts), false);
  }

  // -- lifecycle
  // ------------------------------------------------------------------

  /// No more submissions (`value_error("pool not running")`); the workers
  /// finish what was submitted. Does not block; idempotent.
  void close();

  /// Cancels what is pending (those results fail with `cancelled`) and
  /// stops the workers: each is asked to stop (its blocking troupe calls
  /// throw `terminated`) and killed after the `shutdown` grace. Blocks
  /// until they ended. Idempotent.
  void terminate();

  /// Waits for the workers to exit after `close()` (every submitted task
  /// done, every callback run) or `terminate()`. Throws `value_error` while
  /// the pool is running (Python's), `state_error` from a task of this pool.
  void join();

  /// The running worker processes, in slot order (for inspection, and to
  /// kill one in a test).
  [[nodiscard]] std::vector<process> workers() const;

  /// The pool's supervisor, a process (a child of the calling process).
  [[nodiscard]] process supervisor() const;

  /// Number of worker slots.
  [[nodiscard]] std::size_t processes() const noexcept;

  /// Whether the supervisor gave up (see `pool_broken`).
  [[nodiscard]] bool broken() const noexcept;

  /// Internal.
  [[nodiscard]] const std::shared_ptr<pooled::detail::pool_core>& core() const {
    return core_;
  }

private:
  /// An initializer as isolated workers run it: the entry point's name and
  /// its call, encoded; empty for other callables.
  struct entry_init {
    std::string entry;
    std::string calls;
  };

  pool(runtime& rt, entry_init init, pool_options opts);

  template <class F, class... Args>
  static entry_init entry_initializer(const F& init, const Args&... initargs) {
    if constexpr (pooled::detail::is_entry_call<F>) {
      using traits = pooled::detail::isolated_traits<F>;
      using entry = typename traits::entry_type;
      std::vector<typename entry::params> calls;
      calls.push_back(traits::params_of(initargs...));
      return {std::string{entry::name()}, entry::encode_calls(calls)};
    } else {
      static_cast<void>(init);
      ((static_cast<void>(initargs)), ...);
      return {};
    }
  }

  template <class F, class... Args>
  static pool_options with_initializer(pool_options opts, F&& init,
                                       Args... initargs) {
    opts.initializer = [init = std::decay_t<F>(std::forward<F>(init)),
                        args = std::make_tuple(std::move(initargs)...)] {
      std::apply(init, args);
    };
    return opts;
  }

  template <std::ranges::input_range Range>
  static auto to_vector(Range&& input) {
    using V = std::ranges::range_value_t<Range>;
    std::vector<V> out;
    if constexpr (std::ranges::sized_range<Range>)
      out.reserve(static_cast<std::size_t>(std::ranges::size(input)));
    for (auto&& x : input)
      out.emplace_back(std::forward<decltype(x)>(x));
    return out;
  }

  template <class R, class C, class E>
  void set_callbacks(pooled::detail::result_state<R>& st, callbacks<C, E> cbs) {
    using V = pooled::detail::stored_t<R>;
    unique_function_t<void(const V&)> on_value;
    unique_function_t<void(std::exception_ptr)> on_error;
    if constexpr (!std::is_same_v<C, std::nullptr_t>) {
      if constexpr (std::is_void_v<R>)
        on_value = [f = std::move(cbs.callback)](const V&) mutable { f(); };
      else
        on_value = [f = std::move(cbs.callback)](const V& v) mutable { f(v); };
    }
    if constexpr (!std::is_same_v<E, std::nullptr_t>)
      on_error
        = pooled::detail::wrap_error_callback(std::move(cbs.error_callback));
    if (!on_value && !on_error)
      return;
    st.set_callbacks(core_->callbacks(), callback_reporter(),
                     std::move(on_value), std::move(on_error));
  }

  template <class Sig>
  using unique_function_t = ext::unique_function<Sig>;

  [[nodiscard]] std::function<void(std::exception_ptr)>
  callback_reporter() const;

  [[nodiscard]] std::size_t chunksize_for(std::size_t n,
                                          std::size_t requested) const {
    return requested != 0 ? requested
                          : pooled::detail::default_chunksize(n, processes());
  }

  template <class R, class F, class V>
  auto make_map_job(const F& f, std::vector<V> owned, std::size_t chunksize,
                    progress_fn progress) {
    auto n = owned.size();
    using It = typename std::vector<V>::const_iterator;
    using job_t
      = pooled::detail::map_job<R, std::decay_t<F>, It, std::vector<V>>;
    auto size = chunksize_for(n, chunksize);
    auto chunks = n == 0 ? 0 : (n + size - 1) / size;
    auto job = std::make_shared<job_t>(f, std::move(owned), n, chunks,
                                       static_cast<bool>(progress));
    job->first = job->owned.cbegin();
    job->chunksize = size;
    return job;
  }

  template <class Job>
  void submit_map(const std::shared_ptr<Job>& job) {
    core_->check_running();
    auto n = job->n;
    if (n == 0) {
      job->set_value(std::vector<typename Job::result_type>{});
      return;
    }
    auto size = job->chunksize;
    auto chunks = (n + size - 1) / size;
    std::vector<pooled::detail::pool_task*> tasks;
    tasks.reserve(chunks);
    auto id = core_->next_ids(chunks);
    for (std::size_t c = 0; c < chunks; ++c) {
      auto b = c * size;
      auto e = std::min(n, b + size);
      auto* t = new pooled::detail::map_chunk<Job>(job, b, e, c, chunks);
      t->id = id++;
      tasks.push_back(t);
    }
    core_->submit(tasks);
  }

  template <class R, class F, class It, class Owned>
  std::vector<R> run_map(const F& f, It first, std::size_t n, Owned owned,
                         const map_options& opts) {
    using job_t = pooled::detail::map_job<R, std::decay_t<F>, It, Owned>;
    auto size = chunksize_for(n, opts.chunksize);
    auto chunks = n == 0 ? 0 : (n + size - 1) / size;
    auto job = std::make_shared<job_t>(f, std::move(owned), n, chunks,
                                       static_cast<bool>(opts.progress));
    job->first = first;
    job->chunksize = size;
    submit_map(job);
    try {
      return await_map(*job, n, opts);
    } catch (const terminated&) {
      // The calling process is asked to stop: the map fails, and its chunks
      // still inside run() (they read the caller's input) leave first.
      job->set_error(std::current_exception());
      job->wait_until_only([&] { return job->running.load() == 0; });
      throw;
    }
  }

  template <class Job>
  std::vector<typename Job::result_type> await_map(Job& j, std::size_t n,
                                                   const map_options& opts) {
    auto* job = &j;
    if (!opts.progress) {
      job->wait_until(ext::deadline::forever());
    } else {
      // A progress callback that throws fails the map like a task would.
      std::exception_ptr progress_error;
      auto report = [&](std::size_t done) {
        try {
          opts.progress(done, n);
        } catch (...) {
          progress_error = std::current_exception();
          job->set_error(progress_error);
        }
      };
      std::size_t reported = 0;
      std::function<bool()> moved
        = [&] { return job->done.load(std::memory_order_relaxed) != reported; };
      while (!job->ready()) {
        job->wait_until(ext::deadline::forever(), moved);
        auto done = job->done.load(std::memory_order_relaxed);
        if (done != reported) {
          reported = done;
          report(done);
        }
      }
      // A map that finished before the first wait still reports its end.
      if (job->succeeded() && reported != n)
        report(n);
      if (progress_error && job->succeeded())
        std::rethrow_exception(progress_error);
    }
    if (!job->succeeded()) {
      // Chunks still inside run() read the caller's input: let them leave.
      job->wait_until_only([&] { return job->running.load() == 0; });
      std::rethrow_exception(job->exception());
    }
    return std::move(job->value());
  }

  template <class F, class Range>
  auto make_imap(const F& f, Range&& input, imap_options opts, bool ordered) {
    using R = pooled::detail::map_result_t<F, Range>;
    static_assert(!std::is_void_v<R>,
                  "imap needs a function that returns a value");
    core_->check_isolated_callable(
      pooled::detail::is_entry_call<std::decay_t<F>>);
    if (opts.chunksize == 0)
      throw value_error("imap: chunksize must be at least 1");
    core_->check_running();
    auto window
      = opts.window != 0
          ? opts.window
          : std::max<std::size_t>(4 * processes() * opts.chunksize, 1024);
    auto ch = std::make_shared<pooled::detail::imap_channel<R>>();
    using fn_t = std::decay_t<F>;
    auto fn = std::make_shared<const fn_t>(f);
    using view_t = std::views::all_t<Range>;
    auto feeder
      = std::make_unique<pooled::detail::imap_feeder<R, fn_t, view_t>>(
        ch, fn, std::views::all(std::forward<Range>(input)), opts.chunksize);
    return imap_result<R>{
      core_,          std::move(ch), std::move(feeder),       ordered,
      opts.chunksize, window,        std::move(opts.progress)};
  }

  std::shared_ptr<pooled::detail::pool_core> core_;
};

} // namespace troupe
