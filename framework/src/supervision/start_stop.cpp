// Starting and stopping a supervisor's children: one instance by its start
// (and, with await_ready, its ready signal), one by its shutdown spec, all
// of them in order at the supervisor's start and in reverse at its end.

#include <iterator>
#include <optional>
#include <utility>

#include "troupe/ext/describe.hpp"

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe::detail {

namespace {

/// Kills `st`, whose shutdown grace has passed without it ending.
void kill_after_grace(const std::shared_ptr<process_state>& st,
                      std::chrono::milliseconds grace) {
  kill_process(st, "killed after a shutdown grace of "
                     + std::to_string(grace.count()) + " ms");
}

} // namespace

// -- starting -----------------------------------------------------------------

/// Starts one instance of `c`; throws what its start threw. A child with
/// `await_ready` counts as started once it called
/// `this_process::ready()`; ending before that is a failed start.
void supervisor_core::start_one(child& c) {
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
  auto st = process_access::state(*p);
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
void supervisor_core::await_ready(const std::shared_ptr<process_state>& st) {
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
void supervisor_core::forget_start(child& c) {
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

void supervisor_core::start_initial() {
  for (auto i = children_.begin(); i != children_.end(); ++i) {
    auto& c = **i;
    try {
      start_one(c);
    } catch (...) {
      auto why = ext::describe_current_exception();
      for (auto j = i; j != children_.begin();)
        stop_one(**--j);
      rethrow_start_failure(c.spec->id, why);
    }
  }
}

// -- stopping -----------------------------------------------------------------

/// Stops the running instance of `c` by its shutdown spec and waits for
/// its end. The exit it causes is not a failure (the instance is detached
/// from `c` first, so its exit event is ignored).
void supervisor_core::stop_one(child& c) {
  std::shared_ptr<process_state> st;
  {
    std::lock_guard guard{mtx_};
    st = std::move(c.st);
    c.st = nullptr;
  }
  c.ending = false;
  if (!st)
    return;
  auto sd = *c.spec->shutdown;
  if (sd.is_brutal_kill()) {
    kill_process(st, "killed (shutdown: brutal_kill)");
    return;
  }
  request_stop(st, 15, milliseconds::max());
  if (sd.is_infinity()) {
    st->await_end(ext::deadline::forever());
    return;
  }
  if (!st->await_end(ext::deadline::after(sd.grace())))
    kill_after_grace(st, sd.grace());
}

/// terminate_child's work on one child: stopped and not restarted;
/// forgotten if temporary or under simple_one_for_one. A child stopped
/// while it restarts ends its restart loop; in a group strategy, the
/// children after it that wait to restart with it stay stopped too (as
/// OTP leaves them `undefined`): they would start without it.
void supervisor_core::end_child(child& c) {
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

/// A child's own `terminate()`, routed here: under one_for_one and
/// simple_one_for_one it is stopped as `terminate_child` stops it, but this
/// thread does not wait out its grace. Python's `terminate()` does not wait
/// either, and a child deaf to it would otherwise hold up every other
/// child's restart for its whole grace (a pool's stuck worker stalled the
/// whole pool). The child counts as running until its instance ends;
/// `on_child_exit` then finishes what `end_child` does. In a group strategy
/// the order of stops matters, so there it is stopped at once.
void supervisor_core::end_child_soon(child& c) {
  auto sd = *c.spec->shutdown;
  if (policy_.is_group() || !c.st || sd.is_brutal_kill()) {
    end_child(c);
    return;
  }
  if (c.ending)
    return;
  c.ending = true;
  request_stop(c.st, 15, milliseconds::max());
  if (sd.is_infinity())
    return;
  std::weak_ptr<process_state> weak = c.st;
  self_->rt->timers().schedule(clock::now() + sd.grace(),
                               [weak, grace = sd.grace()] {
                                 if (auto st = weak.lock(); st && !st->ended())
                                   kill_after_grace(st, grace);
                               });
}

/// Stops every child (the supervisor's end): in reverse start order, or,
/// under simple_one_for_one, all at once.
void supervisor_core::shutdown_children() {
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
void supervisor_core::stop_dynamic_children() {
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
  auto until = sd.is_infinity() ? ext::deadline::forever()
                                : ext::deadline::after(sd.grace());
  for (auto& st : running)
    if (!st->await_end(until))
      kill_after_grace(st, sd.grace());
}

} // namespace troupe::detail
