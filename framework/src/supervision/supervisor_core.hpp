#pragma once

// The state and loop behind a `troupe::supervisor`. Its work is spread over
// framework/src/supervision/ in the order it flows:
//
//   executing       commands in (an ext::serial_executor): child exits, calls,
//                   reads, delayed restarts; which supervisor a thread runs
//   core_loop       construction, the loop, fast restarts, timers
//   children        the children table and its readers
//   start_stop      starting and stopping instances
//   restarts        a child's end, strategies, intensity, backoff (calling
//                   restart_policy, which decides)
//   events          the event ring and its reports
//   admin           OTP's administrative calls
//   tree            snapshots of the tree and their printing
//   supervisor      the public facade (and child_spec: start_supervisor)

#include <any>
#include <chrono>
#include <cstdint>
#include <exception>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "troupe/detail/process_state.hpp"
#include "troupe/runtime.hpp"
#include "troupe/supervisor.hpp"

#include "supervision/executing.hpp"
#include "supervision/restart_policy.hpp"

namespace troupe::detail {

/// The supervisor's state and loop. The loop runs on the supervisor's own
/// process thread and, with fast restarts (below) the thread holding
/// `exec_`, is the only writer of the children table; readers
/// (`which_children`, the tree) take `mtx_`. Everything else reaches the
/// loop as a command in its queue: child exits (posted by exit hooks on
/// whatever thread ended the child), administrative calls (whose callers
/// wait for the result), delayed restarts (posted by timers).
///
/// Fast restarts: a one_for_one (or simple_one_for_one) supervisor without
/// backoff whose child was started by `start_actor` or `start_process`
/// handles that child's exit directly on the thread that reports it, when
/// nothing else is queued or running and the restart cannot exceed the
/// intensity. The replacement then starts on that very thread (an actor on
/// the same scheduler worker, a process on the same pool thread once the
/// failed one has left it), without waking the supervisor's thread or any
/// other: this is what brings a restart to a few microseconds. `exec_`
/// makes sure only one thread at a time runs the supervisor's commands;
/// everything else (intensity exceeded, other strategies, a failed start)
/// goes through the queue as before.
class supervisor_core : public std::enable_shared_from_this<supervisor_core> {
public:
  using clock = std::chrono::steady_clock;
  using milliseconds = std::chrono::milliseconds;

  /// How many events `events()` keeps.
  static constexpr std::size_t max_events = 256;

  supervisor_core(runtime& rt, supervisor_options opts,
                  std::vector<child_spec> specs);

  const std::string& name() const {
    return opts_.name;
  }

  const supervisor_options& options() const {
    return opts_;
  }

  std::future<void> init_future() {
    return init_.get_future();
  }

  // -- the loop (core_loop.cpp) -----------------------------------------------

  /// Binds the core to its own process, before that process starts.
  void bind(process_state* self);

  /// The supervisor process's body.
  void run();

  /// A child's exit, as its exit hook reports it: handled here and now when
  /// a fast restart applies (see the class comment), else queued.
  void child_exited(std::uint64_t uid, std::uint64_t gen,
                    const exit_info& info);

  /// Queues a command; false if the supervisor has ended.
  bool post(command cmd) {
    return exec_.post(std::move(cmd));
  }

  /// Runs `fn` on the supervisor's thread and returns its result (or throws
  /// what it threw). Blocks the caller.
  template <class R>
  R call(unique_function<R()> fn);

  /// Runs a read on the supervisor's thread, in order with the events
  /// already queued (OTP's which_children is a call too: a child whose end
  /// was posted before is seen restarted). On its own thread, or once it
  /// has ended, it reads directly.
  template <class R>
  R read(unique_function<R()> fn);

  // -- administration, on the supervisor's thread (admin.cpp) -----------------

  process start_child(child_spec spec);
  process start_child_with(std::any extra);
  void terminate_child(const std::string& id);
  void terminate_child(const std::shared_ptr<process_state>& st);
  process restart_child(const std::string& id);
  void delete_child(const std::string& id);

  // -- reading, from any thread -----------------------------------------------

  std::vector<child_info> which_children(); // children.cpp
  child_counts count_children();            // children.cpp
  std::vector<supervisor_event> events();   // events.cpp
  int restarts();                           // events.cpp
  std::vector<child_info> children_now() const;
  child_counts counts_now() const;

  /// This supervisor's node, given its own process's identity. Nested
  /// supervisors are asked in turn, from the calling thread (tree.cpp).
  supervision_tree tree(const process_state& self);

  /// `terminate()` on one of our children: stop it as terminate_child does.
  bool route_terminate(const std::shared_ptr<process_state>& st);

  /// Brutally kills every child still running (the exit hook's net).
  void kill_children(const std::string& why);

private:
  /// A call's result, computed under `exec_` and handed over after it.
  template <class R>
  struct outcome {
    std::promise<R> promise;
    std::optional<std::conditional_t<std::is_void_v<R>, bool, R>> value;
    std::exception_ptr error;

    void deliver() {
      if (error)
        promise.set_exception(error);
      else if constexpr (std::is_void_v<R>)
        promise.set_value();
      else
        promise.set_value(std::move(*value));
    }
  };

  /// Thrown inside the loop when the supervisor must give up (intensity).
  struct escalation {
    std::string why;
  };

  /// Thrown inside the loop when its significant children say it is done
  /// (`auto_shutdown`): it stops the others and ends normally.
  struct auto_shutdown_reached {};

  struct child;
  /// In start order; a child keeps its own position, so removing it and
  /// finding its group's start cost O(1).
  using child_list = std::list<std::unique_ptr<child>>;

  struct child {
    std::uint64_t uid = 0;
    /// Shutdown and type resolved; shared with the template under
    /// simple_one_for_one. A temporary child's is replaced by one without
    /// its start once it runs: it never restarts (OTP drops its arguments).
    std::shared_ptr<const child_spec> spec;
    std::string name;
    std::shared_ptr<const std::any> extra; // simple_one_for_one arguments
    std::shared_ptr<process_state> st;     // the running instance
    /// The instance that ended while the child restarts, so that
    /// `terminate_child(handle)` still finds it (OTP's `{restarting, Pid}`).
    std::shared_ptr<process_state> ended;
    child_list::iterator pos; // in children_
    pid_type pid = 0;         // `st`'s pid (set with `st`)
    std::uint64_t gen = 0;    // which start `st` is
    child_state state = child_state::stopped;
    /// (exec_) `st` was asked to stop by its own `terminate()` and ends the
    /// child when it exits (see `end_child_soon`).
    bool ending = false;
    int restarts = 0;
    int consecutive = 0; // restarts in a row, for backoff
    clock::time_point started_at{};
  };

  // -- the loop (core_loop.cpp) -----------------------------------------------

  void validate_options() const;
  bool stop_requested() const;

  /// Runs `on_child_exit` on the calling thread if a fast restart applies;
  /// returns false when the exit must be queued instead.
  bool exit_here(std::uint64_t uid, std::uint64_t gen, const exit_info& info);

  /// Runs `(this->*fn)(uid)` on the supervisor's thread after `delay` (or
  /// after whatever is queued, for 0).
  void after(milliseconds delay, std::uint64_t uid,
             void (supervisor_core::*fn)(std::uint64_t));

  // -- the children table (children.cpp) --------------------------------------

  child_spec resolve(child_spec spec) const;
  child* find(const std::string& id) const;
  child* find(const std::shared_ptr<process_state>& st) const;
  child* find(std::uint64_t uid) const;
  child& add(std::unique_ptr<child> c);
  child& require(const std::string& id) const;
  void remove(std::uint64_t uid);

  static pid_type pid_of(const child& c) {
    return c.st ? c.pid : 0;
  }

  // -- starting and stopping (start_stop.cpp) ---------------------------------

  void start_one(child& c);
  void await_ready(const std::shared_ptr<process_state>& st);
  void forget_start(child& c);
  void stop_one(child& c);
  void end_child(child& c);
  void end_child_soon(child& c);
  void start_initial();
  void shutdown_children();
  void stop_dynamic_children();

  // -- restarts (restarts.cpp) ------------------------------------------------

  static child_facts facts_of(const child& c) {
    return {c.spec->restart, c.spec->significant, c.state, c.st != nullptr};
  }

  static child_facts facts(child_list::iterator i) {
    return facts_of(**i);
  }

  void on_child_exit(std::uint64_t uid, std::uint64_t gen,
                     const exit_info& info);
  void check_auto_shutdown();
  template <class Why>
  void count_restart(const child& c, Why why);
  void restart_group(child& failed);
  void stop_group(child& failed);
  restart_policy::group<child_list::iterator> group_of(child& failed);
  milliseconds backoff_for(child& c);
  void start_scheduled(child& failed);
  void start_scheduled_uid(std::uint64_t uid);
  void restart_one(child& c);
  void start_group(child_list::iterator from);
  void restarted(child& c);
  void start_failed(child& c, const std::string& why);
  void retry(std::uint64_t uid);

  // -- events (events.cpp) ----------------------------------------------------

  /// Records an event of kind `what` about `c` and reports it; `fill` sets
  /// the fields particular to the kind. Runs under `exec_`, as everything
  /// that emits: the event is written straight into its slot of the ring
  /// (the oldest one once full, reusing its strings' storage, so a restart
  /// allocates nothing here), and the slot is then read outside `mtx_`,
  /// which only the holder of `exec_` writes.
  template <class Fill>
  void emit(supervisor_event::kind what, const child& c, Fill&& fill) {
    supervisor_event* slot = nullptr;
    {
      std::lock_guard guard{mtx_};
      slot = &next_event(what, c);
      fill(*slot);
    }
    report(*slot);
  }

  void emit(supervisor_event::kind what, const child& c) {
    emit(what, c, [](supervisor_event&) {});
  }

  /// The ring's next slot, filled with what every event says (under mtx_).
  supervisor_event& next_event(supervisor_event::kind what, const child& c);
  void report(const supervisor_event& ev);

  // -- administration (admin.cpp) ---------------------------------------------

  supervisor_error not_running_error() const;
  [[noreturn]] void rethrow_start_failure(const std::string& id,
                                          const std::string& why) const;
  void no_simple(const char* call, const char* instead) const;
  void busy_check(const child& c, const char* what) const;

  runtime* rt_;
  supervisor_options opts_;
  restart_policy policy_; // (exec_) the intensity window, the backoff jitter
  std::shared_ptr<const child_spec> template_; // simple_one_for_one
  std::promise<void> init_;
  process_state* self_ = nullptr;
  std::weak_ptr<supervisor_core> weak_this_;

  mutable std::mutex mtx_; // guards what readers see (below)
  child_list children_;    // in start order
  // Indexes of children_ (written under mtx_ by whoever holds exec_, read
  // by it): a start, a stop, an exit or an administrative call finds its
  // child in O(1), at 10 children as at 100,000. A handle finds its child
  // through the uid its start left in its process state.
  std::unordered_map<std::uint64_t, child*> by_uid_;
  std::unordered_map<std::string, child*> by_id_; // not simple_one_for_one
  // The last `max_events` events: oldest first from `events_head_` once
  // full (a ring).
  std::vector<supervisor_event> events_;
  std::size_t events_head_ = 0;
  int total_restarts_ = 0;

  // Whoever holds exec_ (the supervisor's thread, or a fast restart).
  std::uint64_t uid_counter_ = 0;
  std::uint64_t gen_counter_ = 0;
  std::uint64_t simple_counter_ = 0;

  // The commands, and who runs them: the supervisor's thread, or a fast
  // restart on the thread that reports a child's exit.
  ext::serial_executor exec_;
  bool quiesced_ = false; // (exec_) the loop has ended
};

// -- calls and reads ----------------------------------------------------------

template <class R>
R supervisor_core::call(unique_function<R()> fn) {
  if (executing_supervisor == this)
    throw state_error("supervisor '" + opts_.name
                      + "': its own thread (an on_event callback) cannot "
                        "call it; that would wait for itself");
  auto out = std::make_shared<outcome<R>>();
  auto result = out->promise.get_future();
  auto ok = post(command{[out, fn = std::move(fn)]() mutable {
                           try {
                             if constexpr (std::is_void_v<R>) {
                               fn();
                               out->value.emplace(true);
                             } else {
                               out->value.emplace(fn());
                             }
                           } catch (...) {
                             out->error = std::current_exception();
                           }
                         },
                         [out, this] {
                           out->error
                             = std::make_exception_ptr(not_running_error());
                           out->deliver();
                         },
                         [out] { out->deliver(); }});
  if (!ok)
    throw not_running_error();
  return result.get();
}

template <class R>
R supervisor_core::read(unique_function<R()> fn) {
  if (executing_supervisor == this)
    return fn();
  auto out = std::make_shared<outcome<R>>();
  auto result = out->promise.get_future();
  auto shared_fn = std::make_shared<unique_function<R()>>(std::move(fn));
  auto ok
    = post(command{[out, shared_fn] { out->value.emplace((*shared_fn)()); },
                   [out, shared_fn] {
                     out->value.emplace((*shared_fn)());
                     out->deliver();
                   },
                   [out] { out->deliver(); }});
  if (!ok)
    return (*shared_fn)();
  return result.get();
}

} // namespace troupe::detail
