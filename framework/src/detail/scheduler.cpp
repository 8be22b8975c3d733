#include "detail/scheduler.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/config_value.hpp>
#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/policy/work_stealing.hpp>
#include <caf/scheduler/coordinator.hpp>

namespace troupe::detail {

namespace {

class coordinator final
  : public caf::scheduler::coordinator<caf::policy::work_stealing> {
public:
  using super = caf::scheduler::coordinator<caf::policy::work_stealing>;

  explicit coordinator(caf::actor_system& sys)
    : super(sys), clock_(super::clock()) {
    // nop
  }

  // CAF's coordinator runs its timer thread on its own clock, which does all
  // the work; this one only decides what reaches it.
  caf::detail::thread_safe_actor_clock& clock() noexcept override {
    return clock_;
  }

private:
  lazy_cancel_clock clock_;
};

} // namespace

bool uses_troupe_scheduler(caf::actor_system& sys) {
  return dynamic_cast<coordinator*>(&sys.scheduler()) != nullptr;
}

void install_scheduler(caf::actor_system_config& cfg) {
  auto policy = caf::get_or(cfg, "scheduler.policy", caf::atom("stealing"));
  if (policy != caf::atom("stealing"))
    return;
  cfg.module_factories.push_back(
    [](caf::actor_system& sys) -> caf::actor_system::module* {
      return new coordinator(sys);
    });
}

} // namespace troupe::detail
