// troupe::supervisor, the public facade: a process whose body is a
// supervisor_core's loop, and whose administrative calls and reads are
// commands to that loop.

#include "troupe/supervisor.hpp"

#include <chrono>
#include <future>
#include <utility>

#include "troupe/runtime.hpp"

#include "supervision/supervisor_core.hpp"

namespace troupe {

namespace {

process
make_supervisor_process(runtime& rt,
                        const std::shared_ptr<detail::supervisor_core>& core) {
  auto grace = core->options().shutdown.value_or(rt.options().shutdown_timeout);
  process p{rt, process_options{.name = core->name(), .terminate_grace = grace},
            [core] { core->run(); }};
  detail::process_access::state(p)->as_supervisor = core;
  detail::process_access::state(p)->in_tree = true;
  core->bind(detail::process_access::state(p).get());
  return p;
}

} // namespace

supervisor::supervisor(runtime& rt, supervisor_options opts,
                       std::vector<child_spec> children)
  : process(
    make_supervisor_process(rt, std::make_shared<detail::supervisor_core>(
                                  rt, std::move(opts), std::move(children)))) {
  core_ = detail::process_access::state(*this)->as_supervisor;
  auto ready = core_->init_future();
  start();
  // Its process may be stopped before its body runs (a shutdown racing
  // with the start), and then nothing would ever answer.
  while (ready.wait_for(std::chrono::milliseconds{10})
         != std::future_status::ready) {
    if (!is_alive())
      throw supervisor_error(supervisor_errc::not_running,
                             "supervisor '" + name()
                               + "' ended before it started its children: "
                               + exit_reason());
  }
  try {
    ready.get();
  } catch (...) {
    join();
    throw;
  }
}

supervisor::supervisor(std::shared_ptr<detail::process_state> st,
                       std::shared_ptr<detail::supervisor_core> core)
  : process(std::move(st)), core_(std::move(core)) {}

supervisor supervisor::from(const process& p) {
  auto& st = detail::process_access::state(p);
  if (!st || !st->as_supervisor)
    throw value_error("supervisor::from: '" + p.name()
                      + "' is not a supervisor");
  return supervisor{st, st->as_supervisor};
}

process supervisor::start_child(child_spec spec) {
  return core_->call<process>(
    [core = core_.get(), spec = std::move(spec)]() mutable {
      return core->start_child(std::move(spec));
    });
}

process supervisor::start_child_with(std::any extra) {
  return core_->call<process>(
    [core = core_.get(), extra = std::move(extra)]() mutable {
      return core->start_child_with(std::move(extra));
    });
}

void supervisor::terminate_child(const std::string& id) {
  core_->call<void>([core = core_.get(), id] { core->terminate_child(id); });
}

void supervisor::terminate_child(const process& child) {
  core_->call<void>(
    [core = core_.get(), st = detail::process_access::state(child)] {
      core->terminate_child(st);
    });
}

process supervisor::restart_child(const std::string& id) {
  return core_->call<process>(
    [core = core_.get(), id] { return core->restart_child(id); });
}

void supervisor::delete_child(const std::string& id) {
  core_->call<void>([core = core_.get(), id] { core->delete_child(id); });
}

std::vector<child_info> supervisor::which_children() const {
  return core_->which_children();
}

child_counts supervisor::count_children() const {
  return core_->count_children();
}

supervision_tree supervisor::tree() const {
  return core_->tree(*detail::process_access::state(*this));
}

std::vector<supervisor_event> supervisor::events() const {
  return core_->events();
}

int supervisor::restarts() const {
  return core_->restarts();
}

} // namespace troupe
