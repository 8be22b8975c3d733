#pragma once

// Entry points the isolate tests start in child OS processes, shared by
// the test files and the binary's main().

#include <string>

#include <troupe/isolate/entry.hpp>

namespace isolate_test {

/// Starts `/bin/sleep 60` in its own process group (a grandchild), writes
/// "<own pid> <grandchild pid>" to `<dir>/pids`, then sleeps until
/// stopped.
void spawns_grandchild(std::string dir);

/// Sleeps `ms` milliseconds in troupe's checkpointed sleep, then returns.
void sleeps_for(int ms);

/// Appends "start <id> <pid>" to `log`, then obeys one message: 1 throws,
/// 2 segfaults, 3 returns; a stop appends "stop <id> <pid>" and unwinds.
void logged_worker(std::string log, std::string id);

/// Creates the file `ready` (unless empty), then never reaches a troupe
/// call again: only SIGKILL stops it.
void spins(std::string ready);

} // namespace isolate_test

TROUPE_ENTRY(isolate_test::spawns_grandchild);
TROUPE_ENTRY(isolate_test::sleeps_for);
TROUPE_ENTRY(isolate_test::logged_worker);
TROUPE_ENTRY(isolate_test::spins);
