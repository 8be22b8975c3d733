// The blocking CAF actor behind a process: the thread that runs its target,
// how that run ends, and the mailbox wait that spins before it sleeps.

#include "detail/process_actor.hpp"

#include <iostream>
#include <mutex>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>

#include "troupe/error.hpp"
#include "troupe/ext/describe.hpp"
#include "troupe/process.hpp"
#include "troupe/this_process.hpp"

#include "detail/current.hpp"
#include "detail/runtime_impl.hpp"

namespace troupe::detail {

// -- process_actor ------------------------------------------------------------

process_actor::process_actor(caf::actor_config& cfg,
                             std::shared_ptr<process_state> st,
                             std::unique_ptr<process> obj)
  : caf::blocking_actor(cfg), st_(std::move(st)), obj_(std::move(obj)) {}

void process_actor::launch(caf::execution_unit*, bool, bool) {
  {
    std::lock_guard guard{st_->mtx};
    st_->hdl = caf::actor_cast<caf::actor>(ctrl());
  }
  if (st_->type == process_state::kind::main) {
    // The main process's mailbox lives on the runtime's thread.
    initialize();
    return;
  }
  st_->rt->threads().submit([ptr = caf::strong_actor_ptr{ctrl()}] {
    static_cast<process_actor*>(caf::actor_cast<caf::abstract_actor*>(ptr))
      ->run_on_this_thread();
  });
}

void process_actor::run_on_this_thread() {
  initialize();
  int code = 0;
  std::string why;
  {
    current_scope scope{st_.get(), this};
    try {
      // A stop that arrived before the thread did: do not start the
      // target at all (Python's child would be killed before it ran).
      this_process::checkpoint();
      if (obj_)
        obj_->run();
      else if (st_->target)
        st_->target();
    } catch (const terminated&) {
      code = -15;
      why = "terminated";
    } catch (const exit_request& req) {
      code = req.code;
      if (code != 0)
        why = "exit(" + std::to_string(code) + ")";
    } catch (...) {
      code = 1;
      why = ext::describe_current_exception();
    }
    // The target's captured arguments and the subclass copy die with the
    // process, on its thread, so what they hold is released now.
    obj_.reset();
    st_->target = unique_function<void()>{};
  }
  if (auto sig = st_->stop_signal.load(); sig != 0 && code <= 0) {
    code = -sig;
    why = sig == 9 ? "killed" : "terminated";
  }
  st_->thread_done = true;
  thread_left(*st_); // releases what a kill left to this thread
  auto name = [this] {
    std::lock_guard guard{st_->mtx};
    return "'" + st_->name + "' (pid " + std::to_string(st_->pid) + ")";
  };
  // A supervisor reports its children's failures (see supervisor_event).
  if (code == 1 && !st_->in_tree)
    std::cerr << "troupe: process " << name() << " failed: " << why << '\n';
  // What the exit hooks start (a supervisor's restart of this process)
  // may run on this thread as soon as it is free, without a wake-up.
  thread_pool::this_job_ending();
  st_->finish(code, why);
  caf::error rsn;
  if (code == -9)
    rsn = caf::exit_reason::kill;
  else if (code == -15)
    rsn = caf::exit_reason::user_shutdown;
  else if (code != 0)
    rsn = caf::exit_reason::unhandled_exception;
  cleanup(std::move(rsn), context());
}

void process_actor::close_main() {
  cleanup(caf::exit_reason::normal, context());
}

/// Polls the mailbox briefly before the caller sleeps on its condition
/// variable. In request/reply the answer often arrives within microseconds
/// from a peer on another core; catching it here saves a futex sleep and
/// wake-up on both sides (see docs/benchmarks.md, blocking ping-pong, and
/// `wait_spin` for how the budget adapts).
bool process_actor::spin_for_mail() noexcept {
  return spin_.spin([this] { return !mailbox().empty(); });
}

void process_actor::await_data() {
  if (spin_for_mail())
    return caf::blocking_actor::await_data();
  auto t0 = std::chrono::steady_clock::now();
  caf::blocking_actor::await_data();
  spin_.parked_for(std::chrono::steady_clock::now() - t0);
}

bool process_actor::await_data(timeout_type timeout) {
  if (spin_for_mail())
    return caf::blocking_actor::await_data(timeout);
  auto t0 = std::chrono::steady_clock::now();
  auto got = caf::blocking_actor::await_data(timeout);
  spin_.parked_for(std::chrono::steady_clock::now() - t0);
  return got;
}

} // namespace troupe::detail
