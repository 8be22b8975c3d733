#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/child_spec.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/process.hpp"
#include "troupe/restart_limit.hpp"

namespace troupe {

namespace detail {
class supervisor_core;
} // namespace detail

/// Which children a supervisor restarts when one of them must be restarted
/// (OTP's strategies).
enum class strategy {
  /// Only the child that ended.
  one_for_one,
  /// All children: the others are stopped in reverse start order, then all
  /// are started again in order.
  one_for_all,
  /// The child that ended and those started after it: the later ones are
  /// stopped in reverse order, then all of them started again in order.
  rest_for_one,
  /// One template spec; children are added with `start_child(extra...)`
  /// and restarted one for one.
  simple_one_for_one,
};

/// Restart with exponential backoff (Akka's `restartWithBackoff`): the
/// n-th consecutive restart of a child waits `min * 2^(n-1)`, at most `max`,
/// varied by +-`jitter` (a fraction). A child that then runs for
/// `reset_after` without failing starts from `min` again.
struct backoff_options {
  std::chrono::milliseconds min{100};
  std::chrono::milliseconds max{10'000};
  double jitter = 0.2;
  std::chrono::milliseconds reset_after{10'000};
};

/// What happened to a child, as a supervisor reports it: every failure and
/// every restart is observable, with the reason (the exception's type and
/// message).
struct supervisor_event {
  enum class kind : std::uint8_t {
    /// A child ended without the supervisor asking it to (`exitcode`,
    /// `reason`); followed by `restarting`, or by nothing if its restart
    /// type says so.
    child_exited,
    /// A restart is scheduled, after `delay` (backoff) or at once.
    restarting,
    /// The child runs again (`pid` is the new instance).
    restarted,
    /// Starting the child threw (`reason`); it is retried (counting toward
    /// the intensity).
    start_failed,
    /// More restarts than the intensity allows within the period: the
    /// supervisor stops its children and ends abnormally, which escalates
    /// to its own supervisor.
    intensity_exceeded,
  };

  kind what = kind::child_exited;
  std::string supervisor;
  std::string child; // the child's id
  pid_type pid = 0;
  std::optional<int> exitcode{};
  std::string reason{};
  int restarts = 0; // the child's restart count so far
  std::chrono::milliseconds delay{0};
  std::chrono::system_clock::time_point when{};
};

/// One line for people: `fleet: child 'w1' (pid 7) exited with code 1:
/// std::runtime_error: boom`.
std::ostream& operator<<(std::ostream& out, const supervisor_event& ev);

/// When a supervisor ends by itself because its significant children
/// ended (OTP 24's `auto_shutdown`): a subtree that is done when its main
/// worker is done (a one-shot job, a per-connection supervisor).
enum class auto_shutdown {
  /// Never; a child spec may not be `significant`.
  never,
  /// When any significant child ends and is not restarted (a transient one
  /// ends normally, a temporary one ends in any way).
  any_significant,
  /// When the last significant child still running (or restarting) ends
  /// so; under simple_one_for_one, when no child is left.
  all_significant,
};

// The deprecated members below must not warn in every copy of the options
// (GCC 12 reports the implicit special members' use of them); clang still
// warns where a program names them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/// Settings of a supervisor, with designated initializers.
struct supervisor_options {
  /// Empty: `Supervisor-N`.
  std::string name{};

  troupe::strategy strategy = troupe::strategy::one_for_one;

  /// At most `restarts.intensity` restarts within `restarts.period` (OTP's
  /// defaults: 1 in 5 s); one more and the supervisor gives up (see
  /// `supervisor_event::kind::intensity_exceeded`).
  restart_limit restarts{};

  /// Deprecated spellings of `restarts.intensity` and `restarts.period`
  /// (troupe 0.1); when given, they take the place of the field they name.
  [[deprecated(
    "use .restarts = {.intensity = n, .period = t}")]] std::optional<int>
    intensity{};
  [[deprecated("use .restarts = {.intensity = n, .period = t}")]] std::optional<
    std::chrono::milliseconds>
    period{};

  /// Empty restarts at once.
  std::optional<backoff_options> backoff{};

  /// Called for every event, on the supervisor's thread or on the thread of
  /// a fast restart, never on two at once (keep it short). It may read this
  /// supervisor (`which_children`, `count_children`, `events`); an
  /// administrative call from it throws `state_error`. The event is the
  /// recorded one, valid during the call: copy what you keep. Empty prints
  /// failures and the restarts they cause to stderr, so no failure goes
  /// unseen. An exception it throws is reported on stderr.
  std::function<void(const supervisor_event&)> on_event{};

  /// How long a top-level supervisor may take to stop its children when it
  /// is terminated before it is declared killed (and its remaining children
  /// with it); empty takes the runtime's shutdown timeout. A nested
  /// supervisor follows its child spec's shutdown instead.
  std::optional<std::chrono::milliseconds> shutdown{};

  /// Whether significant children end the supervisor (see
  /// `troupe::auto_shutdown`). It then stops its other children as at any
  /// end and ends normally (exit code 0): a transient supervisor is not
  /// restarted. `terminate_child` of a significant child does not count,
  /// nor does a temporary significant child stopped by a group restart.
  troupe::auto_shutdown auto_shutdown = troupe::auto_shutdown::never;
};

#pragma GCC diagnostic pop

/// State of a child in `which_children` and the tree.
enum class child_state : std::uint8_t {
  running,
  /// Ended and waiting to be started again (backoff, or a failed start).
  restarting,
  /// Spec kept, not running (`terminate_child`, or a transient child that
  /// ended normally); `restart_child` starts it.
  stopped,
};

/// One row of `which_children` (OTP's `{Id, Child, Type, Modules}`).
struct child_info {
  std::string id;
  std::optional<process> handle; // empty unless running
  child_type type = child_type::worker;
  child_state state = child_state::stopped;
  int restarts = 0;
};

/// OTP's `count_children`.
struct child_counts {
  std::size_t specs = 0;
  std::size_t active = 0;
  std::size_t supervisors = 0;
  std::size_t workers = 0;

  friend bool operator==(const child_counts&, const child_counts&) = default;
};

/// A snapshot of a supervision tree, printable with `operator<<`:
///
///     supervisor 'fleet' pid=3 running one_for_one restarts=2
///     |-- worker 'w1' pid=9 running restarts=2
///     `-- supervisor 'io' pid=5 running rest_for_one restarts=0
///         `-- worker 'reader' pid=6 running restarts=0
struct supervision_tree {
  std::string id;
  std::string name;
  pid_type pid = 0;
  child_type type = child_type::worker;
  child_state state = child_state::stopped;
  int restarts = 0;
  std::optional<troupe::strategy> strategy{}; // supervisors only
  std::vector<supervision_tree> children{};
};

std::ostream& operator<<(std::ostream& out, const supervision_tree& tree);

[[nodiscard]] std::string to_string(const supervision_tree& tree);
[[nodiscard]] const char* to_string(strategy s);
[[nodiscard]] const char* to_string(child_state s);

/// Error codes of the administrative calls, OTP's results.
enum class supervisor_errc : std::uint8_t {
  already_started,       // start_child: the id runs
  already_present,       // start_child: the id exists, not running
  running,               // restart_child, delete_child: the child runs
  restarting,            // restart_child, delete_child: a restart is pending
  not_found,             // no child with this id (or handle)
  simple_one_for_one,    // not available for simple_one_for_one
  not_simple,            // start_child(extra...) needs simple_one_for_one
  start_failed,          // the child's start threw (message says why)
  not_running,           // the supervisor has ended
  reached_max_intensity, // why a supervisor gave up (its exit reason)
};

/// Thrown by a supervisor's administrative calls; `code()` says which of
/// OTP's results it is.
class supervisor_error : public error {
public:
  supervisor_error(supervisor_errc code, const std::string& what)
    : error(what), code_(code) {}

  [[nodiscard]] supervisor_errc code() const noexcept {
    return code_;
  }

private:
  supervisor_errc code_;
};

/// A supervisor: Erlang/OTP's, for processes and event-based actors.
///
/// It starts its children in order when constructed (the constructor
/// blocks until they run; if one fails to start, the ones started are
/// stopped in reverse order and the constructor throws `supervisor_error`
/// with code `start_failed`). When a child ends, its restart type and the
/// strategy decide what is restarted; more than `intensity` restarts
/// within `period` make the supervisor stop all children in reverse order
/// and end abnormally, escalating to its own supervisor. Stopping a
/// supervisor (`terminate()`, the runtime's shutdown, its own supervisor)
/// stops its children in reverse start order, each by its shutdown spec.
/// Whatever way a supervisor ends, no child outlives it.
///
/// A supervisor is a process (it runs on a thread of its own and is joined,
/// named, terminated like one), so it nests: a child can be a supervisor.
/// `terminate()` on a supervised child goes through its supervisor, which
/// stops it by its shutdown spec and does not restart it (as
/// `terminate_child`); `kill()` on a child is a failure, and the child is
/// restarted as its restart type says.
///
/// Thread-safety: every member may be called from any thread except the
/// supervisor's own (its `on_event` callback). The administrative calls
/// block until the supervisor has done the work (stopping a child waits
/// for its shutdown).
class supervisor : public process {
public:
  /// Starts a supervisor and its children; blocks until they were started.
  supervisor(runtime& rt, supervisor_options opts,
             std::vector<child_spec> children = {});

  /// The supervisor behind a process handle (a child of type supervisor,
  /// a `which_children` handle). Throws `value_error` if `p` is not one.
  [[nodiscard]] static supervisor from(const process& p);

  // -- administration (OTP's supervisor module)
  // --------------------------------

  /// Adds and starts a child. Throws `supervisor_error`: `already_started`
  /// or `already_present` when the id exists, `start_failed` when its start
  /// threw (the spec is then not added), `simple_one_for_one`.
  process start_child(child_spec spec);

  /// For `simple_one_for_one`: starts a child from the template with these
  /// extra arguments (appended to the template's). A mismatch with the
  /// template's extra types throws `value_error`.
  template <class... Args>
    requires(!(sizeof...(Args) == 1
               && (std::is_same_v<std::decay_t<Args>, child_spec> && ...)))
  process start_child(Args&&... extra) {
    return start_child_with(std::any{
      std::tuple<detail::extra_arg_t<Args>...>{std::forward<Args>(extra)...}});
  }

  /// Stops the child by its shutdown spec and keeps its spec (removed for
  /// temporary children), as OTP's. Idempotent; `not_found` for an unknown
  /// id. Blocks until the child has ended. On a child that is restarting,
  /// ends its restart loop; under one_for_all and rest_for_one, the
  /// children after it that wait to restart with it stay stopped, as OTP
  /// leaves them.
  void terminate_child(const std::string& id);

  /// Stops the child with this handle (any strategy; the only way for
  /// `simple_one_for_one`, whose children are then forgotten). The handle
  /// of an instance that ended while its child waits to restart (backoff,
  /// failed starts) still names that child: this ends its restart loop.
  /// Throws `not_found` if `child` is neither a running child of this
  /// supervisor nor such an instance.
  void terminate_child(const process& child);

  /// Starts a stopped child again. Throws `running`, `restarting`,
  /// `not_found`, `simple_one_for_one`, `start_failed`.
  process restart_child(const std::string& id);

  /// Removes a stopped child's spec. Throws `running`, `restarting`,
  /// `not_found`, `simple_one_for_one`.
  void delete_child(const std::string& id);

  /// Every child in start order. Like every read below, this is a call to
  /// the supervisor, answered in order with the child exits already
  /// reported to it (as OTP's): after `p.kill()` returns, `which_children`
  /// shows `p` replaced (or restarting). Blocks briefly; from the
  /// supervisor's own thread (`on_event`), or once it has ended, it reads
  /// the current state directly.
  [[nodiscard]] std::vector<child_info> which_children() const;

  [[nodiscard]] child_counts count_children() const;

  /// A snapshot of this supervisor and everything under it.
  [[nodiscard]] supervision_tree tree() const;

  /// The most recent events (at most 256), oldest first.
  [[nodiscard]] std::vector<supervisor_event> events() const;

  /// Restarts of all children so far.
  [[nodiscard]] int restarts() const;

  /// Internal.
  [[nodiscard]] const std::shared_ptr<detail::supervisor_core>& core() const {
    return core_;
  }

private:
  supervisor(std::shared_ptr<detail::process_state> st,
             std::shared_ptr<detail::supervisor_core> core);

  process start_child_with(std::any extra);

  std::shared_ptr<detail::supervisor_core> core_;
};

/// A snapshot of the whole runtime: its root supervisor (the runtime,
/// whose temporary children are the processes, actors and supervisors
/// started outside any supervisor) and every tree below it.
[[nodiscard]] supervision_tree supervision_snapshot(runtime& rt);

} // namespace troupe
