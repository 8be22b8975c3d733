#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

#include "troupe/detail/unique_function.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"

// What channels and owned resources need from the process layer, without
// the process layer itself (nor CAF): the calling process, stop requests,
// and hooks that run when a process ends. `process_state` stays opaque
// here; troupe/detail/process_state.hpp has it.

namespace troupe::detail {

/// How a process ended, as its exit hooks see it. `reason` views the
/// process state's own record, which outlives the hooks' calls and is not
/// changed once set: a hook that keeps it past its call copies it.
struct exit_info {
  int exitcode = 0;
  std::string_view reason;
};

/// The state of the process the calling thread runs; the main process's on
/// the runtime's thread and on threads troupe does not know; null when no
/// runtime exists.
std::shared_ptr<process_state> current_state();

/// Whether the calling process was asked to stop.
bool stop_requested() noexcept;

/// Throws `terminated` for the calling process.
[[noreturn]] void throw_terminated();

/// The deadline `timeout` from now. Throws `value_error` for a negative
/// timeout.
inline std::chrono::steady_clock::time_point
deadline_after(std::chrono::nanoseconds timeout) {
  if (timeout.count() < 0)
    throw value_error("timeout must not be negative");
  return std::chrono::steady_clock::now() + timeout;
}

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

/// While alive, runs `fn` if the calling process is asked to stop
/// (`terminate()`, `kill()`, a supervisor): how a blocking troupe call
/// (a queue's get, a lock's acquire) wakes its waiter so that it can throw
/// `terminated`. Like `std::stop_callback`: `fn` runs at once if the stop
/// was already requested, and the destructor waits for a running `fn`.
///
/// `fn` runs on the thread that requested the stop and must not block;
/// typically it locks the waited-on mutex and notifies its condition
/// variable. Construct it before locking that mutex, and destroy it after
/// unlocking. On threads troupe does not run, it does nothing.
class stop_callback {
public:
  explicit stop_callback(unique_function<void()> fn);
  ~stop_callback();

  stop_callback(const stop_callback&) = delete;
  stop_callback& operator=(const stop_callback&) = delete;

private:
  std::shared_ptr<process_state> st_;
  unique_function<void()> fn_;
  std::uint64_t id_ = 0;
};

} // namespace troupe::detail
