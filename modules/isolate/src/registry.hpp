#pragma once

#include <string_view>

#include <troupe/isolate/entry.hpp>

namespace troupe::isolate::detail {

/// The entry point registered under `name`; null if none.
entry_invoker find_entry(std::string_view name);

/// The batch invoker of the entry point registered under `name`; null if
/// none.
batch_invoker find_batch(std::string_view name);

/// Runs in a spawned child from its runtime's constructor: reads the start
/// record, runs the entry point as a troupe process, reports its end to
/// the parent and ends the OS process. Never returns.
[[noreturn]] void child_main(runtime& rt, int control_fd, long parent_pid);

/// Waits (at most a few seconds) until every child OS process that
/// runtime `sys` started was reaped (a shutdown hook).
void await_children_of(caf::actor_system& sys);

/// Marks that the child reached its entry point (so that leaving `main`
/// from now on is the entry point's doing, not a missing runtime).
void mark_entry_reached() noexcept;

} // namespace troupe::isolate::detail
