#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <typeinfo>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/ext/deadline.hpp"
#include "troupe/ext/serial_executor.hpp"
#include "troupe/ext/unique_function.hpp"
#include "troupe/fwd.hpp"
#include "troupe/pool/error.hpp"
#include "troupe/restart_limit.hpp"

namespace troupe {
struct supervisor_event;
class process;
} // namespace troupe

namespace troupe::pooled::detail {

/// One step of a polite spin: a CPU pause, and every 64th step a yield, so
/// that on a busy 2-core machine a spinning thread lets the thread it waits
/// for run.
void pool_spin_pause(unsigned step) noexcept;

/// Whether a pool wait gives up with `terminated` when the calling process
/// is asked to stop. Only waits that protect memory still in use (chunks
/// reading a caller's input) are `uninterruptible`; they are short.
enum class stop_mode : bool { interruptible, uninterruptible };

/// The one way a pool call sleeps: waits on `cv` (with `mtx`, which the
/// caller does not hold) until `done()` holds, checked under `mtx`, or
/// `until` passed; returns whether `done()` held. Interruptible waits wake
/// when the calling process is asked to stop (`terminate()`, `kill()`, its
/// supervisor) and throw `terminated`, as every blocking troupe call does.
bool pool_wait(std::mutex& mtx, std::condition_variable& cv,
               ext::deadline until, const std::function<bool()>& done,
               stop_mode mode = stop_mode::interruptible);

/// Runs jobs posted from any thread in order, on a thread of its own (the
/// pool's callback thread and its maintenance thread).
class executor_thread {
public:
  explicit executor_thread(std::string name);
  ~executor_thread();

  executor_thread(const executor_thread&) = delete;
  executor_thread& operator=(const executor_thread&) = delete;

  /// Queues `job`; returns false (and drops it) once stopped.
  bool post(ext::unique_function<void()> job);

  /// Runs what is queued, then ends the thread. Idempotent; blocks (unless
  /// called from the executor's own thread, which it then only flags).
  void stop();

  [[nodiscard]] bool on_this_thread() const noexcept;

private:
  void loop();

  // Parks at once: a spinning callback thread would take CPU from the
  // workers that feed it.
  ext::serial_executor exec_{ext::serial_executor::wait_mode::park};
  std::atomic<bool> stopping_{false};
  /// Serializes the join: two threads stopping at once (two `pool.join()`
  /// calls) must not both join the thread.
  std::mutex join_mtx_;
  std::thread thread_;
  std::atomic<std::thread::id> id_{};
};

/// The outcome every async result shares: claimed once (the first outcome
/// wins, later ones are dropped), then published (ready) and waiters woken.
///
/// Thread-safety: claim/publish from any thread; waits from any thread.
class result_core {
public:
  result_core() = default;
  virtual ~result_core() = default;

  result_core(const result_core&) = delete;
  result_core& operator=(const result_core&) = delete;

  /// True for exactly one caller: the one that may set the outcome.
  bool claim() noexcept {
    return !claimed_.exchange(true, std::memory_order_acq_rel);
  }

  [[nodiscard]] bool claimed() const noexcept {
    return claimed_.load(std::memory_order_acquire);
  }

  [[nodiscard]] bool ready() const noexcept {
    return state_.load(std::memory_order_acquire) != 0;
  }

  [[nodiscard]] bool succeeded() const noexcept {
    return state_.load(std::memory_order_acquire) == 1;
  }

  /// The exception once ready and failed.
  [[nodiscard]] const std::exception_ptr& exception() const noexcept {
    return error_;
  }

  /// Waits until ready or `until` passed; returns whether ready. Spins for
  /// a few tens of microseconds first: a tiny task's result usually arrives
  /// sooner than a sleeping thread could be woken.
  bool wait_until(ext::deadline until);

  /// As `wait_until`, but also returns when `pred()` holds (checked after
  /// each `poke()`).
  bool wait_until(ext::deadline until, const std::function<bool()>& pred);

  /// Waits until `pred()` holds (checked after each `poke()`), ready or not.
  /// Does not wake on a stop request: it guards memory still in use.
  bool wait_until_only(const std::function<bool()>& pred);

  /// Marks the result ready (after the claimer stored its outcome) and wakes
  /// every waiter.
  void publish(bool ok) noexcept;

  /// Wakes waiters without publishing (progress reports).
  void poke() noexcept;

protected:
  std::exception_ptr error_;

private:
  bool wait_for(ext::deadline until, const std::function<bool()>& done,
                stop_mode mode);

  std::atomic<bool> claimed_{false};
  std::atomic<int> state_{0}; // 0 pending, 1 value, 2 exception
  std::atomic<int> waiters_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// A unit of work a worker takes: one `apply`, or one chunk of a map. Owned
/// by the pool (a queue, or the worker running it) until it is finished.
class pool_task {
public:
  virtual ~pool_task() = default;

  /// Runs on a worker and delivers the outcome. The task's own exceptions
  /// become its outcome; `terminated` and exceptions not derived from
  /// `std::exception` escape (the worker dies).
  virtual void run() = 0;

  /// Fails the outcome with `e` unless it already has one. May run while
  /// another thread is inside `run()`; never runs user code.
  virtual void fail(const std::exception_ptr& e) noexcept = 0;

  /// What it is, for error messages: "apply_async", "map chunk 2 of 8".
  [[nodiscard]] virtual std::string describe() const = 0;

  pool_task* next = nullptr; // intrusive queue link
  std::uint64_t id = 0;
  int deaths = 0; // runs that ended with their worker
};

/// Runs a worker's tasks in an OS process of its own
/// (`isolation::os_process`): one per worker incarnation, created and
/// destroyed by the worker's thread, which forwards each task to it.
class worker_host {
public:
  worker_host() = default;
  virtual ~worker_host() = default;

  worker_host(const worker_host&) = delete;
  worker_host& operator=(const worker_host&) = delete;

  /// Runs a batch of calls of entry point `entry` there (see
  /// `isolate::entry_t::encode_calls`) and returns the results' bytes.
  /// Throws `child_exception` when a call threw there, `os_worker_lost` when
  /// the OS process ended meanwhile (a crash, `kill`).
  virtual std::string call(std::string_view entry, std::string calls) = 0;
};

struct worker_record;

/// What a worker host is made from.
struct worker_host_args {
  runtime& rt;
  worker_record& rec;
  std::string initializer_entry;   // empty: none
  std::string initializer_calls;   // its one call, encoded
  std::chrono::milliseconds grace; // between SIGTERM and SIGKILL
};

using worker_host_factory
  = std::unique_ptr<worker_host> (*)(const worker_host_args& args);

/// The host of the worker the calling thread runs; null on a thread
/// worker and off workers.
[[nodiscard]] worker_host* current_worker_host() noexcept;

/// One incarnation of a worker, from its start to its thread's end.
struct worker_record {
  std::size_t slot = 0;
  std::string name;
  pid_type pid = 0;

  std::mutex mtx;
  pool_task* inflight = nullptr; // (mtx) taken, not finished
  bool in_task = false;          // (mtx) its thread is inside inflight->run()
  bool dead = false;             // (mtx) its process ended
  bool started = false;          // (mtx) its initializer ran (or never will)
  int exitcode = 0;              // (mtx) once dead
  std::string reason;            // (mtx) once dead
  /// Why its OS process ended (isolated workers), when that ended it: the
  /// worker's reason then.
  std::string host_end; // (mtx)
};

enum class pool_phase : int {
  running,     // takes submissions
  closed,      // close(): finishes what was submitted
  terminating, // terminate(): everything pending is cancelled
  broken,      // the supervisor gave up: everything pending failed
};

/// An imap that may still submit input lazily (see `imap_feed`).
class imap_drain {
public:
  virtual ~imap_drain() = default;
  /// Submits everything left of the input.
  virtual void drain() = 0;
};

/// Settings the core needs (resolved from `pool_options`).
struct pool_settings {
  std::string name;
  std::size_t processes = 1;
  std::size_t maxtasksperchild = 0;
  int max_retries = 0;
  std::function<void()> initializer;
  std::function<void(std::exception_ptr)> on_callback_error;
  /// Set for `isolation::os_process`: each worker runs its tasks through a
  /// host made by this.
  worker_host_factory make_host = nullptr;
  /// The initializer of isolated workers: an entry point and its call.
  std::string initializer_entry;
  std::string initializer_calls;
  std::chrono::milliseconds shutdown{1000};
};

/// The shared in-process structure behind a pool: per-worker task queues
/// with stealing (no lock shared by all workers on the hot path), counters,
/// parking for idle workers, worker records, and the callback thread.
///
/// Lock order: a worker record's `mtx`, then a slot's `mtx`; `park_mtx_`
/// and `idle_mtx_` are leaves.
class pool_core : public std::enable_shared_from_this<pool_core> {
public:
  explicit pool_core(pool_settings s);
  ~pool_core();

  pool_core(const pool_core&) = delete;
  pool_core& operator=(const pool_core&) = delete;

  [[nodiscard]] const pool_settings& settings() const noexcept {
    return settings_;
  }

  /// Whether the workers run their tasks in OS processes of their own.
  [[nodiscard]] bool isolated() const noexcept {
    return settings_.make_host != nullptr;
  }

  /// Throws `value_error` when this pool cannot run `what` (a lambda or
  /// function object given to a pool whose workers are OS processes).
  void check_isolated_callable(bool is_entry) const;

  [[nodiscard]] pool_phase phase() const noexcept {
    return static_cast<pool_phase>(phase_.load());
  }

  /// Numbers for `n` new tasks (the first is returned).
  std::uint64_t next_ids(std::size_t n) noexcept {
    return next_id_.fetch_add(n, std::memory_order_relaxed);
  }

  /// Hands tasks to the workers, spread over their queues. Takes ownership:
  /// on failure (the pool is not running) the tasks are deleted and it
  /// throws `value_error("pool not running")` or `pool_broken`. `resumed`
  /// allows submissions after close() (an imap that reads its input
  /// lazily).
  void submit(std::vector<pool_task*>& tasks, bool resumed = false);
  void submit(pool_task* task, bool resumed = false);

  /// Throws as `submit` would, without submitting anything.
  void check_running(bool resumed = false) const;

  /// Open imaps, drained by join() after close().
  void register_feed(imap_drain* feed);
  void unregister_feed(imap_drain* feed);

  /// The callback thread (callbacks never run on workers).
  [[nodiscard]] const std::shared_ptr<executor_thread>& callbacks() const {
    return callbacks_;
  }

  /// Reports an exception thrown by a user callback.
  void report_callback_error(std::exception_ptr e) const noexcept;

  // -- lifecycle (called by troupe::pool) -------------------------------------

  /// Workers and the supervisor; see workers.cpp.
  void start(runtime& rt, std::function<void(const supervisor_event&)> on_event,
             restart_limit restarts, std::chrono::milliseconds shutdown);

  void close();

  /// Cancels everything pending and stops the workers; blocks until they
  /// ended. Idempotent.
  void terminate();

  /// Waits for outstanding tasks (after close), stops the workers and the
  /// callback thread. Throws `value_error` while running.
  void join();

  [[nodiscard]] std::vector<process> workers() const;

  [[nodiscard]] process supervisor_process() const;

  /// Whether the calling thread is one of this pool's workers.
  [[nodiscard]] bool on_worker_thread() const noexcept;

  /// Marks the pool broken and fails everything pending with `pool_broken`.
  void mark_broken(const std::string& why);

  // -- worker side ------------------------------------------------------------

  /// A worker's body (the supervised process's target).
  void run_worker(std::shared_ptr<worker_record> rec);

  /// Starts a worker process for `slot`, its end already watched.
  process spawn_worker(runtime& rt, const std::string& name, std::size_t slot);

private:
  struct slot_queue;
  struct fleet;

  pool_task* pop(std::size_t slot) noexcept;
  pool_task* steal(std::size_t slot) noexcept;
  pool_task* next_task(std::size_t slot);
  void push_front(std::size_t slot, pool_task* t);
  void wake_workers(std::size_t n) noexcept;
  /// Wakes join() and parked workers (something they wait for changed).
  void wake_idle() noexcept;
  bool should_exit() const noexcept;

  /// A task left the pool (done or failed for good).
  void finish(pool_task* t) noexcept;

  /// Decides the fate of a task whose worker died (called once the thread
  /// that ran it has left it): retry, or fail with worker_lost.
  void handoff(pool_task* t, const std::string& worker, pid_type pid,
               std::size_t slot, const std::string& reason);

  void on_worker_exit(const std::shared_ptr<worker_record>& rec, int code,
                      const std::string& reason);

  /// Starts a worker again in `slot`, whose worker `ended` ended (on the
  /// maintenance thread).
  void request_restart(std::size_t slot, pid_type ended);

  void forget(const std::shared_ptr<worker_record>& rec);

  /// Stops the workers and waits for them; idempotent, and a second
  /// caller waits for the first. `let_start`: workers already being started
  /// run their initializer first (close() then join()).
  void stop_fleet(bool let_start);

  /// A worker got past its initializer, or will never run it (counted
  /// once per worker).
  void worker_started(worker_record& rec) noexcept;

  /// Fails and deletes every queued task.
  void drain_queues(const std::exception_ptr& e);

  /// Fails every queued task, and the outcome of every task a worker holds.
  void fail_pending(const std::exception_ptr& e);

  [[nodiscard]] std::exception_ptr stop_error() const;

  pool_settings settings_;
  std::vector<std::unique_ptr<slot_queue>> slots_;

  alignas(64) std::atomic<std::size_t> queued_{0};
  alignas(64) std::atomic<std::size_t> outstanding_{0};
  alignas(64) std::atomic<std::size_t> round_robin_{0};
  alignas(64) std::atomic<std::uint64_t> next_id_{1};
  alignas(64) std::atomic<int> phase_{0};
  std::atomic<int> parked_{0};
  std::atomic<bool> joining_{false};
  /// Workers spawned that have not finished their initializer yet: join()
  /// after close() lets them, as Python runs the initializer in every
  /// worker it starts.
  std::atomic<std::size_t> starting_{0};

  std::mutex park_mtx_;
  std::condition_variable park_cv_;
  std::mutex idle_mtx_;
  std::condition_variable idle_cv_;

  std::mutex feeds_mtx_;
  std::vector<imap_drain*> feeds_; // (feeds_mtx_)

  mutable std::mutex records_mtx_;
  std::vector<std::shared_ptr<worker_record>> records_;
  std::string broken_reason_; // (records_mtx_)

  std::shared_ptr<executor_thread> callbacks_;
  std::unique_ptr<fleet> fleet_;
};

/// The pool's worker entry point. Weak, so that the supervisor's child
/// specs do not keep the core alive.
void pool_worker_main(std::weak_ptr<pool_core> core,
                      std::shared_ptr<worker_record> rec);

} // namespace troupe::pooled::detail
