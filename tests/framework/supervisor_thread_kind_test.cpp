// The supervisor cases every kind of child passes (supervisor_cases.hpp),
// with thread children (troupe::process). The isolate module's
// supervisor_kinds_test.cpp runs the same cases with OS-process children.

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "supervisor_cases.hpp"

namespace {

using namespace std::chrono_literals;

class thread_kind : public supervisor_cases::child_kind {
public:
  [[nodiscard]] troupe::child_start
  worker(const std::string& log, const std::string& id) const override {
    return troupe::start_process(supervisor_cases::worker, log, id);
  }

  [[nodiscard]] troupe::child_start
  worker_template(const std::string& log) const override {
    return troupe::start_process<std::string>(supervisor_cases::worker, log);
  }

  [[nodiscard]] troupe::child_start
  echo_template(const std::string& log,
                const std::string& prefix) const override {
    return troupe::start_process<int, std::string>(
      supervisor_cases::echo_worker, log, prefix);
  }

  [[nodiscard]] troupe::child_start
  slow_stopper_template(const std::string& log) const override {
    return troupe::start_process<std::string>(supervisor_cases::slow_stopper,
                                              log);
  }

  // A thread cannot be killed for real: it loops until released, so that
  // it ends once its test is done with it.
  [[nodiscard]] troupe::child_start deaf(const std::string& log,
                                         const std::string& id) const override {
    return troupe::start_process([release = release_, log, id] {
      supervisor_cases::append_line(log, "start " + id);
      while (!release->load())
        std::this_thread::sleep_for(1ms);
    });
  }

  [[nodiscard]] troupe::child_start
  deaf_template(const std::string& log) const override {
    return troupe::start_process<std::string>(
      [release = release_, log](const std::string& id) {
        supervisor_cases::append_line(log, "start " + id);
        while (!release->load())
          std::this_thread::sleep_for(1ms);
      });
  }

  void release_deaf() const override {
    release_->store(true);
  }

  [[nodiscard]] std::chrono::milliseconds quiet() const override {
    return 50ms;
  }

private:
  std::shared_ptr<std::atomic<bool>> release_
    = std::make_shared<std::atomic<bool>>(false);
};

const supervisor_cases::kind_param thread_children{
  "thread", [] { return std::make_unique<thread_kind>(); }};

} // namespace

INSTANTIATE_TEST_SUITE_P(thread, supervisor_kinds,
                         testing::Values(thread_children),
                         supervisor_cases::kind_name);

INSTANTIATE_TEST_SUITE_P(
  thread, supervisor_kinds_restart,
  testing::Combine(testing::Values(thread_children),
                   testing::ValuesIn(supervisor_cases::restart_cases())),
  supervisor_cases::restart_param_name);
