#include "troupe/pool/pool.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include "troupe/child_spec.hpp"
#include "troupe/ext/exit_hook.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/ext/wait.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"
#include "troupe/supervisor.hpp"
#include "troupe/this_process.hpp"

namespace troupe::pooled::detail {

namespace {

/// The pool whose worker the calling thread runs, if any.
thread_local const pool_core* tl_worker_of = nullptr;

std::atomic<std::uint64_t> pool_counter{0};

std::string worker_id(std::size_t slot) {
  return "PoolWorker-" + std::to_string(slot + 1);
}

} // namespace

// -- slots --------------------------------------------------------------------

struct pool_core::slot_queue {
  alignas(64) std::mutex mtx;
  pool_task* head = nullptr; // (mtx)
  pool_task* tail = nullptr; // (mtx)
  std::atomic<std::size_t> size{0};
};

// -- the fleet: workers as supervised children --------------------------------

struct pool_core::fleet {
  explicit fleet(runtime& r) : rt(&r) {}

  runtime* rt;
  /// Replaces workers the supervisor does not restart (see on_worker_exit).
  serial_executor maintenance{"pool-maintenance"};
  std::atomic<bool> stopping{false};
  /// Held by the thread that stops the fleet, so that a second one (two
  /// joins, a join and the destructor) returns only once the workers ended.
  std::mutex stop_mtx;
  bool stopped = false;                  // (stop_mtx)
  std::optional<troupe::supervisor> sup; // set once in start()
};

// -- pool_core ----------------------------------------------------------------

pool_core::pool_core(pool_settings s)
  : settings_(std::move(s)),
    callbacks_(std::make_shared<serial_executor>("pool-callbacks")) {
  slots_.reserve(settings_.processes);
  for (std::size_t i = 0; i < settings_.processes; ++i)
    slots_.push_back(std::make_unique<slot_queue>());
}

pool_core::~pool_core() {
  fleet_.reset();
  callbacks_->stop();
  // Tasks nobody ran (the pool was never joined): drop them.
  for (auto& q : slots_) {
    auto* t = q->head;
    while (t != nullptr)
      delete std::exchange(t, t->next);
  }
}

void pool_core::report_callback_error(std::exception_ptr e) const noexcept {
  if (settings_.on_callback_error) {
    try {
      settings_.on_callback_error(e);
      return;
    } catch (...) {
      e = std::current_exception();
    }
  }
  std::cerr << "troupe: a callback of pool '" << settings_.name
            << "' threw: " << describe_exception(e) << '\n';
}

// -- submission ---------------------------------------------------------------

void pool_core::check_running(bool resumed) const {
  switch (phase()) {
    case pool_phase::running:
      return;
    case pool_phase::closed:
      if (resumed && !joining_.load())
        return;
      break;
    case pool_phase::broken: {
      std::lock_guard guard{records_mtx_};
      throw pool_broken("pool '" + settings_.name
                        + "' is broken: " + broken_reason_);
    }
    case pool_phase::terminating:
      break;
  }
  throw value_error("pool not running");
}

void pool_core::register_feed(imap_drain* feed) {
  std::lock_guard guard{feeds_mtx_};
  feeds_.push_back(feed);
}

void pool_core::unregister_feed(imap_drain* feed) {
  std::lock_guard guard{feeds_mtx_};
  std::erase(feeds_, feed);
}

void pool_core::submit(pool_task* task, bool resumed) {
  std::vector<pool_task*> one{task};
  submit(one, resumed);
}

void pool_core::submit(std::vector<pool_task*>& tasks, bool resumed) {
  auto n = tasks.size();
  if (n == 0)
    return;
  // Counted before the check, so that a join() that saw no outstanding
  // task cannot miss one that passed the check.
  outstanding_.fetch_add(n, std::memory_order_seq_cst);
  try {
    check_running(resumed);
  } catch (...) {
    for (auto* t : tasks)
      delete t;
    tasks.clear();
    if (outstanding_.fetch_sub(n, std::memory_order_seq_cst) == n)
      wake_idle();
    throw;
  }
  auto slots = slots_.size();
  auto start = round_robin_.fetch_add(n, std::memory_order_relaxed);
  // Contiguous groups, one lock per slot.
  auto per = (n + slots - 1) / slots;
  for (std::size_t g = 0; g * per < n; ++g) {
    auto& q = *slots_[(start + g) % slots];
    auto b = g * per;
    auto e = std::min(n, b + per);
    for (auto i = b; i + 1 < e; ++i)
      tasks[i]->next = tasks[i + 1];
    tasks[e - 1]->next = nullptr;
    std::lock_guard guard{q.mtx};
    if (q.tail != nullptr)
      q.tail->next = tasks[b];
    else
      q.head = tasks[b];
    q.tail = tasks[e - 1];
    q.size.fetch_add(e - b, std::memory_order_relaxed);
  }
  tasks.clear();
  queued_.fetch_add(n, std::memory_order_seq_cst);
  wake_workers(n);
  // A terminate() that drained the queues before these tasks arrived.
  if (auto p = phase(); p == pool_phase::terminating || p == pool_phase::broken)
    drain_queues(stop_error());
}

void pool_core::wake_workers(std::size_t n) noexcept {
  if (parked_.load(std::memory_order_seq_cst) == 0)
    return;
  { std::lock_guard guard{park_mtx_}; }
  if (n > 1)
    park_cv_.notify_all();
  else
    park_cv_.notify_one();
}

void pool_core::wake_idle() noexcept {
  { std::lock_guard guard{idle_mtx_}; }
  idle_cv_.notify_all();
  { std::lock_guard guard{park_mtx_}; }
  park_cv_.notify_all();
}

// -- taking -------------------------------------------------------------------

pool_task* pool_core::pop(std::size_t slot) noexcept {
  auto& q = *slots_[slot];
  if (q.size.load(std::memory_order_relaxed) == 0)
    return nullptr;
  pool_task* t = nullptr;
  {
    std::lock_guard guard{q.mtx};
    t = q.head;
    if (t == nullptr)
      return nullptr;
    q.head = t->next;
    if (q.head == nullptr)
      q.tail = nullptr;
    q.size.fetch_sub(1, std::memory_order_relaxed);
  }
  t->next = nullptr;
  queued_.fetch_sub(1, std::memory_order_relaxed);
  return t;
}

pool_task* pool_core::steal(std::size_t slot) noexcept {
  auto n = slots_.size();
  for (std::size_t k = 1; k < n; ++k)
    if (auto* t = pop((slot + k) % n))
      return t;
  return nullptr;
}

void pool_core::push_front(std::size_t slot, pool_task* t) {
  auto& q = *slots_[slot % slots_.size()];
  {
    std::lock_guard guard{q.mtx};
    t->next = q.head;
    q.head = t;
    if (q.tail == nullptr)
      q.tail = t;
    q.size.fetch_add(1, std::memory_order_relaxed);
  }
  queued_.fetch_add(1, std::memory_order_seq_cst);
  wake_workers(1);
  if (auto p = phase(); p == pool_phase::terminating || p == pool_phase::broken)
    drain_queues(stop_error());
}

bool pool_core::should_exit() const noexcept {
  // After close(), workers stay until join() stops them: an imap that reads
  // its input lazily may still submit its rest.
  auto p = phase();
  return p == pool_phase::terminating || p == pool_phase::broken;
}

pool_task* pool_core::next_task(std::size_t slot) {
  for (;;) {
    if (auto* t = pop(slot))
      return t;
    if (auto* t = steal(slot))
      return t;
    if (should_exit())
      return nullptr;
    this_process::checkpoint();
    // Spin a little: in a stream of tiny tasks the next one is usually
    // submitted within microseconds, far sooner than a parked thread wakes.
    auto spin_end
      = std::chrono::steady_clock::now() + std::chrono::microseconds{50};
    bool found = false;
    for (unsigned i = 1;; ++i) {
      if (queued_.load(std::memory_order_relaxed) != 0 || should_exit()) {
        found = true;
        break;
      }
      if ((i & 63U) == 0 && std::chrono::steady_clock::now() >= spin_end)
        break;
      pool_spin_pause(i);
    }
    if (found)
      continue;
    {
      std::unique_lock lk{park_mtx_};
      parked_.fetch_add(1, std::memory_order_seq_cst);
      while (queued_.load(std::memory_order_seq_cst) == 0 && !should_exit()
             && !ext::stop_requested())
        park_cv_.wait(lk);
      parked_.fetch_sub(1, std::memory_order_seq_cst);
    }
    this_process::checkpoint();
  }
}

void pool_core::finish(pool_task* t) noexcept {
  delete t;
  if (outstanding_.fetch_sub(1, std::memory_order_seq_cst) == 1
      && phase() != pool_phase::running)
    wake_idle();
}

// -- failures -----------------------------------------------------------------

std::exception_ptr pool_core::stop_error() const {
  if (phase() == pool_phase::broken) {
    std::lock_guard guard{records_mtx_};
    return std::make_exception_ptr(pool_broken(
      "pool '" + settings_.name + "' is broken: " + broken_reason_));
  }
  return std::make_exception_ptr(cancelled(
    "pool '" + settings_.name + "' was terminated before the task finished"));
}

void pool_core::handoff(pool_task* t, const std::string& worker, pid_type pid,
                        std::size_t slot, const std::string& reason) {
  auto p = phase();
  if (p == pool_phase::terminating || p == pool_phase::broken) {
    t->fail(stop_error());
    finish(t);
    return;
  }
  ++t->deaths;
  if (t->deaths <= settings_.max_retries) {
    push_front(slot, t);
    return;
  }
  auto msg = "task " + std::to_string(t->id) + " (" + t->describe()
             + ") was lost: its worker '" + worker + "' (pid "
             + std::to_string(pid) + ") ended: " + reason;
  if (settings_.max_retries == 0)
    msg += "; not retried (max_retries is 0)";
  else
    msg += "; it was run " + std::to_string(t->deaths) + " times";
  t->fail(
    std::make_exception_ptr(worker_lost(msg, t->id, worker, pid, reason)));
  finish(t);
}

void pool_core::drain_queues(const std::exception_ptr& e) {
  for (auto& q : slots_) {
    pool_task* list = nullptr;
    {
      std::lock_guard guard{q->mtx};
      list = std::exchange(q->head, nullptr);
      q->tail = nullptr;
      q->size.store(0, std::memory_order_relaxed);
    }
    while (list != nullptr) {
      auto* t = std::exchange(list, list->next);
      queued_.fetch_sub(1, std::memory_order_relaxed);
      t->fail(e);
      finish(t);
    }
  }
}

void pool_core::fail_pending(const std::exception_ptr& e) {
  drain_queues(e);
  std::lock_guard guard{records_mtx_};
  for (auto& rec : records_) {
    std::lock_guard rec_guard{rec->mtx};
    if (rec->inflight != nullptr)
      rec->inflight->fail(e);
  }
}

void pool_core::mark_broken(const std::string& why) {
  auto p = phase_.load();
  do {
    if (p != static_cast<int>(pool_phase::running)
        && p != static_cast<int>(pool_phase::closed))
      return;
  } while (
    !phase_.compare_exchange_weak(p, static_cast<int>(pool_phase::broken)));
  {
    std::lock_guard guard{records_mtx_};
    broken_reason_ = why;
  }
  fail_pending(stop_error());
  wake_idle();
}

// -- workers ------------------------------------------------------------------

void pool_worker_main(std::weak_ptr<pool_core> weak,
                      std::shared_ptr<worker_record> rec) {
  auto core = weak.lock();
  if (!core)
    return; // the pool is gone
  core->run_worker(std::move(rec));
}

process pool_core::spawn_worker(runtime& rt, const std::string& name,
                                std::size_t slot) {
  auto rec = std::make_shared<worker_record>();
  rec->slot = slot;
  rec->name = name;
  std::weak_ptr<pool_core> weak = weak_from_this();
  process p{rt, {.name = name}, pool_worker_main, weak, rec};
  // Registered before start, so that no end is missed: a worker killed
  // before its thread ran a single line still has its end handled.
  ext::on_exit(p, [weak, rec](const ext::exit_info& info) {
    if (auto core = weak.lock())
      core->on_worker_exit(rec, info.exitcode, std::string{info.reason});
  });
  {
    std::lock_guard guard{records_mtx_};
    records_.push_back(rec);
  }
  starting_.fetch_add(1, std::memory_order_seq_cst);
  try {
    p.start();
  } catch (...) {
    worker_started(*rec);
    forget(rec);
    throw;
  }
  std::lock_guard guard{rec->mtx};
  rec->pid = p.pid();
  return p;
}

void pool_core::worker_started(worker_record& rec) noexcept {
  {
    std::lock_guard guard{rec.mtx};
    if (std::exchange(rec.started, true))
      return;
  }
  if (starting_.fetch_sub(1, std::memory_order_seq_cst) == 1)
    wake_idle();
}

void pool_core::forget(const std::shared_ptr<worker_record>& rec) {
  std::lock_guard guard{records_mtx_};
  std::erase(records_, rec);
}

void pool_core::run_worker(std::shared_ptr<worker_record> rec) {
  auto slot = rec->slot;
  {
    auto pid = current_process().pid();
    std::lock_guard guard{rec->mtx};
    rec->pid = pid;
  }
  struct leave {
    pool_core* core;
    std::shared_ptr<worker_record>& rec;
    ~leave() {
      tl_worker_of = nullptr;
      core->forget(rec);
    }
  } unregister{this, rec};
  tl_worker_of = this;
  {
    // Counted however the initializer ends (an exception fails the worker).
    struct started_guard {
      pool_core* core;
      worker_record& rec;
      ~started_guard() {
        core->worker_started(rec);
      }
    } started{this, *rec};
    if (settings_.initializer)
      settings_.initializer();
  }
  ext::stop_callback wake{[this] {
    { std::lock_guard guard{park_mtx_}; }
    park_cv_.notify_all();
  }};
  std::size_t done = 0;
  for (;;) {
    auto* t = next_task(slot);
    if (t == nullptr)
      return; // closed and nothing left, or the pool stops
    {
      std::lock_guard guard{rec->mtx};
      if (rec->dead) {
        // Declared dead between taking the task and starting it: the task
        // never ran, so it goes back as it was.
        push_front(slot, t);
        return;
      }
      rec->inflight = t;
      rec->in_task = true;
    }
    try {
      t->run();
    } catch (...) {
      // The worker dies with the task unfinished. If it was already
      // declared dead (kill), its exit hook has run and left the task to
      // this thread; otherwise the hook hands it off with the exit reason.
      pool_task* mine = nullptr;
      std::string reason;
      pid_type pid = 0;
      {
        std::lock_guard guard{rec->mtx};
        rec->in_task = false;
        if (rec->dead) {
          mine = std::exchange(rec->inflight, nullptr);
          reason = rec->reason;
          pid = rec->pid;
        }
      }
      if (mine != nullptr)
        handoff(mine, rec->name, pid, slot, reason);
      throw;
    }
    bool dead = false;
    {
      std::lock_guard guard{rec->mtx};
      rec->in_task = false;
      rec->inflight = nullptr;
      dead = rec->dead;
    }
    finish(t);
    if (dead)
      return; // killed while the task ran: it finished anyway, but stop
    if (settings_.maxtasksperchild != 0 && ++done >= settings_.maxtasksperchild)
      return; // the pool starts a fresh worker in this slot
  }
}

bool pool_core::on_worker_thread() const noexcept {
  return tl_worker_of == this;
}

void pool_core::on_worker_exit(const std::shared_ptr<worker_record>& rec,
                               int code, const std::string& reason) {
  pool_task* orphan = nullptr;
  bool holds = false;
  pid_type pid = 0;
  std::string why
    = reason.empty() ? "exit code " + std::to_string(code) : reason;
  {
    std::lock_guard guard{rec->mtx};
    rec->dead = true;
    rec->exitcode = code;
    rec->reason = why;
    pid = rec->pid;
    if (!rec->in_task)
      orphan = std::exchange(rec->inflight, nullptr);
    holds = rec->in_task;
  }
  // A worker stopped before its thread ran never runs its initializer.
  worker_started(*rec);
  if (orphan != nullptr)
    handoff(orphan, rec->name, pid, rec->slot, why);
  // A dead worker takes no new task; unless its thread is still inside one
  // (which it then hands off itself), it is done with the pool.
  if (!holds)
    forget(rec);
  // The supervisor restarts workers that failed (their restart type is
  // transient). Those that ended normally (maxtasksperchild, an exit(0) in
  // a task) or were terminated one by one (exit code -15, or -9 when they
  // had to be killed after their grace) are stopped for it; the pool
  // replaces them to keep its size. Which case it is shows in the
  // supervisor's state of the slot, not in the exit code, so every end is
  // looked at (request_restart only acts on a slot left stopped).
  auto p = phase();
  auto needed = p == pool_phase::running || p == pool_phase::closed;
  if (needed && fleet_ && !fleet_->stopping.load())
    request_restart(rec->slot, pid);
}

// -- the fleet ----------------------------------------------------------------

void pool_core::start(runtime& rt,
                      std::function<void(const supervisor_event&)> on_event,
                      int intensity, std::chrono::milliseconds period,
                      std::chrono::milliseconds shutdown) {
  fleet_ = std::make_unique<fleet>(rt);
  std::weak_ptr<pool_core> weak = weak_from_this();
  std::vector<child_spec> specs;
  specs.reserve(slots_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i)
    specs.push_back(child_spec{
      .id = worker_id(i),
      .start = child_start{[weak, i](runtime& r, const std::string& name,
                                     const std::any*) -> process {
                             auto core = weak.lock();
                             if (!core)
                               throw state_error("the pool is gone");
                             return core->spawn_worker(r, name, i);
                           },
                           child_type::worker},
      .restart = restart::transient,
      .shutdown = shutdown_spec{shutdown},
      .type = std::nullopt});
  supervisor_options so;
  so.name = settings_.name;
  so.strategy = strategy::one_for_one;
  so.intensity = intensity;
  so.period = period;
  so.on_event = [weak, user = std::move(on_event)](const supervisor_event& ev) {
    using kind = supervisor_event::kind;
    if (ev.what == kind::intensity_exceeded)
      if (auto core = weak.lock())
        core->mark_broken(ev.reason);
    if (user) {
      user(ev);
    } else if (ev.what == kind::intensity_exceeded
               || ev.what == kind::start_failed) {
      std::cerr << "troupe: " << ev << '\n';
    }
  };
  fleet_->sup.emplace(rt, std::move(so), std::move(specs));
  ext::on_exit(*fleet_->sup, [weak](const ext::exit_info& info) {
    auto core = weak.lock();
    if (core && !core->fleet_->stopping.load())
      core->mark_broken("its supervisor ended: "
                        + (info.reason.empty()
                             ? "exit code " + std::to_string(info.exitcode)
                             : std::string{info.reason}));
  });
}

void pool_core::request_restart(std::size_t slot, pid_type ended) {
  // Jobs use `this`: the core's destructor stops the maintenance thread
  // (which finishes its jobs) before anything else goes.
  fleet_->maintenance.post([this, slot, ended] {
    auto needed = [this] {
      auto p = phase();
      return !fleet_->stopping.load()
             && (p == pool_phase::running || p == pool_phase::closed);
    };
    auto id = worker_id(slot);
    // The supervisor may not have seen the end yet (its exit hook and ours
    // race); restart the child once it reports it stopped. Asking before
    // would only get a `running` error back.
    for (int attempt = 0; attempt < 5000 && needed(); ++attempt) {
      auto state = child_state::restarting;
      for (auto& c : fleet_->sup->which_children()) {
        if (c.id != id)
          continue;
        state = c.state;
        if (c.handle && c.handle->pid() != ended)
          return; // someone started it again already
      }
      if (state == child_state::stopped) {
        try {
          fleet_->sup->restart_child(id);
        } catch (const std::exception& e) {
          if (needed())
            mark_broken("could not restart " + id + ": " + e.what());
        }
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
  });
}

void pool_core::stop_fleet(bool let_start) {
  if (!fleet_)
    return;
  std::lock_guard guard{fleet_->stop_mtx};
  if (fleet_->stopped)
    return;
  fleet_->stopping.store(true);
  if (let_start) {
    // No replacement starts from now on; one being started finishes its
    // start, and every started worker gets through its initializer before
    // it is asked to stop (Python runs it in every worker it starts).
    fleet_->maintenance.stop();
    pool_wait(
      idle_mtx_, idle_cv_, std::nullopt,
      [this] { return starting_.load() == 0 || phase() != pool_phase::closed; },
      stop_mode::uninterruptible);
  }
  fleet_->sup->terminate();
  // Not join(): this wait must finish even when the calling process is
  // asked to stop (it runs in ~pool while a terminated process unwinds),
  // and it is bounded by the workers' shutdown grace.
  ext::await_end(*fleet_->sup);
  fleet_->maintenance.stop();
  fleet_->stopped = true;
}

// -- lifecycle ----------------------------------------------------------------

void pool_core::close() {
  auto running = static_cast<int>(pool_phase::running);
  if (phase_.compare_exchange_strong(running,
                                     static_cast<int>(pool_phase::closed)))
    wake_idle();
}

void pool_core::terminate() {
  if (on_worker_thread())
    throw state_error("a task cannot terminate its own pool ('" + settings_.name
                      + "')");
  auto p = phase_.load();
  while ((p == static_cast<int>(pool_phase::running)
          || p == static_cast<int>(pool_phase::closed))
         && !phase_.compare_exchange_weak(
           p, static_cast<int>(pool_phase::terminating))) {
  }
  fail_pending(stop_error());
  wake_idle();
  stop_fleet(false);
  // Tasks handed back by workers that stopped meanwhile.
  drain_queues(stop_error());
}

void pool_core::join() {
  if (on_worker_thread())
    throw state_error("a task cannot join its own pool ('" + settings_.name
                      + "')");
  if (phase() == pool_phase::running)
    throw value_error("join(): pool '" + settings_.name
                      + "' is still running; call close() or terminate() "
                        "first");
  if (phase() == pool_phase::closed) {
    {
      // Open imaps submit the rest of their input now, as Python's imap
      // (which reads it all at once) would have before close().
      std::lock_guard guard{feeds_mtx_};
      for (auto* feed : feeds_)
        feed->drain();
    }
    joining_.store(true, std::memory_order_seq_cst);
    // Every started worker also gets through its initializer first.
    // Wakes with `terminated` when the joining process is asked to stop;
    // the pool stays intact (its destructor or a later join stops it).
    pool_wait(idle_mtx_, idle_cv_, std::nullopt, [this] {
      return (outstanding_.load(std::memory_order_seq_cst) == 0
              && starting_.load(std::memory_order_seq_cst) == 0)
             || phase() != pool_phase::closed;
    });
  }
  stop_fleet(phase() == pool_phase::closed);
  if (phase() != pool_phase::closed)
    drain_queues(stop_error());
  callbacks_->stop();
}

std::vector<process> pool_core::workers() const {
  std::vector<process> out;
  if (!fleet_)
    return out;
  for (auto& c : fleet_->sup->which_children())
    if (c.handle && c.handle->is_alive())
      out.push_back(*c.handle);
  return out;
}

process pool_core::supervisor_process() const {
  return *fleet_->sup;
}

} // namespace troupe::pooled::detail

// -- troupe::pool -------------------------------------------------------------

namespace troupe {

pool::pool(runtime& rt, pool_options opts) {
  if (opts.max_retries < 0)
    throw value_error("pool: max_retries must not be negative");
  if (opts.intensity && *opts.intensity < 0)
    throw value_error("pool: intensity must not be negative");
  if (opts.period.count() <= 0)
    throw value_error("pool: period must be positive");
  if (opts.shutdown.count() < 0)
    throw value_error("pool: shutdown must not be negative");
  pooled::detail::pool_settings s;
  s.name = opts.name.empty()
             ? "Pool-" + std::to_string(++pooled::detail::pool_counter)
             : std::move(opts.name);
  s.processes = opts.processes != 0
                  ? opts.processes
                  : std::max(1U, std::thread::hardware_concurrency());
  s.maxtasksperchild = opts.maxtasksperchild;
  s.max_retries = opts.max_retries;
  s.initializer = std::move(opts.initializer);
  s.on_callback_error = std::move(opts.on_callback_error);
  auto n = static_cast<int>(s.processes);
  core_ = std::make_shared<pooled::detail::pool_core>(std::move(s));
  core_->start(rt, std::move(opts.on_event), opts.intensity.value_or(2 * n + 1),
               opts.period, opts.shutdown);
}

pool::~pool() {
  try {
    core_->terminate();
    core_->join();
  } catch (const std::exception& e) {
    std::cerr << "troupe: ~pool: " << e.what() << '\n';
  }
}

void pool::close() {
  core_->close();
}

void pool::terminate() {
  core_->terminate();
}

void pool::join() {
  core_->join();
}

std::vector<process> pool::workers() const {
  return core_->workers();
}

process pool::supervisor() const {
  return core_->supervisor_process();
}

std::size_t pool::processes() const noexcept {
  return core_->settings().processes;
}

bool pool::broken() const noexcept {
  return core_->phase() == pooled::detail::pool_phase::broken;
}

std::function<void(std::exception_ptr)> pool::callback_reporter() const {
  return [weak = std::weak_ptr<pooled::detail::pool_core>{core_}](
           std::exception_ptr e) {
    if (auto core = weak.lock())
      core->report_callback_error(std::move(e));
    else
      std::cerr << "troupe: a pool callback threw: "
                << pooled::detail::describe_exception(e) << '\n';
  };
}

} // namespace troupe
