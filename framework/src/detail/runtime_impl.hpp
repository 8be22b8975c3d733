// The runtime's private side: its CAF configuration (troupe_config) and
// everything a runtime owns (runtime_impl).

#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "troupe/detail/process_state.hpp"
#include "troupe/runtime.hpp"

#include "detail/process_registry.hpp"
#include "detail/thread_pool.hpp"
#include "detail/timer_service.hpp"

namespace troupe::detail {

/// Runs the hooks of troupe/ext/runtime_hooks.hpp.
void run_config_hooks(caf::actor_system_config& cfg);
void run_start_hooks(runtime& rt);
void run_shutdown_hooks(caf::actor_system& sys);

class current_scope;

/// The runtime's CAF configuration: CAF's options plus troupe's own.
class troupe_config : public caf::actor_system_config {
public:
  troupe_config();
};

/// Everything a runtime owns. Shared by the runtime, by process states (so
/// handles that outlive the runtime fail cleanly) and by process threads.
class runtime_impl : public std::enable_shared_from_this<runtime_impl> {
public:
  /// Parses `argc/argv` when `argv` is not null.
  runtime_impl(runtime_options opts, int argc, char** argv);
  ~runtime_impl();

  /// Second construction step (needs `shared_from_this`): builds the actor
  /// system and the main process.
  void start();

  /// The runtime's destructor: see `runtime`'s class comment.
  void shutdown();

  /// Throws `state_error` once shutdown has finished.
  caf::actor_system& system();

  [[nodiscard]] const runtime_options& options() const {
    return opts_;
  }

  [[nodiscard]] const std::vector<std::string>& args() const {
    return args_;
  }

  thread_pool& threads() {
    return threads_;
  }

  timer_service& timers() {
    return timers_;
  }

  const std::shared_ptr<process_state>& main_state() const {
    return main_;
  }

  /// Names for processes and actors that got none (Python's `Process-N`).
  std::string next_process_name();
  std::string next_actor_name();

  /// Records `st` as running and returns its new pid. Throws `state_error`
  /// when the runtime no longer accepts processes.
  pid_type admit(const std::shared_ptr<process_state>& st) {
    if (!sys_)
      throw_shut_down();
    return registry_.admit(st);
  }

  /// Forgets an ended process.
  void retire(process_state& st, pid_type pid) {
    registry_.retire(st, pid);
  }

  /// Running processes and actors in start order.
  std::vector<std::shared_ptr<process_state>> active() const {
    return registry_.active();
  }

private:
  [[noreturn]] static void throw_shut_down();

  void wait_for(bool daemons, std::chrono::steady_clock::time_point until);

  runtime_options opts_;
  std::vector<std::string> args_;
  std::unique_ptr<troupe_config> cfg_;
  std::unique_ptr<caf::actor_system> sys_;
  thread_pool threads_;
  timer_service timers_;
  std::shared_ptr<process_state> main_;
  caf::actor main_actor_;
  std::unique_ptr<current_scope> main_scope_; // binds main_ to owner_
  std::thread::id owner_;

  process_registry registry_;
  std::atomic<std::uint64_t> process_counter_{0};
  std::atomic<std::uint64_t> actor_counter_{0};
};

} // namespace troupe::detail
