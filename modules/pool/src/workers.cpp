// The pool's workers: a worker's body, its end and the fate of the task it
// held, and the fleet of workers as a supervisor's children.

#include <any>
#include <chrono>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "troupe/child_spec.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/exit_hook.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/ext/wait.hpp"
#include "troupe/pool/detail/pool_core.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"
#include "troupe/supervisor.hpp"
#include "troupe/this_process.hpp"

#include "fleet.hpp"

namespace troupe::pooled::detail {

namespace {

/// The pool whose worker the calling thread runs, if any.
thread_local const pool_core* tl_worker_of = nullptr;

/// The OS process running the calling worker's tasks, if it has one.
thread_local worker_host* tl_host = nullptr;

std::string worker_id(std::size_t slot) {
  return "PoolWorker-" + std::to_string(slot + 1);
}

} // namespace

// -- workers ------------------------------------------------------------------

worker_host* current_worker_host() noexcept {
  return tl_host;
}

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
  // An isolated worker's OS process: started here, ended with this thread
  // (after the tasks' unwinding, before the record is forgotten).
  std::unique_ptr<worker_host> host;
  struct unhost {
    ~unhost() {
      tl_host = nullptr;
    }
  } clear_host;
  {
    // Counted however the initializer ends (an exception fails the worker).
    struct started_guard {
      pool_core* core;
      worker_record& rec;
      ~started_guard() {
        core->worker_started(rec);
      }
    } started{this, *rec};
    if (settings_.make_host != nullptr) {
      // Runs the initializer there (an entry point) before returning.
      host = settings_.make_host(
        worker_host_args{.rt = *fleet_->rt,
                         .rec = *rec,
                         .initializer_entry = settings_.initializer_entry,
                         .initializer_calls = settings_.initializer_calls,
                         .grace = settings_.shutdown});
      tl_host = host.get();
    } else if (settings_.initializer) {
      settings_.initializer();
    }
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
    if (!rec->host_end.empty())
      why = rec->host_end; // its OS process ended under it
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
                      restart_limit restarts,
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
  so.restarts = restarts;
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
      idle_mtx_, idle_cv_, ext::deadline::forever(),
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
