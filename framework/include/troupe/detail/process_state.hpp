#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>

#include "troupe/detail/process_hooks.hpp"
#include "troupe/detail/unique_function.hpp"
#include "troupe/ext/deadline.hpp"
#include "troupe/ext/exit_hook.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/fwd.hpp"

namespace troupe {
class process;
} // namespace troupe

namespace troupe::detail {

class supervisor_core;

/// The shared state behind every handle of one process or actor.
///
/// Thread-safety: members marked (mtx) are guarded by `mtx`; `stop_signal`
/// is atomic; the rest is set before `start()` publishes the state and not
/// changed afterwards.
class process_state : public std::enable_shared_from_this<process_state> {
public:
  /// `external`: a body that runs outside this OS process (an OS-process
  /// worker, a process on another node), driven by a module through
  /// `ext::external_process`: no thread or actor here, stop requests go to
  /// `external_stop`, its end comes from the module.
  enum class kind : std::uint8_t { blocking, event_based, main, external };
  enum class phase : std::uint8_t { initial, running, ended };

  process_state(std::shared_ptr<runtime_impl> rt, kind k, std::string name,
                bool daemon, std::chrono::milliseconds terminate_grace);

  ~process_state();

  process_state(const process_state&) = delete;
  process_state& operator=(const process_state&) = delete;

  // -- set up before start ----------------------------------------------------

  const std::shared_ptr<runtime_impl> rt;
  const kind type;
  std::chrono::milliseconds terminate_grace;
  unique_function<void()> target; // blocking processes built from a callable
  /// An external process's stop requests: called with 15 (terminate) or 9
  /// (kill), each at most once, on the requesting thread.
  unique_function<void(int)> external_stop;
  bool subclass = false; // runs a copy of a process_base object

  // -- guarded by mtx ---------------------------------------------------------

  mutable std::mutex mtx;
  std::condition_variable cv; // notified when the process ends
  std::string name;
  pid_type pid = 0;
  std::shared_ptr<process_state> parent;
  phase ph = phase::initial;
  std::optional<int> exitcode;
  std::string reason;
  caf::actor hdl; // while running

  /// An event-based actor's storage, held weakly: CAF destroys the actor
  /// when it ends, but frees its memory when this state goes, on the thread
  /// that drops the last handle, as with CAF's own handles. Allocating on
  /// the spawning thread and freeing on a worker would contend for the
  /// allocator's arena lock on every spawn (docs/benchmarks.md).
  caf::actor_addr body;

  /// Atomic rather than guarded: shutdown reads it while holding the
  /// runtime's lock, which never nests with `mtx`.
  std::atomic<bool> daemon;

  /// Asked to stop: 0 no, 15 terminate, 9 kill. Blocking calls check it.
  std::atomic<int> stop_signal{0};

  /// Set when the thread of a blocking process has left its target (it may
  /// do so after the process was declared killed).
  std::atomic<bool> thread_done{false};

  // -- supervision ------------------------------------------------------------

  /// Part of a supervision tree (a supervisor, or a child of one): the
  /// runtime's shutdown stops trees from their roots instead of waiting for
  /// them like other non-daemon processes.
  std::atomic<bool> in_tree{false};

  /// The supervisor this process is a child of (empty for the runtime's
  /// direct children). (mtx)
  std::weak_ptr<supervisor_core> supervised_by;

  /// Set before start when this process is a supervisor.
  std::shared_ptr<supervisor_core> as_supervisor;

  /// Which child of `supervised_by` this is (its index there). (mtx)
  std::uint64_t child_uid = 0;

  /// Set by `this_process::ready()` (the child finished its
  /// initialisation); `cv` is notified. (mtx)
  bool ready = false;

  /// Run once, when `ready` turns true (`ext::on_ready`). (mtx)
  unique_function<void()> ready_hook;

  /// Sets `ready`, notifies `cv`, then runs `ready_hook` (outside `mtx`)
  /// if it turned true now.
  void mark_ready();

  // -- links of the runtime's registry (guarded by its shard lock) ------------

  process_state* reg_prev = nullptr;
  process_state* reg_next = nullptr;
  pid_type reg_pid = 0;
  std::shared_ptr<process_state> reg_self; // keeps it alive while running

  // -- operations -------------------------------------------------------------

  /// Registers `fn` to run once when the process ends, however it ends
  /// (return, exception, terminate, kill). Runs `fn` at once if it already
  /// ended. This is how held resources are released.
  void on_exit(unique_function<void(const exit_info&)> fn);

  /// Records the end of the process, runs the exit hooks and wakes joiners.
  /// Returns false (and does nothing) if it had already ended.
  bool finish(int code, std::string why);

  /// Whether `finish` has also run the exit hooks (joiners wait for this,
  /// so what the process held is released when `join()` returns). (mtx)
  bool settled = false;

  /// Waits until the process ended or `until` passed; returns whether it
  /// ended.
  bool await_end(ext::deadline until);

  [[nodiscard]] bool ended() const;

  [[nodiscard]] caf::actor handle() const;

  /// Runs the stop callbacks (see `ext::stop_callback`), each at most once
  /// (a kill after a terminate calls this again). Called once the stop
  /// signal is set.
  void run_stop_callbacks();

  /// An external process: calls `external_stop(signal)` unless it was
  /// called with that signal before; what it throws is reported on
  /// stderr.
  void run_external_stop(int signal);

private:
  friend class ext::stop_callback;

  using exit_hook = unique_function<void(const exit_info&)>;

  // (mtx) In registration order: the first in place (a supervised child
  // has one, its supervisor's, so registering it allocates nothing), the
  // others after it.
  exit_hook first_exit_hook_;
  std::vector<exit_hook> more_exit_hooks_;

  /// Guards `stop_callbacks_`; held while they run, so that a
  /// `stop_callback` destructor waits for its callback to finish.
  std::mutex stop_mtx_;
  std::vector<std::pair<std::uint64_t, unique_function<void()>*>>
    stop_callbacks_;
  std::uint64_t next_stop_callback_ = 0;
  bool external_termed_ = false; // (stop_mtx_)
  bool external_killed_ = false; // (stop_mtx_)
};

/// Set on a supervisor's thread while it runs a child's start: processes
/// and actors started then are part of its tree from their first moment
/// (so an early failure is reported by the supervisor, not as an orphan).
bool& starting_supervised_child() noexcept;

/// Routes `terminate()` of a supervised process through its supervisor
/// (defined with the supervisor). Returns false if the supervisor no longer
/// takes requests; the caller then stops the process itself.
bool route_terminate(const std::shared_ptr<supervisor_core>& sup,
                     const std::shared_ptr<process_state>& child);

/// Declares a process killed now (exit code -9, `why` as its reason),
/// releasing what it held; its thread is asked to stop as by terminate.
void kill_process(const std::shared_ptr<process_state>& st, std::string why);

/// Whether `st` is a blocking process declared killed whose thread still
/// runs its target: `kill()` cannot stop a thread, so what it holds stays
/// in use until the thread leaves (returns or unwinds).
[[nodiscard]] bool killed_thread_inside(const process_state& st) noexcept;

/// Called by the thread of a blocking process once it has set
/// `thread_done`: runs what `after_thread_left` deferred.
void thread_left(const process_state& st);

/// Asks a process to stop with `signal` (15 or 9) and wakes its blocking
/// receive; schedules the grace that declares it killed.
void request_stop(const std::shared_ptr<process_state>& st, int signal);

/// Asks a process to stop (signal 15 or 9), like `request_stop`, with a
/// grace other than its own: `grace` max() means no grace timer at all.
void request_stop(const std::shared_ptr<process_state>& st, int signal,
                  std::chrono::milliseconds grace);

/// The parent to record for a process or actor created on the calling
/// thread: the process it runs (`current_state()`), unless a
/// `parent_scope` says otherwise.
std::shared_ptr<process_state> spawning_parent();

/// The daemon flag of a process or actor created with `opts` by `parent`:
/// the one `opts` gives, else the parent's (Python inherits it too).
bool inherited_daemon(const process_options& opts,
                      const process_state* parent) noexcept;

/// While alive, processes and actors created on the calling thread get
/// `parent` as their parent: a supervisor restarting a child on the thread
/// that reported the failure (a fast restart, see
/// framework/src/supervision/core_loop.cpp) is still its parent.
class parent_scope {
public:
  explicit parent_scope(process_state* parent) noexcept;
  ~parent_scope();

  parent_scope(const parent_scope&) = delete;
  parent_scope& operator=(const parent_scope&) = delete;

private:
  process_state* prev_;
};

/// As `current_state()`, without the reference count: null on threads troupe
/// does not run (no fallback to the main process). The state outlives every
/// call made from its own thread.
process_state* current_state_ptr() noexcept;

} // namespace troupe::detail
