#include "troupe/process.hpp"

#include <iostream>
#include <mutex>
#include <ostream>
#include <thread>
#include <unordered_map>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "troupe/detail/block_pool.hpp"
#include "troupe/detail/spin.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/describe.hpp"
#include "troupe/runtime.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace detail {

// -- thread-local identity ----------------------------------------------------

namespace {

thread_local process_state* tl_state = nullptr;
thread_local caf::blocking_actor* tl_self = nullptr;
thread_local bool tl_starting_child = false;
thread_local process_state* tl_parent = nullptr;

std::mutex default_mtx;
std::weak_ptr<runtime_impl> default_rt;

} // namespace

current_scope::current_scope(process_state* st, caf::blocking_actor* self)
  : prev_state_(tl_state), prev_self_(tl_self) {
  tl_state = st;
  tl_self = self;
}

current_scope::~current_scope() {
  clear_last_sender();
  tl_state = prev_state_;
  tl_self = prev_self_;
}

caf::blocking_actor* current_self() noexcept {
  return tl_self;
}

process_state* current_state_ptr() noexcept {
  return tl_state;
}

bool& starting_supervised_child() noexcept {
  return tl_starting_child;
}

parent_scope::parent_scope(process_state* parent) noexcept
  : prev_(std::exchange(tl_parent, parent)) {}

parent_scope::~parent_scope() {
  tl_parent = prev_;
}

std::shared_ptr<process_state> spawning_parent() {
  if (tl_parent != nullptr)
    return tl_parent->shared_from_this();
  return current_state();
}

void set_default_runtime(const std::shared_ptr<runtime_impl>& rt) {
  std::lock_guard guard{default_mtx};
  if (default_rt.expired())
    default_rt = rt;
}

void clear_default_runtime(const runtime_impl* rt) {
  std::lock_guard guard{default_mtx};
  if (default_rt.lock().get() == rt)
    default_rt.reset();
}

std::shared_ptr<process_state> current_state() {
  if (tl_state != nullptr)
    return tl_state->shared_from_this();
  std::lock_guard guard{default_mtx};
  if (auto rt = default_rt.lock())
    return rt->main_state();
  return nullptr;
}

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

bool process_state::await_end(
  std::optional<std::chrono::steady_clock::time_point> until) {
  std::unique_lock guard{mtx};
  if (!until) {
    cv.wait(guard, [this] { return settled; });
    return true;
  }
  return cv.wait_until(guard, *until, [this] { return settled; });
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
  if (!event_based)
    st->run_stop_callbacks(); // wakes blocking troupe calls
  if (hdl) {
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

} // namespace detail

// -- process ------------------------------------------------------------------

namespace {

[[noreturn]] void throw_unstarted(const char* what) {
  throw state_error(std::string{"cannot "} + what
                    + " a process that was not started");
}

} // namespace

bool detail::inherited_daemon(const process_options& opts,
                              const process_state* parent) noexcept {
  if (opts.daemon)
    return *opts.daemon;
  return parent != nullptr && parent->daemon.load();
}

process::process(runtime& rt, process_options opts) {
  auto& impl = rt.impl();
  auto name
    = opts.name.empty() ? impl->next_process_name() : std::move(opts.name);
  auto parent = detail::spawning_parent();
  state_ = std::allocate_shared<detail::process_state>(
    detail::pool_allocator<detail::process_state>{}, impl,
    detail::process_state::kind::blocking, std::move(name),
    detail::inherited_daemon(opts, parent.get()),
    opts.terminate_grace.value_or(impl->options().terminate_grace));
  state_->subclass = true;
  state_->parent = std::move(parent);
}

process::~process() = default;

void process::set_target(detail::unique_function<void()> target) {
  state_->target = std::move(target);
  state_->subclass = false;
}

std::unique_ptr<process> process::clone_for_start() const {
  return nullptr;
}

void process::run() {
  if (state_->target)
    state_->target();
}

void process::start() {
  using phase = detail::process_state::phase;
  auto obj = clone_for_start();
  auto& st = state_;
  if (st->type != detail::process_state::kind::blocking)
    throw state_error("an actor is started by spawn(); it cannot be "
                      "started again");
  if (st->subclass && !obj)
    throw state_error("start() must be called on the process_base object, "
                      "not on a plain process handle copied from it");
  {
    std::lock_guard guard{st->mtx};
    if (st->ph != phase::initial)
      throw state_error("cannot start a process twice ('" + st->name + "')");
    st->ph = phase::running;
  }
  if (detail::starting_supervised_child())
    st->in_tree = true;
  try {
    auto pid = st->rt->admit(st);
    std::lock_guard guard{st->mtx};
    st->pid = pid;
  } catch (...) {
    std::lock_guard guard{st->mtx};
    st->ph = phase::initial;
    throw;
  }
  try {
    static_cast<void>(
      st->rt->system().spawn<detail::process_actor, caf::hidden>(
        st, std::move(obj)));
  } catch (const std::exception& e) {
    st->finish(1, "could not start: " + ext::describe_exception(e));
    throw error("could not start process '" + name()
                + "': " + ext::describe_exception(e));
  }
}

namespace {

void check_joinable(const detail::process_state& st) {
  {
    std::lock_guard guard{st.mtx};
    if (st.ph == detail::process_state::phase::initial)
      throw state_error("can only join a started process ('" + st.name + "')");
  }
  if (detail::current_state().get() == &st)
    throw state_error("a process cannot join itself");
}

/// `join()`'s wait: as `await_end`, but a joiner that is asked to stop
/// (terminate, kill, its supervisor) wakes and throws `terminated`, as in
/// every other blocking troupe call. A process that already ended is
/// joined without error.
bool join_until(detail::process_state& st,
                std::optional<std::chrono::steady_clock::time_point> until) {
  {
    std::lock_guard guard{st.mtx};
    if (st.settled)
      return true;
  }
  if (detail::stop_requested())
    detail::throw_terminated();
  // Registered before `st.mtx` is taken, dropped after it is released (the
  // callback takes it).
  detail::stop_callback wake{[&st] {
    { std::lock_guard guard{st.mtx}; }
    st.cv.notify_all();
  }};
  std::unique_lock guard{st.mtx};
  for (;;) {
    if (st.settled)
      return true;
    if (detail::stop_requested()) {
      guard.unlock();
      detail::throw_terminated();
    }
    if (!until)
      st.cv.wait(guard);
    else if (st.cv.wait_until(guard, *until) == std::cv_status::timeout)
      return st.settled;
  }
}

} // namespace

void process::join() const {
  check_joinable(*state_);
  join_until(*state_, std::nullopt);
}

bool process::join(std::chrono::nanoseconds timeout) const {
  if (timeout.count() < 0)
    throw value_error("join: timeout must not be negative");
  check_joinable(*state_);
  return join_until(*state_, std::chrono::steady_clock::now() + timeout);
}

bool process::is_alive() const {
  std::lock_guard guard{state_->mtx};
  return state_->ph == detail::process_state::phase::running;
}

std::optional<int> process::exitcode() const {
  std::lock_guard guard{state_->mtx};
  return state_->exitcode;
}

std::string process::exit_reason() const {
  std::lock_guard guard{state_->mtx};
  return state_->reason;
}

void process::terminate() const {
  if (state_->type == detail::process_state::kind::main)
    throw state_error("the main process cannot be terminated");
  {
    std::lock_guard guard{state_->mtx};
    if (state_->ph == detail::process_state::phase::initial)
      throw_unstarted("terminate");
  }
  // A supervised process is stopped by its supervisor, by its shutdown
  // spec, and is not restarted (OTP's terminate_child).
  std::shared_ptr<detail::supervisor_core> sup;
  {
    std::lock_guard guard{state_->mtx};
    sup = state_->supervised_by.lock();
  }
  if (sup && detail::route_terminate(sup, state_))
    return;
  detail::request_stop(state_, 15);
}

void process::kill() const {
  if (state_->type == detail::process_state::kind::main)
    throw state_error("the main process cannot be killed");
  {
    std::lock_guard guard{state_->mtx};
    if (state_->ph == detail::process_state::phase::initial)
      throw_unstarted("kill");
  }
  detail::request_stop(state_, 9);
}

pid_type process::pid() const {
  std::lock_guard guard{state_->mtx};
  return state_->pid;
}

std::string process::name() const {
  std::lock_guard guard{state_->mtx};
  return state_->name;
}

void process::name(std::string new_name) {
  std::lock_guard guard{state_->mtx};
  state_->name = std::move(new_name);
}

bool process::daemon() const {
  return state_->daemon;
}

void process::daemon(bool flag) {
  std::lock_guard guard{state_->mtx};
  if (state_->ph != detail::process_state::phase::initial)
    throw state_error("cannot change the daemon flag of a process that has "
                      "already started ('"
                      + state_->name + "')");
  state_->daemon = flag;
}

caf::actor process::handle() const {
  return state_->handle();
}

void process::send_message(caf::message msg) const {
  auto hdl = state_->handle();
  if (!hdl)
    return;
  caf::strong_actor_ptr sender;
  if (auto* self = detail::current_self())
    sender = self->ctrl();
  hdl->enqueue(std::move(sender), caf::make_message_id(), std::move(msg),
               nullptr);
}

std::ostream& operator<<(std::ostream& out, const process& x) {
  auto& st = *x.state_;
  std::lock_guard guard{st.mtx};
  using kind = detail::process_state::kind;
  using phase = detail::process_state::phase;
  out << (st.type == kind::event_based ? "<actor" : "<process") << " name='"
      << st.name << '\'';
  if (st.pid != 0)
    out << " pid=" << st.pid;
  if (st.parent)
    out << " parent=" << st.parent->pid;
  switch (st.ph) {
    case phase::initial:
      out << " initial";
      break;
    case phase::running:
      out << " started";
      break;
    case phase::ended:
      out << " stopped exitcode=" << *st.exitcode;
      break;
  }
  if (st.daemon)
    out << " daemon";
  return out << '>';
}

} // namespace troupe
