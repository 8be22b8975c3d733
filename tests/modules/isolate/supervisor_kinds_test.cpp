// The supervisor cases every kind of child passes (supervisor_cases.hpp in
// the framework's tests), with OS-process children started by
// troupe::start_os_process, once per start method.

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/troupe.hpp>

#include "supervisor_cases.hpp"

// The cases' workers, as entry points of the OS children.
TROUPE_ENTRY(supervisor_cases::worker);
TROUPE_ENTRY(supervisor_cases::echo_worker);
TROUPE_ENTRY(supervisor_cases::slow_stopper);
TROUPE_ENTRY(supervisor_cases::deaf);

namespace {

using namespace std::chrono_literals;
using troupe::entry;

class os_process_kind : public supervisor_cases::child_kind {
public:
  explicit os_process_kind(troupe::start_method method) {
    troupe::set_start_method(method);
  }
  ~os_process_kind() override {
    troupe::set_start_method(troupe::start_method::spawn);
  }
  os_process_kind(const os_process_kind&) = delete;
  os_process_kind& operator=(const os_process_kind&) = delete;

  [[nodiscard]] troupe::child_start
  worker(const std::string& log, const std::string& id) const override {
    return troupe::start_os_process(entry<supervisor_cases::worker>, log, id);
  }

  [[nodiscard]] troupe::child_start
  worker_template(const std::string& log) const override {
    return troupe::start_os_process<std::string>(
      entry<supervisor_cases::worker>, log);
  }

  [[nodiscard]] troupe::child_start
  echo_template(const std::string& log,
                const std::string& prefix) const override {
    return troupe::start_os_process<int, std::string>(
      entry<supervisor_cases::echo_worker>, log, prefix);
  }

  [[nodiscard]] troupe::child_start
  slow_stopper_template(const std::string& log) const override {
    return troupe::start_os_process<std::string>(
      entry<supervisor_cases::slow_stopper>, log);
  }

  // Ends only by SIGKILL: nothing to release.
  [[nodiscard]] troupe::child_start deaf(const std::string& log,
                                         const std::string& id) const override {
    return troupe::start_os_process(entry<supervisor_cases::deaf>, log, id);
  }

  [[nodiscard]] troupe::child_start
  deaf_template(const std::string& log) const override {
    return troupe::start_os_process<std::string>(entry<supervisor_cases::deaf>,
                                                 log);
  }

  // A child that must not start would take its start-up time (about a
  // second under sanitizers) to say so.
  [[nodiscard]] bool costly_ends() const override {
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
    return true;
#else
    return false;
#endif
  }

  [[nodiscard]] std::chrono::milliseconds quiet() const override {
    return 1000ms;
  }
};

supervisor_cases::kind_param os_children(troupe::start_method method) {
  return {method == troupe::start_method::spawn ? "spawn" : "forkserver",
          [method] { return std::make_unique<os_process_kind>(method); }};
}

const auto by_start_method
  = testing::Values(os_children(troupe::start_method::spawn),
                    os_children(troupe::start_method::forkserver));

} // namespace

INSTANTIATE_TEST_SUITE_P(os_process, supervisor_kinds, by_start_method,
                         supervisor_cases::kind_name);

INSTANTIATE_TEST_SUITE_P(
  os_process, supervisor_kinds_restart,
  testing::Combine(by_start_method,
                   testing::ValuesIn(supervisor_cases::restart_cases())),
  supervisor_cases::restart_param_name);
