#pragma once

/// A process whose body runs outside this OS process — a worker in an OS
/// process of its own, a process on another node — with everything else of
/// a `troupe::process`: a pid and a name in this runtime, a parent,
/// `join`, `is_alive`, `exitcode` and `exit_reason`, exit hooks (so what it
/// holds is released when it ends), `terminate` and `kill`, supervision
/// (a child spec's start function may return its handle), and the
/// runtime's shutdown (waited for, or terminated when a daemon). The module
/// that runs the body maps stop requests onto it and reports its end.

#include <string>
#include <utility>

#include "troupe/ext/unique_function.hpp"
#include "troupe/process.hpp"

namespace caf {
class actor;
} // namespace caf

namespace troupe::ext {

/// The module's side of one external process.
///
///     ext::external_process ext{rt, {.name = "resize"},
///                               [pidfd](int sig) { send_signal(pidfd, sig);
///                               }};
///     troupe::process p = ext.handle();   // to the user, or a supervisor
///     ...                                 // when the OS child is reaped:
///     ext.finish(-11, "killed by SIGSEGV (segmentation fault)");
///
/// Constructing it starts the process: it is admitted to the runtime (a
/// pid, the calling process as its parent, part of the calling supervisor's
/// tree when a child spec's start function makes it) and running.
///
/// Stopping: `terminate()` (by a user, a supervisor's shutdown spec or the
/// runtime's shutdown) calls `stop(15)` and starts the grace; when the grace
/// runs out, or on `kill()`, `stop(9)` is called and the process is declared
/// killed at once (exit code -9, as Python reports a SIGKILLed child),
/// without waiting for the body: the module's later `finish` then returns
/// false. Each signal reaches `stop` at most once, on the requesting
/// thread (a user's, a supervisor's, the runtime's timer thread): it must
/// not block. What it throws is reported on stderr; the process still ends.
///
/// Thread-safety: every member from any thread. Lifetime: the process
/// outlives this object (handles keep it); destroying this object before
/// `finish` leaves the process running until a stop request or the
/// runtime's shutdown declares it killed — call `finish` when the body
/// ends.
class external_process {
public:
  /// Called with 15 (terminate) or 9 (kill).
  using stop_fn = unique_function<void(int signal)>;

  /// Starts the process with `opts` (name, daemon, terminate grace, as for
  /// `troupe::process`). Throws `state_error` once the runtime shuts down.
  external_process(runtime& rt, process_options opts, stop_fn stop);

  external_process(const external_process&) = delete;
  external_process& operator=(const external_process&) = delete;
  external_process(external_process&&) noexcept = default;
  external_process& operator=(external_process&&) noexcept = default;
  ~external_process() = default;

  /// The process, as users and supervisors see it. Its `start()` throws
  /// `state_error` (it is running already).
  [[nodiscard]] const process& handle() const noexcept {
    return handle_;
  }

  /// Where messages sent to the process go (e.g. a proxy of the body's
  /// actor on the other side of a link); until set, and after the end,
  /// they are dropped, as messages to any ended process are.
  void set_mailbox(caf::actor mailbox) const;

  /// Declares the end of the body: its exit code (0, 1 after an uncaught
  /// exception, n after `this_process::exit(n)`, -signal after a signal)
  /// and `exit_reason()`. Runs the exit hooks and wakes joiners. False
  /// (nothing done) when the process had already ended, e.g. declared
  /// killed.
  bool finish(int exitcode, std::string reason) const;

  /// Declares that the body finished its initialisation, as
  /// `this_process::ready()` does for a thread (a supervisor's
  /// `await_ready` waits for it). Idempotent.
  void mark_ready() const;

private:
  process handle_;
};

} // namespace troupe::ext
