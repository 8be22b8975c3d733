#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "troupe/fwd.hpp"

namespace caf {
class actor_system;
} // namespace caf

namespace troupe {

/// Settings of a runtime. Each has a command-line twin under `troupe.`
/// (see `runtime(argc, argv)`); the command line wins over these values.
struct runtime_options {
  /// How long the destructor waits for non-daemon processes before it
  /// reports the ones still running and stops them
  /// (`--troupe.shutdown-timeout`).
  std::chrono::milliseconds shutdown_timeout{std::chrono::seconds{30}};

  /// Default grace between `terminate()` and declaring a process killed
  /// (`--troupe.terminate-grace`). Processes may override it.
  std::chrono::milliseconds terminate_grace{std::chrono::seconds{1}};

  /// Scheduler threads for event-based actors; 0 picks the number of cores
  /// (`--scheduler.max-threads`, CAF's own option).
  std::size_t scheduler_threads{0};

  /// Idle threads kept for starting blocking processes quickly; threads
  /// beyond this number exit when their process ends
  /// (`--troupe.idle-threads`).
  std::size_t idle_threads{64};
};

/// Owns the CAF actor system and everything troupe runs on it: processes,
/// event-based actors, supervision trees, channels and sync primitives.
///
/// Like Python's main process, it is the root of the process tree: the thread
/// that constructs it becomes the main process (pid 1, name `MainProcess`).
/// Destroying it waits for non-daemon processes outside supervision trees, then
/// stops daemons and trees (from their roots) in reverse start order. It never
/// hangs forever: past `shutdown_timeout` it prints which processes are still
/// running (name and pid) to stderr and stops them; a process thread that does
/// not even end after its terminate grace is abandoned (threads cannot be
/// pre-empted), and the runtime leaks its CAF system rather than destroy it
/// under that thread.
///
/// Thread-safety: all member functions may be called from any thread.
/// Lifetime: construct it before, and destroy it after, every handle it
/// creates is used; handles that outlive it report `state_error`. Make it a
/// local of `main`, never a static: CAF 0.17's actor system aborts when it
/// is destroyed during static destruction.
class runtime {
public:
  /// Builds a runtime with default options.
  runtime();

  /// Builds a runtime with `opts`.
  explicit runtime(runtime_options opts);

  /// Builds a runtime from the command line: CAF's options (e.g.
  /// `--scheduler.max-threads=4`) and troupe's (`--troupe.shutdown-timeout`,
  /// `--troupe.terminate-grace`, `--troupe.idle-threads`), with `defaults`
  /// for what the command line leaves out. Arguments it does not know stay
  /// in `args()`. Like Python's argparse, `--help` prints every option and
  /// exits the program with status 0, and a malformed option (say
  /// `--troupe.terminate-grace=soon`) prints what is wrong and exits with
  /// status 2.
  runtime(int argc, char** argv, runtime_options defaults = {});

  ~runtime();

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// The CAF actor system, for CAF-level work (spawn, monitor, middleman).
  [[nodiscard]] caf::actor_system& system();

  /// The options in effect (after the command line).
  [[nodiscard]] const runtime_options& options() const;

  /// Command-line arguments that neither CAF nor troupe consumed.
  [[nodiscard]] const std::vector<std::string>& args() const;

  /// Every started process and actor of this runtime that has not ended
  /// yet, in start order (`troupe::active_children()` gives only the
  /// calling process's children, as Python's does).
  [[nodiscard]] std::vector<process> active_processes() const;

  /// Internal access for the framework and modules.
  [[nodiscard]] const std::shared_ptr<detail::runtime_impl>& impl() const {
    return impl_;
  }

private:
  void start();

  std::shared_ptr<detail::runtime_impl> impl_;
};

} // namespace troupe
