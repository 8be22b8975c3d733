#pragma once

/// The ownership hook: run a function when a process or actor ends, however
/// it ends. Every resource troupe records with its holder (a lock, a
/// semaphore permit, a queue item taken but not acknowledged, a pool's task,
/// a manager's call) is released through it; a module's own resources (an
/// OS-process worker, a shared-memory lease, a remote link) hang on it too.

#include <cstdint>
#include <string_view>

#include "troupe/ext/unique_function.hpp"
#include "troupe/fwd.hpp"

namespace troupe::ext {

/// How a process ended, as its exit hooks see it.
struct exit_info {
  /// The process's exit code (see `process`): 0 normal return, 1 uncaught
  /// exception, -15 terminated, -9 killed, or the code given to
  /// `this_process::exit`.
  int exitcode = 0;

  /// The process's `exit_reason()`. Views the process's own record, valid
  /// for the duration of the hook's call: a hook that keeps it copies it.
  std::string_view reason;
};

/// A function run when a process ends.
using exit_hook = unique_function<void(const exit_info&)>;

/// When an exit hook runs, relative to the thread of the process.
enum class hook_timing : std::uint8_t {
  /// As soon as the process is declared ended, before `join()` returns.
  at_end,

  /// Once no thread runs the process's target any more. The same moment as
  /// `at_end`, except for a blocking process declared killed (`kill()`, or
  /// a terminate grace that ran out) while its thread, which cannot be
  /// pre-empted, still runs: the hook then runs on that thread when it
  /// leaves the target (returns or unwinds), which may be after `join()`
  /// returned, or never if the thread never leaves. For exclusive resources
  /// (a lock, a permit): releasing one while the killed thread may still use
  /// it would let a second holder in beside it.
  after_thread_left,
};

/// Registers `fn` to run once when `p` ends, however it ends: normal
/// return, exception, `this_process::exit`, `terminate()`, `kill()`, a
/// terminate grace running out, the runtime's shutdown. Works alike for a
/// `process`, an `actor` and a `supervisor`; `p` may be registered on before
/// it is started (so that no end is missed), and any number of hooks may be
/// registered. Does not block, beyond running `fn` at once when `p` has
/// already ended.
///
/// When and where `fn` runs (with `hook_timing::at_end`):
/// - at once, on the calling thread, if `p` has already ended;
/// - otherwise on the thread that records the end: the process's own thread
///   after its target returned or unwound; the scheduler thread of an actor
///   that quit or failed; the thread that called `kill()` (a supervisor's,
///   after a child's shutdown timeout; the runtime's timer thread, after a
///   terminate grace); for the main process,
///   the thread destroying the runtime.
/// Hooks run in registration order, each once, before `join()` on `p`
/// returns (so what they release is released when it does). A process that
/// is never started never ends: its hooks are destroyed uncalled with it.
///
/// What `fn` may do: take locks, update state, wake waiters, start or stop
/// other processes, call `ext::on_exit` again. It must not block for long
/// (joiners of `p` and, on the timer thread, other timers wait for it) and
/// must not join `p`. It should not throw: an exception escaping it is
/// written to stderr and dropped, and the other hooks still run. A handle
/// to `p` captured in `fn` is a reference cycle until `p` ends (for ever if
/// it is never started): capture what `fn` needs instead, and a
/// `std::weak_ptr` to the module's own state rather than a strong one.
///
/// Thread-safety: may be called from any thread, concurrently with `p`'s
/// end.
void on_exit(const process& p, exit_hook fn,
             hook_timing when = hook_timing::at_end);

/// Runs `fn` once `p` has called `this_process::ready()` (for a
/// supervisor's `await_ready`): at once on the calling thread if it did
/// already, otherwise on the thread that calls `ready()`, after waiters
/// were woken. Hooks added before it was ready run in the order added.
/// For a module that forwards a remote body's readiness (e.g. an
/// `os_process` child telling its parent). `fn` must not block for long.
void on_ready(const process& p, unique_function<void()> fn);

} // namespace troupe::ext
