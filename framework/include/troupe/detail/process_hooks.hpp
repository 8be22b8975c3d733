#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "troupe/detail/unique_function.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/exit_hook.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/fwd.hpp"

// What channels and owned resources need from the process layer, without
// the process layer itself (nor CAF): the calling process, stop requests,
// and hooks that run when a process ends. `process_state` stays opaque
// here; troupe/detail/process_state.hpp has it.

namespace troupe::detail {

/// How a process ended, as its exit hooks see it (see troupe/ext/).
using exit_info = ext::exit_info;

/// The state of the process the calling thread runs; the main process's on
/// the runtime's thread and on threads troupe does not know; null when no
/// runtime exists.
std::shared_ptr<process_state> current_state();

/// Whether the calling process was asked to stop.
bool stop_requested() noexcept;

/// Throws `terminated` for the calling process.
[[noreturn]] void throw_terminated();

/// Registers `fn` to run once when `st` ends, however it ends (return,
/// exception, terminate, kill); runs it at once if it already ended. This
/// is how held resources are released (`process_state::on_exit`).
void on_process_exit(process_state& st,
                     unique_function<void(const exit_info&)> fn);

/// Runs `fn` once no thread runs the target of `st` any more: at once,
/// unless `st` was declared killed while its thread still runs; then on
/// that thread when it leaves the target. How what a killed process holds
/// (a lock, a permit, an unacknowledged queue item) is released without
/// letting another process in while the killed thread is still inside.
/// `fn` should not throw (what it throws is logged).
void after_thread_left(const process_state& st, unique_function<void()> fn);

/// The framework's spelling of `ext::stop_callback`: how a blocking troupe
/// call wakes its waiter when the calling process is asked to stop.
using stop_callback = ext::stop_callback;

} // namespace troupe::detail
