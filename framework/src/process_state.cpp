// process_state (troupe/detail/process_state.hpp): its exit hooks and end,
// stop requests (terminate with a grace, kill) and their stop callbacks.

#include "troupe/detail/process_state.hpp"

#include <iostream>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "troupe/ext/describe.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe::detail {

// -- process_state ------------------------------------------------------------

process_state::process_state(std::shared_ptr<runtime_impl> runtime, kind k,
                             std::string process_name, bool is_daemon,
                             std::chrono::milliseconds grace)
  : rt(std::move(runtime)), type(k), terminate_grace(grace),
    name(std::move(process_name)), daemon(is_daemon) {}

process_state::~process_state() = default;

namespace {

/// Runs one exit hook of process `who`. What it throws is reported, not
/// propagated: the other hooks and the end of the process still happen.
void run_exit_hook(const std::string& who,
                   unique_function<void(const exit_info&)>& fn,
                   const exit_info& info) noexcept {
  try {
    fn(info);
  } catch (...) {
    std::cerr << "troupe: releasing a resource of process '" << who
              << "' failed: " << ext::describe_current_exception() << '\n';
  }
}

} // namespace

void on_process_exit(process_state& st,
                     unique_function<void(const exit_info&)> fn) {
  st.on_exit(std::move(fn));
}

void process_state::on_exit(unique_function<void(const exit_info&)> fn) {
  std::unique_lock guard{mtx};
  if (ph != phase::ended) {
    if (!first_exit_hook_)
      first_exit_hook_ = std::move(fn);
    else
      more_exit_hooks_.push_back(std::move(fn));
    return;
  }
  exit_info info{*exitcode, reason};
  auto who = name;
  guard.unlock();
  run_exit_hook(who, fn, info);
}

bool process_state::finish(int code, std::string why) {
  auto self = shared_from_this();
  exit_hook first_hook;
  std::vector<exit_hook> more_hooks;
  caf::actor released;
  exit_info info{code, {}};
  pid_type my_pid = 0;
  {
    std::lock_guard guard{mtx};
    if (ph == phase::ended)
      return false;
    my_pid = pid;
    ph = phase::ended;
    exitcode = code;
    reason = std::move(why);
    info.reason = reason; // set once: read below without the lock
    first_hook = std::move(first_exit_hook_);
    more_hooks.swap(more_exit_hooks_);
    released = std::move(hdl);
  }
  if (first_hook)
    run_exit_hook(name, first_hook, info);
  for (auto& fn : more_hooks)
    run_exit_hook(name, fn, info);
  // Retire before waking joiners: once join() returns, the process is gone
  // from active_children() too.
  if (type != kind::main)
    rt->retire(*this, my_pid);
  {
    std::lock_guard guard{mtx};
    settled = true;
  }
  // Outside the lock, so a woken joiner does not block on it at once; `self`
  // keeps this state alive should that joiner drop the last handle.
  cv.notify_all();
  return true;
}

bool process_state::await_end(ext::deadline until) {
  std::unique_lock guard{mtx};
  while (!settled)
    if (!ext::park(guard, cv, until))
      return settled;
  return true;
}

bool process_state::ended() const {
  std::lock_guard guard{mtx};
  return ph == phase::ended;
}

caf::actor process_state::handle() const {
  std::lock_guard guard{mtx};
  return hdl;
}

// -- stopping -----------------------------------------------------------------

void process_state::run_stop_callbacks() {
  std::lock_guard guard{stop_mtx_};
  // Each runs once: a callback's waiter is woken, and a later request
  // (kill after terminate) finds nothing left to run.
  auto callbacks = std::move(stop_callbacks_);
  stop_callbacks_.clear();
  for (auto& entry : callbacks)
    (*entry.second)();
}

void process_state::run_external_stop(int signal) {
  // Taken out under the lock of the stop callbacks, so 15 and 9 never run
  // at once and each at most once.
  std::lock_guard guard{stop_mtx_};
  auto& asked = signal == 15 ? external_termed_ : external_killed_;
  if (asked)
    return;
  asked = true;
  if (!external_stop)
    return;
  try {
    external_stop(signal);
  } catch (...) {
    // A stop request cannot fail for its caller; the process still ends
    // (after the grace, or at once for a kill).
    std::string who;
    {
      std::lock_guard names{mtx};
      who = name;
    }
    std::cerr << "troupe: asking process '" << who << "' to stop ("
              << (signal == 15 ? "terminate" : "kill")
              << ") failed: " << ext::describe_current_exception() << '\n';
  }
}

// -- threads that outlive their kill ----------------------------------------

namespace {

/// What `after_thread_left` deferred, per killed process whose thread still
/// runs. Leaked on purpose, as the holder registry: a killed thread may
/// leave during static destruction.
struct left_hooks {
  std::mutex mtx;
  std::unordered_map<const process_state*, std::vector<unique_function<void()>>>
    by_state;
};

left_hooks& thread_left_hooks() {
  static auto* hooks = new left_hooks; // NOLINT: see left_hooks
  return *hooks;
}

void run_left_hooks(const process_state& st) {
  std::vector<unique_function<void()>> fns;
  {
    auto& hooks = thread_left_hooks();
    std::lock_guard guard{hooks.mtx};
    auto i = hooks.by_state.find(&st);
    if (i == hooks.by_state.end())
      return;
    fns = std::move(i->second);
    hooks.by_state.erase(i);
  }
  for (auto& fn : fns) {
    try {
      fn();
    } catch (...) {
      std::cerr << "troupe: releasing a resource of a killed process after "
                   "its thread left failed: "
                << ext::describe_current_exception() << '\n';
    }
  }
}

} // namespace

bool killed_thread_inside(const process_state& st) noexcept {
  // `kill_process` sets the signal before it declares the process ended.
  return st.type == process_state::kind::blocking && st.stop_signal.load() == 9
         && !st.thread_done.load();
}

void after_thread_left(const process_state& st, unique_function<void()> fn) {
  if (!killed_thread_inside(st)) {
    fn();
    return;
  }
  {
    auto& hooks = thread_left_hooks();
    std::lock_guard guard{hooks.mtx};
    hooks.by_state[&st].push_back(std::move(fn));
  }
  // The thread may have left meanwhile: it sets `thread_done` and then
  // looks for hooks (see thread_left), we stored ours and then look at
  // `thread_done` (all sequentially consistent), so one of us runs them.
  if (st.thread_done.load())
    run_left_hooks(st);
}

void thread_left(const process_state& st) {
  if (st.stop_signal.load() == 9)
    run_left_hooks(st);
}

void kill_process(const std::shared_ptr<process_state>& st, std::string why) {
  st->stop_signal = 9;
  caf::actor hdl;
  {
    std::lock_guard guard{st->mtx};
    if (st->ph != process_state::phase::running)
      return;
    hdl = st->hdl;
  }
  if (st->type == process_state::kind::external) {
    // Declared killed first, then e.g. SIGKILL: the other way round, the
    // end the signal causes could be reported first, with its own reason
    // ("killed by SIGKILL") instead of this one. Its body's end is not
    // awaited.
    st->finish(-9, std::move(why));
    st->run_external_stop(9);
    return;
  }
  if (st->type == process_state::kind::event_based) {
    if (hdl)
      caf::anon_send_exit(hdl, caf::exit_reason::kill);
  } else {
    st->run_stop_callbacks(); // its thread, if it still runs, unwinds
    if (hdl)
      caf::anon_send<caf::message_priority::high>(hdl, stop_msg{});
  }
  st->finish(-9, std::move(why));
}

void request_stop(const std::shared_ptr<process_state>& st, int signal,
                  std::chrono::milliseconds grace) {
  if (signal == 9) {
    kill_process(st, "killed");
    return;
  }
  // 15 may be upgraded to 9, never the other way.
  auto prev = 0;
  if (!st->stop_signal.compare_exchange_strong(prev, signal))
    return; // already asked; a grace (if any) is already running
  caf::actor hdl;
  {
    std::lock_guard guard{st->mtx};
    if (st->ph != process_state::phase::running)
      return;
    hdl = st->hdl;
  }
  auto event_based = st->type == process_state::kind::event_based;
  if (st->type == process_state::kind::external)
    st->run_external_stop(15); // e.g. SIGTERM; its mailbox is not ours
  else if (!event_based)
    st->run_stop_callbacks(); // wakes blocking troupe calls
  if (hdl && st->type != process_state::kind::external) {
    if (event_based)
      caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
    else
      caf::anon_send<caf::message_priority::high>(hdl, stop_msg{});
  }
  if (grace == std::chrono::milliseconds::max())
    return;
  std::weak_ptr<process_state> weak = st;
  st->rt->timers().schedule(
    std::chrono::steady_clock::now() + grace, [weak, grace] {
      if (auto target = weak.lock(); target && !target->ended())
        kill_process(target, "killed after a terminate grace of "
                               + std::to_string(grace.count()) + " ms");
    });
}

void request_stop(const std::shared_ptr<process_state>& st, int signal) {
  std::chrono::milliseconds grace;
  {
    std::lock_guard guard{st->mtx};
    grace = st->terminate_grace;
  }
  request_stop(st, signal, grace);
}

void process_state::mark_ready() {
  unique_function<void()> hook;
  {
    std::lock_guard guard{mtx};
    if (ready)
      return;
    ready = true;
    hook = std::move(ready_hook);
  }
  cv.notify_all();
  if (hook)
    hook();
}

} // namespace troupe::detail
