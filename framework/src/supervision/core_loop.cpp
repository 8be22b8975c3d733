// A supervisor's construction and loop: it starts the children, then runs
// commands one at a time until it is asked to stop, gives up or is done;
// fast restarts run a child's exit on the thread that reports it instead.

#include <atomic>
#include <random>
#include <utility>

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe::detail {

namespace {

std::atomic<std::uint64_t> supervisor_counter{0};

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

/// `opts` with the deprecated `intensity` and `period` folded into
/// `restarts`, so that only `restarts` is read from here on.
supervisor_options with_restart_limit(supervisor_options opts) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  opts.restarts = opts.restarts.with(opts.intensity, opts.period);
  opts.intensity.reset();
  opts.period.reset();
#pragma GCC diagnostic pop
  return opts;
}

} // namespace

supervisor_core::supervisor_core(runtime& rt, supervisor_options opts,
                                 std::vector<child_spec> specs)
  : rt_(&rt), opts_(with_restart_limit(std::move(opts))),
    policy_(opts_, jitter_source(opts_)) {
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
                        + "': two children have the id '" + c->spec->id + "'");
    c->uid = ++uid_counter_;
    c->name = c->spec->id;
    add(std::move(c));
  }
}

void supervisor_core::validate_options() const {
  auto bad = [this](const std::string& what) {
    throw value_error("supervisor '" + opts_.name + "': " + what);
  };
  opts_.restarts.check("supervisor '" + opts_.name + "'");
  if (auto& b = opts_.backoff) {
    if (b->min.count() < 0 || b->max < b->min)
      bad("backoff needs 0 <= min <= max");
    if (!(b->jitter >= 0.0 && b->jitter <= 1.0))
      bad("backoff jitter must be between 0 and 1");
  }
}

void supervisor_core::bind(process_state* self) {
  self_ = self;
  weak_this_ = weak_from_this();
}

void supervisor_core::run() {
  // This pool thread is the supervisor's until run() returns; it then
  // runs other processes, which must not pass for this supervisor.
  executing_scope on_this_thread{this};
  // Whatever way the supervisor ends (even declared killed while its
  // thread is stuck), no child outlives it.
  self_->on_exit([weak = weak_this_](const exit_info&) {
    if (auto core = weak.lock())
      core->kill_children("its supervisor ended");
  });
  stop_callback wake{[this] { exec_.wake(); }};
  struct closer {
    ext::serial_executor* exec;
    ~closer() {
      exec->close();
    }
  } close_on_exit{&exec_};
  // Held during the start, and for good once the loop ends, so no fast
  // restart runs beside either.
  auto exec = exec_.hold();
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
    while (exec_.await([this] { return stop_requested(); }))
      exec_.run_next();
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

void supervisor_core::child_exited(std::uint64_t uid, std::uint64_t gen,
                                   const exit_info& info) {
  if (!exit_here(uid, gen, info))
    post(command{
      [this, uid, gen, code = info.exitcode, why = std::string{info.reason}] {
        on_child_exit(uid, gen, exit_info{code, why});
      },
      [] {}});
}

bool supervisor_core::stop_requested() const {
  return self_->stop_signal.load(std::memory_order_relaxed) != 0;
}

// -- fast restarts ------------------------------------------------------------

bool supervisor_core::exit_here(std::uint64_t uid, std::uint64_t gen,
                                const exit_info& info) {
  // Not on a thread already running supervisor commands (this one's,
  // whose `exec_` it holds, or another's, which must not nest).
  if (!policy_.allows_fast_restarts() || executing_supervisor != nullptr)
    return false;
  return exec_.try_run_here([&] {
    if (quiesced_ || stop_requested())
      return false;
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
  });
}

// -- timers -------------------------------------------------------------------

void supervisor_core::after(milliseconds delay, std::uint64_t uid,
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

} // namespace troupe::detail
