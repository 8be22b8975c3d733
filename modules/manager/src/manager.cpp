#include "troupe/manager/manager.hpp"

#include <atomic>
#include <iostream>
#include <mutex>

#include <troupe/child_spec.hpp>
#include <troupe/ext/wait.hpp>

namespace troupe {

namespace managed::detail {

/// What `manager` handles share: the core and the supervisor of its state
/// actor. The last handle shuts the manager down.
struct manager_owner {
  std::shared_ptr<manager_core> core;
  std::optional<troupe::supervisor> sup;
  std::mutex mtx;
  bool stopped = false;

  manager_owner() = default;
  manager_owner(const manager_owner&) = delete;
  manager_owner& operator=(const manager_owner&) = delete;

  ~manager_owner() {
    try {
      shutdown();
    } catch (const std::exception& e) {
      std::cerr << "troupe: manager '" << core->name()
                << "': shutdown failed: " << e.what() << '\n';
    }
  }

  void shutdown() {
    {
      std::lock_guard guard{mtx};
      if (stopped)
        return;
      stopped = true;
    }
    core->begin_shutdown();
    if (sup) {
      sup->terminate();
      // Not join(): the shutdown runs while a terminated process unwinds
      // and must finish; the supervisor's shutdown grace bounds it.
      troupe::ext::await_end(*sup);
    }
    core->finish_shutdown();
  }
};

} // namespace managed::detail

namespace {

std::atomic<int> manager_counter{0};

} // namespace

manager::manager(runtime& rt, manager_options opts) {
  using namespace managed::detail;
  if (opts.name.empty())
    opts.name = "Manager-" + std::to_string(++manager_counter);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  opts.restarts
    = opts.restarts.with(opts.restart_intensity, opts.restart_period);
#pragma GCC diagnostic pop
  auto core = std::make_shared<manager_core>(rt, opts);
  auto owner = std::make_shared<manager_owner>();
  owner->core = core;
  std::weak_ptr<manager_core> weak = core;
  supervisor_options sup_opts{
    .name = opts.name,
    .strategy = strategy::one_for_one,
    .restarts = opts.restarts,
    .backoff = opts.backoff,
    .on_event =
      [weak, user = opts.on_event](const supervisor_event& ev) {
        if (ev.what == supervisor_event::kind::intensity_exceeded)
          if (auto c = weak.lock())
            c->give_up(ev.reason);
        if (user)
          user(ev);
        else
          std::cerr << "troupe: " << ev << '\n';
      },
  };
  std::vector<child_spec> children;
  children.push_back(child_spec{
    .id = opts.name + ".state",
    .start = start_process(&run_state_actor, core),
    .restart = restart::permanent,
    .shutdown = shutdown_spec{std::chrono::seconds{5}},
  });
  owner->sup.emplace(rt, std::move(sup_opts), std::move(children));
  owner_ = std::move(owner);
}

managed::name_space manager::name_space(managed::object_options opts) {
  using obj = managed::detail::ns_object;
  return {core(), open<obj>(std::move(opts.name), [](obj&) {})};
}

troupe::lock manager::lock(managed::object_options opts) {
  return channel<troupe::lock>(std::move(opts.name), "lock",
                               [](runtime& rt) { return troupe::lock{rt}; });
}

troupe::event manager::event(managed::object_options opts) {
  return channel<troupe::event>(std::move(opts.name), "event",
                                [](runtime& rt) { return troupe::event{rt}; });
}

void manager::shutdown() {
  owner_->shutdown();
}

bool manager::running() const {
  auto ph = core()->current_phase();
  using phase = managed::detail::manager_core::phase;
  return ph == phase::up || ph == phase::starting || ph == phase::down;
}

const troupe::supervisor& manager::supervisor() const {
  return *owner_->sup;
}

std::optional<process> manager::state_actor() const {
  for (auto& child : owner_->sup->which_children())
    if (child.handle && child.state == child_state::running)
      return child.handle;
  return std::nullopt;
}

int manager::incarnations() const {
  return core()->incarnations();
}

std::string manager::warning() const {
  return core()->warning();
}

const std::string& manager::name() const {
  return core()->name();
}

void manager::inject_failure(std::string what) {
  core()->inject_failure(std::move(what));
}

const std::shared_ptr<managed::detail::manager_core>& manager::core() const {
  return owner_->core;
}

} // namespace troupe
