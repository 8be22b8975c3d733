// troupe::process, the public facade (process.hpp): construction, start,
// join, the stop calls and the accessors over a process_state.

#include "troupe/process.hpp"

#include <chrono>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>

#include "troupe/detail/block_pool.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/describe.hpp"
#include "troupe/runtime.hpp"
#include "troupe/this_process.hpp"

#include "detail/current.hpp"
#include "detail/process_actor.hpp"
#include "detail/runtime_impl.hpp"

namespace troupe {

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
  if (st->type == detail::process_state::kind::external)
    throw state_error("process '" + name()
                      + "' runs outside this OS process and was started by "
                        "the module that made it; it cannot be started "
                        "again");
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
bool join_until(detail::process_state& st, ext::deadline until) {
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
    if (!ext::park(guard, st.cv, until))
      return st.settled;
  }
}

} // namespace

void process::join() const {
  check_joinable(*state_);
  join_until(*state_, ext::deadline::forever());
}

bool process::join(std::chrono::nanoseconds timeout) const {
  auto until = ext::deadline::after(timeout, "join");
  check_joinable(*state_);
  return join_until(*state_, until);
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
