#pragma once

/// Stop requests, for modules whose blocking calls must end when the
/// calling process is asked to stop.
///
/// `process::terminate()`, `kill()`, a supervisor stopping its children and
/// the runtime's shutdown all ask a process to stop. Every blocking troupe
/// call then throws `troupe::terminated` in that process, so that RAII
/// unwinds its target; a module's blocking call does the same with these
/// three pieces: it checks `stop_requested()` before it sleeps, keeps an
/// `ext::stop_callback` that wakes it while it sleeps, and throws with
/// `throw_terminated()` when it wakes to a stop. For the common case, a wait
/// on a condition variable, troupe/ext/wait.hpp does all three.
///
/// "The calling process" is the process or actor whose thread calls: the
/// thread of a blocking process, or a scheduler thread while it runs an
/// actor's handler. Nobody can ask the main process (the runtime's thread,
/// and threads troupe did not start) to stop: there `stop_requested()` is
/// false and a `stop_callback` does nothing.

#include <cstdint>
#include <memory>

#include "troupe/ext/unique_function.hpp"
#include "troupe/fwd.hpp"

namespace troupe::ext {

/// Whether the calling process was asked to stop (terminate, kill, its
/// supervisor, the runtime's shutdown). Once true, it stays true for the
/// rest of the process's life. Does not block; false on the main process
/// and on threads troupe does not run. Cheap: one thread-local read and
/// one atomic load.
[[nodiscard]] bool stop_requested() noexcept;

/// Throws `troupe::terminated` with the calling process's name and pid in
/// its message, as the framework's own blocking calls do when they wake to
/// a stop request. Call it only once `stop_requested()` is true.
[[noreturn]] void throw_terminated();

/// While alive, runs `fn` if the calling process is asked to stop: how a
/// blocking call wakes its sleeping caller so that it can throw
/// `terminated`. Like `std::stop_callback`:
///
/// - `fn` runs at most once per object;
/// - if the stop was already requested, `fn` runs at once, in the
///   constructor, on the constructing thread;
/// - otherwise it runs on the thread that asks for the stop (the caller of
///   `terminate()` or `kill()`, the runtime's timer thread after a
///   terminate grace, a supervisor's thread);
/// - the destructor deregisters `fn`, and waits if `fn` is running on
///   another thread at that moment, so after it returns `fn` neither runs
///   nor will.
///
/// `fn` must not block, must not throw, and must not ask a process to stop:
/// it runs while the stop request holds a lock. Typically it takes the
/// waited-on mutex for a moment and notifies the condition variable (the
/// moment under the mutex closes the window between the waiter's last
/// check and its sleep). Construct the callback before locking that mutex
/// and destroy it after unlocking: its constructor may run `fn` at once and
/// its destructor may wait for a running `fn`, and both would deadlock with
/// the mutex held.
///
/// On the main process and on threads troupe does not run, it does nothing
/// (nobody can ask them to stop).
///
/// Thread-compatible: construct and destroy it on the same thread.
class stop_callback {
public:
  explicit stop_callback(unique_function<void()> fn);
  ~stop_callback();

  stop_callback(const stop_callback&) = delete;
  stop_callback& operator=(const stop_callback&) = delete;

private:
  std::shared_ptr<detail::process_state> st_;
  unique_function<void()> fn_;
  std::uint64_t id_ = 0;
};

} // namespace troupe::ext
