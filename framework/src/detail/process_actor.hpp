// The blocking CAF actor behind a process (process_actor) and what ends
// its run early (exit_request).

#pragma once

#include <memory>

#include <caf/blocking_actor.hpp>

#include "troupe/detail/process_state.hpp"
#include "troupe/detail/spin.hpp"
#include "troupe/fwd.hpp"

namespace troupe::detail {

/// The blocking CAF actor behind a process: it owns the mailbox. For the
/// main process it stays on the runtime's thread; otherwise `launch` hands
/// it to a pool thread that runs the target.
class process_actor final : public caf::blocking_actor {
public:
  process_actor(caf::actor_config& cfg, std::shared_ptr<process_state> st,
                std::unique_ptr<process> obj);

  void launch(caf::execution_unit* eu, bool lazy, bool hide) override;

  const char* name() const override {
    return "troupe.process";
  }

  /// Runs the process on the calling (pool) thread.
  void run_on_this_thread();

  /// Ends the main process's actor (it has no thread of its own).
  void close_main();

  void await_data() override;
  bool await_data(timeout_type timeout) override;

private:
  /// Spins up to the budget; returns whether mail arrived.
  bool spin_for_mail() noexcept;

  std::shared_ptr<process_state> st_;
  std::unique_ptr<process> obj_; // the subclass copy to run, if any
  wait_spin spin_;               // owner thread only
};

/// Thrown by `this_process::exit`; `run_on_this_thread` turns it into the
/// exit code.
struct exit_request {
  int code;
};

} // namespace troupe::detail
