#include "troupe/supervisor.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <future>
#include <iostream>
#include <iterator>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <unordered_map>
#include <utility>

#include <cxxabi.h>

#include "troupe/detail/spin.hpp"
#include "troupe/runtime.hpp"

#include "detail/runtime_impl.hpp"
#include "supervision/restart_policy.hpp"

namespace troupe {

namespace detail {

std::string type_names(std::initializer_list<const std::type_info*> types) {
  std::string result;
  for (const auto* t : types) {
    if (!result.empty())
      result += ", ";
    int status = 0;
    auto* raw = abi::__cxa_demangle(t->name(), nullptr, nullptr, &status);
    result += status == 0 && raw != nullptr ? raw : t->name();
    std::free(raw); // NOLINT(cppcoreguidelines-no-malloc)
  }
  return result;
}

namespace {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::atomic<std::uint64_t> supervisor_counter{0};

constexpr std::size_t max_events = 256;

/// Thrown inside the supervisor's loop when it must give up.
struct escalation {
  std::string why;
};

/// Thrown inside the supervisor's loop when its significant children say it
/// is done (`auto_shutdown`): it stops the others and ends normally.
struct auto_shutdown_reached {};

/// The supervisor whose commands the calling thread is running (its own
/// thread, or a thread running a fast restart), if any.
thread_local const void* tl_executing = nullptr;

/// Marks the calling thread as running a supervisor's commands while alive.
class executing_scope {
public:
  explicit executing_scope(const void* core) noexcept
    : prev_(std::exchange(tl_executing, core)) {}

  ~executing_scope() {
    tl_executing = prev_;
  }

  executing_scope(const executing_scope&) = delete;
  executing_scope& operator=(const executing_scope&) = delete;

private:
  const void* prev_;
};

/// The backoff's jitter: a generator seeded once per supervisor, made only
/// for a supervisor with backoff (it weighs 5 KB and seeding it costs a
/// system call).
unit_random jitter_source(const supervisor_options& opts) {
  if (!opts.backoff)
    return {};
  return [rng = std::make_unique<std::mt19937>(std::random_device{}())] {
    return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
  };
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return describe_exception(e);
  } catch (...) {
    return "an exception of unknown type";
  }
}

} // namespace

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
  struct command {
    unique_function<void()> run;
    unique_function<void()> cancel; // when the supervisor ended first
    /// Runs after `run`, once `exec_` is free again: hands a caller its
    /// result, so that what the caller does next (make a child fail, say)
    /// finds the supervisor free for a fast restart.
    unique_function<void()> then = {};
  };

  supervisor_core(runtime& rt, supervisor_options opts,
                  std::vector<child_spec> specs)
    : rt_(&rt), opts_(std::move(opts)), policy_(opts_, jitter_source(opts_)) {
    if (opts_.name.empty())
      opts_.name = "Supervisor-" + std::to_string(++supervisor_counter);
    validate_options();
    if (opts_.strategy == strategy::simple_one_for_one) {
      if (specs.size() != 1)
        throw value_error("supervisor '" + opts_.name
                          + "': simple_one_for_one takes exactly one child "
                            "spec, the template (got "
                          + std::to_string(specs.size()) + ")");
      template_
        = std::make_shared<const child_spec>(resolve(std::move(specs.front())));
      return;
    }
    for (auto& spec : specs) {
      auto c = std::make_unique<child>();
      c->spec = std::make_shared<const child_spec>(resolve(std::move(spec)));
      if (find(c->spec->id) != nullptr)
        throw value_error("supervisor '" + opts_.name
                          + "': two children have the id '" + c->spec->id
                          + "'");
      c->uid = ++uid_counter_;
      c->name = c->spec->id;
      add(std::move(c));
    }
  }

  const std::string& name() const {
    return opts_.name;
  }

  const supervisor_options& options() const {
    return opts_;
  }

  std::future<void> init_future() {
    return init_.get_future();
  }

  // -- the loop
  // ----------------------------------------------------------------

  /// Binds the core to its own process, before that process starts.
  void bind(process_state* self) {
    self_ = self;
    weak_this_ = weak_from_this();
  }

  /// The supervisor process's body.
  void run() {
    // This pool thread is the supervisor's until run() returns; it then
    // runs other processes, which must not pass for this supervisor.
    executing_scope on_this_thread{this};
    // Whatever way the supervisor ends (even declared killed while its
    // thread is stuck), no child outlives it.
    self_->on_exit([weak = weak_this_](const exit_info&) {
      if (auto core = weak.lock())
        core->kill_children("its supervisor ended");
    });
    stop_callback wake{[this] {
      std::lock_guard guard{qmtx_};
      qcv_.notify_all();
    }};
    struct closer {
      supervisor_core* core;
      ~closer() {
        core->close_queue();
      }
    } close_on_exit{this};
    // Held while a command runs, and for good once the loop ends, so no
    // fast restart runs beside the shutdown.
    std::unique_lock exec{exec_};
    try {
      start_initial();
    } catch (...) {
      init_.set_exception(std::current_exception());
      throw;
    }
    init_.set_value();
    exec.unlock();
    auto quiesce = [&] {
      if (!exec.owns_lock())
        exec.lock();
      quiesced_ = true;
    };
    try {
      while (await_command()) {
        exec.lock();
        auto cmd = pop(); // under exec_: fast restarts keep the queue order
        cmd.run();
        exec.unlock();
        if (cmd.then)
          cmd.then();
      }
      quiesce();
      shutdown_children(); // asked to stop: exit code -15
    } catch (const auto_shutdown_reached&) {
      quiesce();
      shutdown_children(); // done: a normal end (exit code 0)
    } catch (const escalation& e) {
      quiesce();
      shutdown_children();
      throw supervisor_error(supervisor_errc::reached_max_intensity, e.why);
    } catch (...) {
      quiesce();
      shutdown_children();
      throw;
    }
  }

  /// A child's exit, as its exit hook reports it: handled here and now when
  /// a fast restart applies (see the class comment), else queued.
  void child_exited(std::uint64_t uid, std::uint64_t gen,
                    const exit_info& info) {
    if (!exit_here(uid, gen, info))
      post(command{
        [this, uid, gen, code = info.exitcode, why = std::string{info.reason}] {
          on_child_exit(uid, gen, exit_info{code, why});
        },
        [] {}});
  }

  /// Queues a command; false if the supervisor has ended.
  bool post(command cmd) {
    {
      std::lock_guard guard{qmtx_};
      if (closed_)
        return false;
      queue_.push_back(std::move(cmd));
      pending_.fetch_add(1, std::memory_order_release);
    }
    qcv_.notify_one();
    return true;
  }

  /// Runs `fn` on the supervisor's thread and returns its result (or throws
  /// what it threw). Blocks the caller.
  template <class R>
  R call(unique_function<R()> fn) {
    if (tl_executing == this)
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

  /// Runs a read on the supervisor's thread, in order with the events
  /// already queued (OTP's which_children is a call too: a child whose end
  /// was posted before is seen restarted). On its own thread, or once it
  /// has ended, it reads directly.
  template <class R>
  R read(unique_function<R()> fn) {
    if (tl_executing == this)
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

  // -- administration (run on the supervisor's thread)
  // --------------------------

  process start_child(child_spec spec) {
    if (opts_.strategy == strategy::simple_one_for_one)
      throw supervisor_error(supervisor_errc::simple_one_for_one,
                             "supervisor '" + opts_.name
                               + "': a simple_one_for_one supervisor starts "
                                 "children with start_child(args...)");
    auto resolved = resolve(std::move(spec));
    if (auto* existing = find(resolved.id)) {
      if (existing->state == child_state::running)
        throw supervisor_error(supervisor_errc::already_started,
                               "supervisor '" + opts_.name + "': child '"
                                 + resolved.id + "' is already started (pid "
                                 + std::to_string(pid_of(*existing)) + ")");
      throw supervisor_error(supervisor_errc::already_present,
                             "supervisor '" + opts_.name + "': child '"
                               + resolved.id + "' is already present");
    }
    auto c = std::make_unique<child>();
    c->spec = std::make_shared<const child_spec>(std::move(resolved));
    c->uid = ++uid_counter_;
    c->name = c->spec->id;
    auto& ref = add(std::move(c));
    try {
      start_one(ref);
    } catch (...) {
      auto why = describe_current_exception();
      auto id = ref.spec->id;
      remove(ref.uid);
      rethrow_start_failure(id, why);
    }
    return process{ref.st};
  }

  process start_child_with(std::any extra) {
    if (opts_.strategy != strategy::simple_one_for_one)
      throw supervisor_error(supervisor_errc::not_simple,
                             "supervisor '" + opts_.name
                               + "': start_child(args...) needs a "
                                 "simple_one_for_one supervisor; pass a "
                                 "child_spec");
    auto c = std::make_unique<child>();
    c->spec = template_; // shared: only the extra arguments are the child's
    c->uid = ++uid_counter_;
    c->name = template_->id + "-" + std::to_string(++simple_counter_);
    c->extra = std::make_shared<const std::any>(std::move(extra));
    auto& ref = add(std::move(c));
    try {
      start_one(ref);
    } catch (const value_error&) {
      remove(ref.uid); // the extra arguments do not fit the template
      throw;
    } catch (...) {
      auto why = describe_current_exception();
      auto name = ref.name;
      remove(ref.uid);
      rethrow_start_failure(name, why);
    }
    return process{ref.st};
  }

  void terminate_child(const std::string& id) {
    no_simple("terminate_child(id)", "terminate_child(handle)");
    auto& c = require(id);
    end_child(c);
  }

  void terminate_child(const std::shared_ptr<process_state>& st) {
    auto* c = find(st);
    if (c == nullptr)
      throw supervisor_error(supervisor_errc::not_found,
                             "supervisor '" + opts_.name
                               + "': the process is not one of its running "
                                 "or restarting children");
    end_child(*c);
  }

  process restart_child(const std::string& id) {
    no_simple("restart_child", "start_child(args...)");
    auto& c = require(id);
    busy_check(c, "restart");
    try {
      start_one(c);
    } catch (...) {
      rethrow_start_failure(id, describe_current_exception());
    }
    return process{c.st};
  }

  void delete_child(const std::string& id) {
    no_simple("delete_child", "terminate_child(handle)");
    auto& c = require(id);
    busy_check(c, "delete");
    remove(c.uid);
  }

  // -- reading (any thread) ---------------------------------------------------

  std::vector<child_info> which_children() {
    return read<std::vector<child_info>>([this] { return children_now(); });
  }

  child_counts count_children() {
    return read<child_counts>([this] { return counts_now(); });
  }

  std::vector<supervisor_event> events() {
    return read<std::vector<supervisor_event>>([this] {
      std::lock_guard guard{mtx_};
      auto head = events_.begin() + static_cast<std::ptrdiff_t>(events_head_);
      std::vector<supervisor_event> out;
      out.reserve(events_.size());
      out.insert(out.end(), head, events_.end());
      out.insert(out.end(), events_.begin(), head);
      return out;
    });
  }

  int restarts() {
    return read<int>([this] {
      std::lock_guard guard{mtx_};
      return total_restarts_;
    });
  }

  std::vector<child_info> children_now() const {
    std::lock_guard guard{mtx_};
    std::vector<child_info> result;
    result.reserve(children_.size());
    for (auto& c : children_) {
      child_info info{c->spec->id, std::nullopt, *c->spec->type, c->state,
                      c->restarts};
      if (opts_.strategy == strategy::simple_one_for_one)
        info.id = c->name;
      if (c->st)
        info.handle.emplace(c->st);
      result.push_back(std::move(info));
    }
    return result;
  }

  child_counts counts_now() const {
    std::lock_guard guard{mtx_};
    child_counts n;
    if (template_) {
      // As OTP's: the template is the one spec; every child (running or
      // restarting) counts by the template's type.
      n.specs = 1;
      for (auto& c : children_)
        if (c->st)
          ++n.active;
      (*template_->type == child_type::supervisor ? n.supervisors : n.workers)
        = children_.size();
      return n;
    }
    n.specs = children_.size();
    for (auto& c : children_) {
      if (c->st)
        ++n.active;
      if (*c->spec->type == child_type::supervisor)
        ++n.supervisors;
      else
        ++n.workers;
    }
    return n;
  }

  /// This supervisor's node, given its own process's identity. Nested
  /// supervisors are asked in turn, from the calling thread.
  supervision_tree tree(const process_state& self) {
    using kids_t = std::vector<
      std::pair<supervision_tree, std::shared_ptr<process_state>>>;
    auto [node, kids] = read<std::pair<supervision_tree, kids_t>>([this] {
      std::pair<supervision_tree, kids_t> result;
      std::lock_guard guard{mtx_};
      result.first.restarts = total_restarts_;
      for (auto& c : children_) {
        supervision_tree kid;
        kid.id = opts_.strategy == strategy::simple_one_for_one ? c->name
                                                                : c->spec->id;
        kid.name = c->name;
        kid.type = *c->spec->type;
        kid.state = c->state;
        kid.restarts = c->restarts;
        result.second.emplace_back(std::move(kid), c->st);
      }
      return result;
    });
    {
      std::lock_guard guard{self.mtx};
      node.name = self.name;
      node.pid = self.pid;
      node.state = self.ph == process_state::phase::running
                     ? child_state::running
                     : child_state::stopped;
    }
    node.id = node.name;
    node.type = child_type::supervisor;
    node.strategy = opts_.strategy;
    for (auto& [kid, st] : kids) {
      if (st) {
        if (st->as_supervisor) {
          auto sub = st->as_supervisor->tree(*st);
          sub.id = kid.id;
          sub.restarts = kid.restarts;
          kid = std::move(sub);
        } else {
          std::lock_guard guard{st->mtx};
          kid.pid = st->pid;
          kid.name = st->name;
        }
      }
      node.children.push_back(std::move(kid));
    }
    return node;
  }

  /// `terminate()` on one of our children: stop it as terminate_child does.
  bool route_terminate(const std::shared_ptr<process_state>& st) {
    std::weak_ptr<process_state> weak = st;
    return post(command{[this, weak] {
                          if (auto target = weak.lock())
                            if (auto* c = find(target))
                              end_child(*c);
                        },
                        [] {}});
  }

  /// Brutally kills every child still running (the exit hook's net).
  void kill_children(const std::string& why) {
    std::vector<std::shared_ptr<process_state>> running;
    {
      std::lock_guard guard{mtx_};
      for (auto& c : children_)
        if (c->st)
          running.push_back(c->st);
    }
    for (auto i = running.rbegin(); i != running.rend(); ++i)
      kill_process(*i, "killed: " + why);
  }

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
    int restarts = 0;
    int consecutive = 0; // restarts in a row, for backoff
    clock::time_point started_at{};
  };

  // -- helpers ----------------------------------------------------------------

  void validate_options() const {
    auto bad = [this](const std::string& what) {
      throw value_error("supervisor '" + opts_.name + "': " + what);
    };
    if (opts_.intensity < 0)
      bad("intensity must not be negative");
    if (opts_.period.count() <= 0)
      bad("period must be positive");
    if (auto& b = opts_.backoff) {
      if (b->min.count() < 0 || b->max < b->min)
        bad("backoff needs 0 <= min <= max");
      if (!(b->jitter >= 0.0 && b->jitter <= 1.0))
        bad("backoff jitter must be between 0 and 1");
    }
  }

  child_spec resolve(child_spec spec) const {
    if (spec.id.empty())
      throw value_error("supervisor '" + opts_.name
                        + "': a child spec needs an id");
    auto bad = [&](const std::string& what) {
      throw value_error("supervisor '" + opts_.name + "': child '" + spec.id
                        + "' " + what);
    };
    if (!spec.start)
      bad("has no start");
    if (spec.shutdown && spec.shutdown->grace().count() < 0)
      bad("has an invalid shutdown of "
          + std::to_string(spec.shutdown->grace().count())
          + " ms (a grace is 0 or more; 0 is brutal_kill)");
    if (spec.significant && spec.restart == restart::permanent)
      bad("is significant and permanent: only a transient or temporary "
          "child can be significant (a permanent one never ends for good)");
    if (spec.significant && opts_.auto_shutdown == auto_shutdown::never)
      bad("is significant, but the supervisor's auto_shutdown is never");
    if (!spec.type)
      spec.type = spec.start.type();
    if (!spec.shutdown)
      spec.shutdown = *spec.type == child_type::supervisor
                        ? shutdown_spec::infinity()
                        : shutdown_spec{std::chrono::seconds{5}};
    return spec;
  }

  supervisor_error not_running_error() const {
    return supervisor_error(supervisor_errc::not_running,
                            "supervisor '" + opts_.name + "' is not running");
  }

  [[noreturn]] void rethrow_start_failure(const std::string& id,
                                          const std::string& why) const {
    throw supervisor_error(supervisor_errc::start_failed,
                           "supervisor '" + opts_.name
                             + "' could not start child '" + id + "': " + why);
  }

  void no_simple(const char* call, const char* instead) const {
    if (opts_.strategy == strategy::simple_one_for_one)
      throw supervisor_error(supervisor_errc::simple_one_for_one,
                             "supervisor '" + opts_.name + "': " + call
                               + " is not available for simple_one_for_one; "
                                 "use "
                               + instead);
  }

  void busy_check(const child& c, const char* what) const {
    if (c.state == child_state::running)
      throw supervisor_error(supervisor_errc::running,
                             "supervisor '" + opts_.name + "': cannot " + what
                               + " child '" + c.spec->id
                               + "' while it is running");
    if (c.state == child_state::restarting)
      throw supervisor_error(supervisor_errc::restarting,
                             "supervisor '" + opts_.name + "': cannot " + what
                               + " child '" + c.spec->id
                               + "' while it is restarting");
  }

  child* find(const std::string& id) const {
    auto i = by_id_.find(id);
    return i == by_id_.end() ? nullptr : i->second;
  }

  /// The child whose running instance, or instance that ended while it
  /// restarts, is `st`: found through the uid its start left in `st`.
  child* find(const std::shared_ptr<process_state>& st) const {
    if (!st)
      return nullptr;
    std::uint64_t uid = 0;
    {
      std::lock_guard guard{st->mtx};
      if (st->supervised_by.lock().get() != this)
        return nullptr;
      uid = st->child_uid;
    }
    auto* c = find(uid);
    return c != nullptr && (c->st == st || c->ended == st) ? c : nullptr;
  }

  child* find(std::uint64_t uid) const {
    auto i = by_uid_.find(uid);
    return i == by_uid_.end() ? nullptr : i->second;
  }

  /// Appends `c` to the children (last in start order) and indexes it.
  child& add(std::unique_ptr<child> c) {
    auto& ref = *c;
    std::lock_guard guard{mtx_};
    ref.pos = children_.insert(children_.end(), std::move(c));
    by_uid_.emplace(ref.uid, &ref);
    if (!template_)
      by_id_.emplace(ref.spec->id, &ref);
    return ref;
  }

  child& require(const std::string& id) const {
    if (auto* c = find(id))
      return *c;
    throw supervisor_error(supervisor_errc::not_found,
                           "supervisor '" + opts_.name + "' has no child '" + id
                             + "'");
  }

  void remove(std::uint64_t uid) {
    std::unique_ptr<child> gone; // freed outside the lock
    std::lock_guard guard{mtx_};
    auto i = by_uid_.find(uid);
    if (i == by_uid_.end())
      return;
    auto* c = i->second;
    by_uid_.erase(i);
    if (!template_)
      by_id_.erase(c->spec->id);
    gone = std::move(*c->pos);
    children_.erase(c->pos);
  }

  static pid_type pid_of(const child& c) {
    return c.st ? c.pid : 0;
  }

  // -- events -----------------------------------------------------------------

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
      if (events_.size() < max_events) {
        slot = &events_.emplace_back();
      } else {
        slot = &events_[events_head_];
        events_head_ = (events_head_ + 1) % max_events;
      }
      auto& ev = *slot;
      ev.what = what;
      ev.supervisor.assign(opts_.name);
      ev.child.assign(
        opts_.strategy == strategy::simple_one_for_one ? c.name : c.spec->id);
      ev.pid = pid_of(c);
      ev.exitcode.reset();
      ev.reason.clear();
      ev.restarts = c.restarts;
      ev.delay = milliseconds{0};
      ev.when = std::chrono::system_clock::now();
      fill(ev);
    }
    report(*slot);
  }

  void emit(supervisor_event::kind what, const child& c) {
    emit(what, c, [](supervisor_event&) {});
  }

  void report(const supervisor_event& ev) {
    if (opts_.on_event) {
      try {
        opts_.on_event(ev);
      } catch (...) {
        std::cerr << "troupe: supervisor '" + opts_.name + "': on_event threw: "
                       + describe_current_exception() + "\n";
      }
      return;
    }
    if (ev.what == supervisor_event::kind::restarted)
      return; // the default report names failures, not recoveries
    std::ostringstream line;
    line << "troupe: " << ev << '\n';
    std::cerr << line.str();
  }

  // -- starting and stopping --------------------------------------------------

  /// Starts one instance of `c`; throws what its start threw. A child with
  /// `await_ready` counts as started once it called
  /// `this_process::ready()`; ending before that is a failed start.
  void start_one(child& c) {
    std::optional<process> p;
    {
      auto& flag = starting_supervised_child();
      struct restore {
        bool& flag;
        bool old;
        ~restore() {
          flag = old;
        }
      } guard{flag, flag};
      flag = true;
      p.emplace(c.spec->start(*rt_, c.name, c.extra.get()));
    }
    auto st = p->state();
    if (!st)
      throw state_error("the start returned no process");
    pid_type pid = 0;
    {
      std::lock_guard guard{st->mtx};
      if (st->ph == process_state::phase::initial)
        throw state_error("the start returned a process it did not start");
      st->supervised_by = weak_this_;
      st->child_uid = c.uid;
      pid = st->pid;
    }
    if (c.spec->await_ready)
      await_ready(st);
    st->in_tree = true;
    std::uint64_t gen = 0;
    std::shared_ptr<process_state> ended; // freed outside the lock
    {
      std::lock_guard guard{mtx_};
      c.st = st;
      c.pid = pid;
      c.gen = gen = ++gen_counter_;
      c.state = child_state::running;
      c.started_at = clock::now();
      ended = std::move(c.ended);
    }
    if (c.spec->restart == restart::temporary)
      forget_start(c);
    // Posted by whatever thread ends the child; this supervisor's thread
    // keeps `this` alive while commands run, and drains them at its end.
    st->on_exit([weak = weak_this_, uid = c.uid, gen](const exit_info& info) {
      if (auto core = weak.lock())
        core->child_exited(uid, gen, info);
    });
  }

  /// Waits until the new instance `st` signalled `this_process::ready()`
  /// (OTP's `init_ack`), so that the next child starts only then. Throws if
  /// it ended first, or if the supervisor is asked to stop meanwhile (the
  /// instance is then killed: it is no child yet, nothing else would stop
  /// it).
  void await_ready(const std::shared_ptr<process_state>& st) {
    stop_callback wake{[st] {
      std::lock_guard guard{st->mtx};
      st->cv.notify_all();
    }};
    std::unique_lock lock{st->mtx};
    st->cv.wait(lock, [&] {
      return st->ready || st->ph == process_state::phase::ended
             || stop_requested();
    });
    if (st->ready)
      return;
    if (st->ph == process_state::phase::ended)
      throw state_error("it ended before it signalled ready (exit code "
                        + std::to_string(st->exitcode.value_or(0))
                        + (st->reason.empty() ? "" : ": " + st->reason) + ")");
    lock.unlock();
    kill_process(st, "killed: its supervisor stopped while it started");
    throw state_error("the supervisor was asked to stop while it started");
  }

  /// A temporary child never restarts, so its supervisor keeps nothing of
  /// its start (the target and its arguments), as OTP (OTP-9242).
  void forget_start(child& c) {
    std::shared_ptr<const child_spec> old;
    std::shared_ptr<const std::any> extra;
    if (template_) { // the template is shared: only the arguments are its own
      std::lock_guard guard{mtx_};
      extra = std::move(c.extra);
      return;
    }
    auto kept = std::make_shared<child_spec>();
    kept->id = c.spec->id;
    kept->restart = c.spec->restart;
    kept->shutdown = c.spec->shutdown;
    kept->type = c.spec->type;
    kept->significant = c.spec->significant;
    kept->await_ready = c.spec->await_ready;
    std::lock_guard guard{mtx_};
    old = std::exchange(c.spec, std::move(kept));
    extra = std::move(c.extra);
  }

  /// Stops the running instance of `c` by its shutdown spec and waits for
  /// its end. The exit it causes is not a failure (the instance is detached
  /// from `c` first, so its exit event is ignored).
  void stop_one(child& c) {
    std::shared_ptr<process_state> st;
    {
      std::lock_guard guard{mtx_};
      st = std::move(c.st);
      c.st = nullptr;
    }
    if (!st)
      return;
    auto sd = *c.spec->shutdown;
    if (sd.is_brutal_kill()) {
      kill_process(st, "killed (shutdown: brutal_kill)");
      return;
    }
    request_stop(st, 15, milliseconds::max());
    if (sd.is_infinity()) {
      st->await_end(std::nullopt);
      return;
    }
    if (!st->await_end(clock::now() + sd.grace()))
      kill_process(st, "killed after a shutdown grace of "
                         + std::to_string(sd.grace().count()) + " ms");
  }

  /// terminate_child's work on one child: stopped and not restarted;
  /// forgotten if temporary or under simple_one_for_one. A child stopped
  /// while it restarts ends its restart loop; in a group strategy, the
  /// children after it that wait to restart with it stay stopped too (as
  /// OTP leaves them `undefined`): they would start without it.
  void end_child(child& c) {
    auto was_restarting = c.state == child_state::restarting;
    stop_one(c);
    {
      std::lock_guard guard{mtx_};
      c.state = child_state::stopped;
      c.ended = nullptr;
      if (was_restarting && policy_.is_group())
        for (auto i = std::next(c.pos); i != children_.end(); ++i)
          if ((*i)->state == child_state::restarting && !(*i)->st)
            (*i)->state = child_state::stopped;
    }
    if (c.spec->restart == restart::temporary || template_)
      remove(c.uid);
  }

  void start_initial() {
    for (auto i = children_.begin(); i != children_.end(); ++i) {
      auto& c = **i;
      try {
        start_one(c);
      } catch (...) {
        auto why = describe_current_exception();
        for (auto j = i; j != children_.begin();)
          stop_one(**--j);
        rethrow_start_failure(c.spec->id, why);
      }
    }
  }

  /// Stops every child (the supervisor's end): in reverse start order, or,
  /// under simple_one_for_one, all at once.
  void shutdown_children() {
    if (template_)
      stop_dynamic_children();
    else
      for (auto i = children_.rbegin(); i != children_.rend(); ++i) {
        auto& c = **i;
        stop_one(c);
        std::lock_guard guard{mtx_};
        c.state = child_state::stopped;
      }
    // An instance kept for a restart that will not come: its state names
    // this supervisor's process as its parent, which holds this core, so
    // keeping it would keep both alive for good.
    std::vector<std::shared_ptr<process_state>> ended; // freed unlocked
    std::lock_guard guard{mtx_};
    for (auto& c : children_)
      if (c->ended)
        ended.push_back(std::move(c->ended));
  }

  /// Stops every dynamic child in parallel under one deadline, as OTP's
  /// `terminate_dynamic_children`: all are asked to stop, all are waited
  /// for until the template's grace has passed once, and the rest are
  /// killed. They have no order to keep, so N slow children take one
  /// grace, not N.
  void stop_dynamic_children() {
    std::vector<std::shared_ptr<process_state>> running;
    {
      std::lock_guard guard{mtx_};
      running.reserve(children_.size());
      for (auto& c : children_) {
        if (c->st)
          running.push_back(std::move(c->st));
        c->st = nullptr;
        c->state = child_state::stopped;
      }
    }
    auto sd = *template_->shutdown;
    if (sd.is_brutal_kill()) {
      for (auto& st : running)
        kill_process(st, "killed (shutdown: brutal_kill)");
      return;
    }
    for (auto& st : running)
      request_stop(st, 15, milliseconds::max());
    std::optional<clock::time_point> until;
    if (!sd.is_infinity())
      until = clock::now() + sd.grace();
    for (auto& st : running)
      if (!st->await_end(until))
        kill_process(st, "killed after a shutdown grace of "
                           + std::to_string(sd.grace().count()) + " ms");
  }

  // -- failures and restarts --------------------------------------------------

  static child_facts facts_of(const child& c) {
    return {c.spec->restart, c.spec->significant, c.state, c.st != nullptr};
  }

  static child_facts facts(child_list::iterator i) {
    return facts_of(**i);
  }

  void on_child_exit(std::uint64_t uid, std::uint64_t gen,
                     const exit_info& info) {
    auto* c = find(uid);
    if (c == nullptr || c->gen != gen || !c->st)
      return; // an instance this supervisor stopped itself, or forgotten
    auto pid = pid_of(*c);
    std::shared_ptr<process_state> ended;
    {
      std::lock_guard guard{mtx_};
      ended = std::move(c->st);
      c->st = nullptr;
      c->state = child_state::stopped;
    }
    emit(supervisor_event::kind::child_exited, *c, [&](supervisor_event& ev) {
      ev.pid = pid;
      ev.exitcode = info.exitcode;
      ev.reason.assign(info.reason);
    });
    auto next = policy_.on_exit(c->spec->restart, info.exitcode);
    if (next != exit_outcome::restart) {
      auto significant = c->spec->significant;
      if (next == exit_outcome::forget)
        remove(uid);
      if (significant)
        check_auto_shutdown();
      return;
    }
    {
      std::lock_guard guard{mtx_};
      c->ended = std::move(ended);
    }
    count_restart(*c, [&info] {
      return info.reason.empty() ? "exit code " + std::to_string(info.exitcode)
                                 : std::string{info.reason};
    });
    restart_group(*c);
  }

  /// A significant child ended for good: ends the supervisor (normally) if
  /// its auto_shutdown says so. Runs on the supervisor's own thread only
  /// (significant children never take the fast restart path).
  void check_auto_shutdown() {
    if (policy_.ends_supervisor(children_.begin(), children_.end(), facts))
      throw auto_shutdown_reached{};
  }

  /// Records one restart; gives up (escalates) past the intensity, with the
  /// reason `why()` (built only then).
  template <class Why>
  void count_restart(const child& c, Why why) {
    if (policy_.admit_restart(clock::now()))
      return;
    auto msg = "supervisor '" + opts_.name + "' reached its maximum restart "
               + "intensity (" + std::to_string(opts_.intensity)
               + " restarts in " + std::to_string(opts_.period.count())
               + " ms); last failure: child '"
               + (template_ ? c.name : c.spec->id) + "': " + why();
    emit(supervisor_event::kind::intensity_exceeded, c,
         [&msg](supervisor_event& ev) { ev.reason = msg; });
    throw escalation{msg};
  }

  /// Stops what the strategy says must restart with `failed`, marks it all
  /// as restarting, and starts it now or after the backoff.
  void restart_group(child& failed) {
    if (policy_.is_group()) {
      stop_group(failed);
    } else {
      std::lock_guard guard{mtx_};
      failed.state = child_state::restarting;
    }
    auto delay = backoff_for(failed);
    emit(supervisor_event::kind::restarting, failed,
         [delay](supervisor_event& ev) { ev.delay = delay; });
    if (delay.count() == 0)
      start_scheduled(failed);
    else
      after(delay, failed.uid, &supervisor_core::start_scheduled_uid);
  }

  /// The group that restarts with `failed` (one_for_all: every child;
  /// rest_for_one: it and those after it): the others are stopped in
  /// reverse start order — temporary ones stopped by a sibling's restart
  /// are gone and count for nothing (OTP's `temporary_bystander`) — and
  /// all are marked restarting.
  void stop_group(child& failed) {
    std::vector<std::uint64_t> gone;
    policy_.for_each_to_stop(group_of(failed), failed.pos,
                             [&](child_list::iterator i) {
                               auto& c = **i;
                               stop_one(c);
                               if (policy_.forgets_bystander(c.spec->restart))
                                 gone.push_back(c.uid);
                             });
    for (auto uid : gone)
      remove(uid);
    // The group again: under one_for_all a bystander forgotten may have
    // been its first child.
    auto group = group_of(failed);
    std::lock_guard guard{mtx_};
    for (auto i = group.first; i != group.last; ++i)
      (*i)->state = child_state::restarting;
  }

  restart_policy::group<child_list::iterator> group_of(child& failed) {
    return policy_.group_of(children_.begin(), children_.end(), failed.pos);
  }

  milliseconds backoff_for(child& c) {
    return policy_.backoff(c.consecutive, c.started_at, clock::now());
  }

  /// Runs `(this->*fn)(uid)` on the supervisor's thread after `delay` (or
  /// after whatever is queued, for 0).
  void after(milliseconds delay, std::uint64_t uid,
             void (supervisor_core::*fn)(std::uint64_t)) {
    if (delay.count() == 0) {
      post(command{[this, uid, fn] { (this->*fn)(uid); }, [] {}});
      return;
    }
    self_->rt->timers().schedule(
      clock::now() + delay, [weak = weak_this_, uid, fn] {
        if (auto core = weak.lock()) {
          auto* raw = core.get();
          core->post(command{[raw, uid, fn] { (raw->*fn)(uid); }, [] {}});
        }
      });
  }

  /// The restart of `failed` is due (at once, or its backoff has passed).
  void start_scheduled(child& failed) {
    switch (opts_.strategy) {
      case strategy::one_for_one:
      case strategy::simple_one_for_one:
        restart_one(failed);
        return;
      case strategy::one_for_all:
        start_group(group_of(failed).first);
        return;
      case strategy::rest_for_one:
        if (failed.state == child_state::restarting)
          start_group(group_of(failed).first);
        return;
    }
  }

  void start_scheduled_uid(std::uint64_t uid) {
    if (auto* c = find(uid))
      start_scheduled(*c);
    else if (opts_.strategy == strategy::one_for_all)
      start_group(children_.begin());
  }

  /// One child restarts on its own (one_for_one, simple_one_for_one): a
  /// start that throws is retried for this child alone, so a child that
  /// cannot start holds up no sibling (OTP's `try_again_restart`).
  void restart_one(child& c) {
    if (!policy_.due(facts_of(c)))
      return; // stopped (terminate_child) or already running
    try {
      start_one(c);
    } catch (...) {
      auto why = describe_current_exception();
      if (current_state_ptr() != self_) {
        // A fast restart, on another thread: counting the failure may
        // escalate, which only the supervisor's own thread can do.
        post(command{[this, uid = c.uid, why] {
                       if (auto* failed = find(uid);
                           failed != nullptr && !failed->st
                           && failed->state == child_state::restarting)
                         start_failed(*failed, why);
                     },
                     [] {}});
        return;
      }
      start_failed(c, why);
      return;
    }
    restarted(c);
  }

  /// Starts, in order from `from`, the children marked restarting (a
  /// group restart). At the first start that throws, the rest wait: the
  /// group is retried as a whole (see `retry`).
  void start_group(child_list::iterator from) {
    (void)policy_.for_each_to_start(
      from, children_.end(), facts, [this](child_list::iterator i) {
        auto& c = **i;
        try {
          start_one(c);
        } catch (...) {
          start_failed(c, describe_current_exception());
          return false;
        }
        restarted(c);
        return true;
      });
  }

  void restarted(child& c) {
    {
      std::lock_guard guard{mtx_};
      ++c.restarts;
      ++total_restarts_;
    }
    emit(supervisor_event::kind::restarted, c);
  }

  /// A start of `c` threw `why`: reported and counted as a restart; tried
  /// again after the backoff or after whatever else is queued, so that
  /// administrative calls, other children's exits and the supervisor's own
  /// stop are handled between two attempts.
  void start_failed(child& c, const std::string& why) {
    c.started_at = clock::now(); // backoff resets count from attempts
    emit(supervisor_event::kind::start_failed, c,
         [&why](supervisor_event& ev) { ev.reason = why; });
    count_restart(c, [&why] { return "could not start: " + why; });
    after(backoff_for(c), c.uid, &supervisor_core::retry);
  }

  /// Tries again to restart child `uid` after a failed start, unless it
  /// was stopped or removed meanwhile (OTP drops the retry then). In a
  /// group strategy the retry is a group restart from that child (OTP's
  /// `restart(Strategy, FailedChild)`): under one_for_all the children
  /// the failed attempt started are stopped and all start again together.
  void retry(std::uint64_t uid) {
    auto* c = find(uid);
    if (c == nullptr || c->st || c->state != child_state::restarting)
      return;
    if (!policy_.is_group()) {
      restart_one(*c);
      return;
    }
    stop_group(*c);
    start_group(group_of(*c).first);
  }

  // -- fast restarts ----------------------------------------------------------

  /// Runs `on_child_exit` on the calling thread if a fast restart applies;
  /// returns false when the exit must be queued instead.
  bool exit_here(std::uint64_t uid, std::uint64_t gen, const exit_info& info) {
    // Not on a thread already running supervisor commands (this one's,
    // whose `exec_` it holds, or another's, which must not nest).
    if (!policy_.allows_fast_restarts() || tl_executing != nullptr)
      return false;
    std::unique_lock exec{exec_, std::try_to_lock};
    if (!exec.owns_lock() || quiesced_ || stop_requested())
      return false;
    {
      std::lock_guard guard{qmtx_};
      if (closed_ || !queue_.empty())
        return false;
    }
    auto* c = find(uid);
    if (c == nullptr || c->gen != gen || !c->st)
      return true; // stale: the queued command would do nothing either
    if (!c->spec->start.quick() || *c->spec->type != child_type::worker
        || c->spec->await_ready || c->spec->significant
        || policy_.would_exceed_intensity(clock::now()))
      return false;
    executing_scope executing{this};
    parent_scope parent{self_};
    on_child_exit(uid, gen, info);
    return true;
  }

  // -- the command queue ------------------------------------------------------

  bool stop_requested() const {
    return self_->stop_signal.load(std::memory_order_relaxed) != 0;
  }

  /// Waits until a command is queued (true) or the supervisor is asked to
  /// stop (false). Spins briefly first: a command often follows the previous
  /// one within microseconds, and a futex wake-up costs tens.
  bool await_command() {
    spin_.spin([this] {
      return pending_.load(std::memory_order_acquire) > 0 || stop_requested();
    });
    std::unique_lock guard{qmtx_};
    if (queue_.empty() && !stop_requested()) {
      auto t0 = clock::now();
      qcv_.wait(guard, [this] { return !queue_.empty() || stop_requested(); });
      spin_.parked_for(clock::now() - t0);
    }
    return !stop_requested();
  }

  /// The oldest command; the queue is not empty (only this thread pops).
  command pop() {
    std::lock_guard guard{qmtx_};
    auto cmd = std::move(queue_.front());
    queue_.pop_front();
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return cmd;
  }

  void close_queue() {
    std::deque<command> left;
    {
      std::lock_guard guard{qmtx_};
      closed_ = true;
      left.swap(queue_);
    }
    for (auto& cmd : left)
      cmd.cancel();
  }

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

  std::mutex qmtx_;
  std::condition_variable qcv_;
  std::deque<command> queue_;
  std::atomic<std::size_t> pending_{0};
  bool closed_ = false;
  adaptive_spin<16, 2048> spin_;

  // Who runs commands: the supervisor's thread or a fast restart.
  std::mutex exec_;
  bool quiesced_ = false; // (exec_) the loop has ended
};

bool route_terminate(const std::shared_ptr<supervisor_core>& sup,
                     const std::shared_ptr<process_state>& child) {
  return sup->route_terminate(child);
}

} // namespace detail

// -- supervisor ---------------------------------------------------------------

namespace {

process
make_supervisor_process(runtime& rt,
                        const std::shared_ptr<detail::supervisor_core>& core) {
  auto grace = core->options().shutdown.value_or(rt.options().shutdown_timeout);
  process p{rt, process_options{.name = core->name(), .terminate_grace = grace},
            [core] { core->run(); }};
  p.state()->as_supervisor = core;
  p.state()->in_tree = true;
  core->bind(p.state().get());
  return p;
}

} // namespace

supervisor::supervisor(runtime& rt, supervisor_options opts,
                       std::vector<child_spec> children)
  : process(
    make_supervisor_process(rt, std::make_shared<detail::supervisor_core>(
                                  rt, std::move(opts), std::move(children)))) {
  core_ = state()->as_supervisor;
  auto ready = core_->init_future();
  start();
  // Its process may be stopped before its body runs (a shutdown racing
  // with the start), and then nothing would ever answer.
  while (ready.wait_for(std::chrono::milliseconds{10})
         != std::future_status::ready) {
    if (!is_alive())
      throw supervisor_error(supervisor_errc::not_running,
                             "supervisor '" + name()
                               + "' ended before it started its children: "
                               + exit_reason());
  }
  try {
    ready.get();
  } catch (...) {
    join();
    throw;
  }
}

supervisor::supervisor(std::shared_ptr<detail::process_state> st,
                       std::shared_ptr<detail::supervisor_core> core)
  : process(std::move(st)), core_(std::move(core)) {}

supervisor supervisor::from(const process& p) {
  auto& st = p.state();
  if (!st || !st->as_supervisor)
    throw value_error("supervisor::from: '" + p.name()
                      + "' is not a supervisor");
  return supervisor{st, st->as_supervisor};
}

process supervisor::start_child(child_spec spec) {
  return core_->call<process>(
    [core = core_.get(), spec = std::move(spec)]() mutable {
      return core->start_child(std::move(spec));
    });
}

process supervisor::start_child_with(std::any extra) {
  return core_->call<process>(
    [core = core_.get(), extra = std::move(extra)]() mutable {
      return core->start_child_with(std::move(extra));
    });
}

void supervisor::terminate_child(const std::string& id) {
  core_->call<void>([core = core_.get(), id] { core->terminate_child(id); });
}

void supervisor::terminate_child(const process& child) {
  core_->call<void>(
    [core = core_.get(), st = child.state()] { core->terminate_child(st); });
}

process supervisor::restart_child(const std::string& id) {
  return core_->call<process>(
    [core = core_.get(), id] { return core->restart_child(id); });
}

void supervisor::delete_child(const std::string& id) {
  core_->call<void>([core = core_.get(), id] { core->delete_child(id); });
}

std::vector<child_info> supervisor::which_children() const {
  return core_->which_children();
}

child_counts supervisor::count_children() const {
  return core_->count_children();
}

supervision_tree supervisor::tree() const {
  return core_->tree(*state());
}

std::vector<supervisor_event> supervisor::events() const {
  return core_->events();
}

int supervisor::restarts() const {
  return core_->restarts();
}

child_start start_supervisor(supervisor_options opts,
                             std::vector<child_spec> children) {
  return child_start{
    [opts = std::move(opts), children = std::move(children)](
      runtime& rt, const std::string& name, const std::any*) -> process {
      auto o = opts;
      o.name = name;
      supervisor sup{rt, std::move(o), children};
      return process{sup.state()};
    },
    child_type::supervisor};
}

supervision_tree supervision_snapshot(runtime& rt) {
  supervision_tree root;
  root.id = "runtime";
  root.name = "MainProcess";
  root.pid = 1;
  root.type = child_type::supervisor;
  root.state = child_state::running;
  for (auto& st : rt.impl()->active()) {
    {
      std::lock_guard guard{st->mtx};
      if (!st->supervised_by.expired())
        continue; // shown under its supervisor
    }
    if (st->as_supervisor) {
      root.children.push_back(st->as_supervisor->tree(*st));
      continue;
    }
    supervision_tree node;
    {
      std::lock_guard guard{st->mtx};
      node.id = node.name = st->name;
      node.pid = st->pid;
    }
    node.type = child_type::worker;
    node.state = child_state::running;
    root.children.push_back(std::move(node));
  }
  return root;
}

// -- printing -----------------------------------------------------------------

const char* to_string(strategy s) {
  switch (s) {
    case strategy::one_for_one:
      return "one_for_one";
    case strategy::one_for_all:
      return "one_for_all";
    case strategy::rest_for_one:
      return "rest_for_one";
    case strategy::simple_one_for_one:
      return "simple_one_for_one";
  }
  return "?";
}

const char* to_string(child_state s) {
  switch (s) {
    case child_state::running:
      return "running";
    case child_state::restarting:
      return "restarting";
    case child_state::stopped:
      return "stopped";
  }
  return "?";
}

namespace {

void print_node(std::ostream& out, const supervision_tree& node,
                const std::string& lead, const std::string& branch) {
  out << branch
      << (node.type == child_type::supervisor ? "supervisor '" : "worker '")
      << node.id << '\'';
  if (node.name != node.id && !node.name.empty())
    out << " (" << node.name << ')';
  if (node.pid != 0 && node.state == child_state::running)
    out << " pid=" << node.pid;
  out << ' ' << to_string(node.state);
  if (node.strategy)
    out << ' ' << to_string(*node.strategy);
  out << " restarts=" << node.restarts << '\n';
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    auto last = i + 1 == node.children.size();
    print_node(out, node.children[i], lead + (last ? "    " : "|   "),
               lead + (last ? "`-- " : "|-- "));
  }
}

} // namespace

std::ostream& operator<<(std::ostream& out, const supervision_tree& tree) {
  print_node(out, tree, "", "");
  return out;
}

std::string to_string(const supervision_tree& tree) {
  std::ostringstream out;
  out << tree;
  return out.str();
}

std::ostream& operator<<(std::ostream& out, const supervisor_event& ev) {
  out << ev.supervisor << ": child '" << ev.child << '\'';
  if (ev.pid != 0)
    out << " (pid " << ev.pid << ')';
  using kind = supervisor_event::kind;
  switch (ev.what) {
    case kind::child_exited:
      out << " exited";
      if (ev.exitcode)
        out << " with code " << *ev.exitcode;
      if (!ev.reason.empty())
        out << ": " << ev.reason;
      break;
    case kind::restarting:
      out << " restarting";
      if (ev.delay.count() > 0)
        out << " in " << ev.delay.count() << " ms";
      out << " (restarts so far: " << ev.restarts << ')';
      break;
    case kind::restarted:
      out << " restarted (restart " << ev.restarts << ')';
      break;
    case kind::start_failed:
      out << " could not start: " << ev.reason;
      break;
    case kind::intensity_exceeded:
      out << " failed once too often: " << ev.reason;
      break;
  }
  return out;
}

} // namespace troupe
