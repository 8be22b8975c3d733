#pragma once

// The control link between a parent and one child OS process: CAF's BASP
// over the inherited AF_UNIX socketpair (no listener, nothing to name or
// authenticate). The child publishes an agent on its end; the parent's
// link actor connects, learns the mailbox of the child's process from the
// agent, and forwards to it what is sent to the os_process.

#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

namespace troupe::isolate::detail {

/// What the child reported about its end before exiting (exit code and
/// reason), for the parent to combine with the OS's exit status.
struct reported_end {
  std::mutex mtx;
  std::optional<std::pair<int, std::string>> value;
  /// Called (on the link actor) when the child's process said it is
  /// ready (`this_process::ready()`); set before the link starts.
  std::function<void()> on_ready;
};

/// Loads CAF's middleman into a runtime's configuration (a config hook).
void load_middleman(caf::actor_system_config& cfg);

/// Parent side: adopts `fd` (its end of the socketpair) and spawns the
/// link actor. Messages sent to the returned actor go to the child's
/// process once the link is up (held until then, in order); the child's
/// report of its end lands in `end`. The actor lives until it is sent an
/// exit message.
caf::actor start_parent_link(caf::actor_system& sys, int fd,
                             std::shared_ptr<reported_end> end);

/// Child side: adopts `fd` and publishes an agent on it that tells the
/// parent `mailbox`, relays the end report, and kills the child's process
/// group when the link to the parent is lost.
caf::actor start_child_agent(caf::actor_system& sys, int fd,
                             caf::actor mailbox);

/// Child side: tells the parent that the child's process is ready (its
/// `this_process::ready()`); delivered in order with other messages.
void report_ready(const caf::actor& agent);

/// Child side: tells the parent how the child's process ended and waits
/// (at most `timeout_ms`) until the parent has it. False if it could not.
bool report_end(caf::actor_system& sys, const caf::actor& agent, int code,
                const std::string& reason, int timeout_ms);

} // namespace troupe::isolate::detail
