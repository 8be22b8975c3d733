// What a supervisor does when a child ends unasked: it reports the end,
// asks its restart_policy what follows (the restart type, the strategy's
// group and order, the intensity, the backoff), stops the group, and starts
// it again now or after the delay, retrying starts that throw.

#include <string>
#include <utility>
#include <vector>

#include "troupe/ext/describe.hpp"

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe::detail {

void supervisor_core::on_child_exit(std::uint64_t uid, std::uint64_t gen,
                                    const exit_info& info) {
  auto* c = find(uid);
  if (c == nullptr || c->gen != gen || !c->st)
    return;        // an instance this supervisor stopped itself, or forgotten
  if (c->ending) { // stopped by its own terminate(): not restarted
    std::shared_ptr<process_state> gone; // freed outside the lock
    {
      std::lock_guard guard{mtx_};
      gone = std::move(c->st);
      c->st = nullptr;
      c->state = child_state::stopped;
    }
    c->ending = false;
    if (c->spec->restart == restart::temporary || template_)
      remove(uid);
    return;
  }
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
void supervisor_core::check_auto_shutdown() {
  if (policy_.ends_supervisor(children_.begin(), children_.end(), facts))
    throw auto_shutdown_reached{};
}

/// Records one restart; gives up (escalates) past the intensity, with the
/// reason `why()` (built only then).
template <class Why>
void supervisor_core::count_restart(const child& c, Why why) {
  if (policy_.admit_restart(clock::now()))
    return;
  auto msg = "supervisor '" + opts_.name + "' reached its maximum restart "
             + "intensity (" + std::to_string(opts_.restarts.intensity)
             + " restarts in " + std::to_string(opts_.restarts.period.count())
             + " ms); last failure: child '" + (template_ ? c.name : c.spec->id)
             + "': " + why();
  emit(supervisor_event::kind::intensity_exceeded, c,
       [&msg](supervisor_event& ev) { ev.reason = msg; });
  throw escalation{msg};
}

// -- the group ----------------------------------------------------------------

/// Stops what the strategy says must restart with `failed`, marks it all
/// as restarting, and starts it now or after the backoff.
void supervisor_core::restart_group(child& failed) {
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
/// rest_for_one: it and those after it): the others are stopped in reverse
/// start order — temporary ones stopped by a sibling's restart are gone and
/// count for nothing (OTP's `temporary_bystander`) — and all are marked
/// restarting.
void supervisor_core::stop_group(child& failed) {
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
  // The group again: under one_for_all a bystander forgotten may have been
  // its first child.
  auto group = group_of(failed);
  std::lock_guard guard{mtx_};
  for (auto i = group.first; i != group.last; ++i)
    (*i)->state = child_state::restarting;
}

restart_policy::group<supervisor_core::child_list::iterator>
supervisor_core::group_of(child& failed) {
  return policy_.group_of(children_.begin(), children_.end(), failed.pos);
}

supervisor_core::milliseconds supervisor_core::backoff_for(child& c) {
  return policy_.backoff(c.consecutive, c.started_at, clock::now());
}

// -- starting again -----------------------------------------------------------

/// The restart of `failed` is due (at once, or its backoff has passed).
void supervisor_core::start_scheduled(child& failed) {
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

void supervisor_core::start_scheduled_uid(std::uint64_t uid) {
  if (auto* c = find(uid))
    start_scheduled(*c);
  else if (opts_.strategy == strategy::one_for_all)
    start_group(children_.begin());
}

/// One child restarts on its own (one_for_one, simple_one_for_one): a start
/// that throws is retried for this child alone, so a child that cannot
/// start holds up no sibling (OTP's `try_again_restart`).
void supervisor_core::restart_one(child& c) {
  if (!policy_.due(facts_of(c)))
    return; // stopped (terminate_child) or already running
  try {
    start_one(c);
  } catch (...) {
    auto why = ext::describe_current_exception();
    if (current_state_ptr() != self_) {
      // A fast restart, on another thread: counting the failure may
      // escalate, which only the supervisor's own thread can do.
      post(command{[this, uid = c.uid, why] {
                     if (auto* failed = find(uid);
                         failed != nullptr && policy_.due(facts_of(*failed)))
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

/// Starts, in order from `from`, the children marked restarting (a group
/// restart). At the first start that throws, the rest wait: the group is
/// retried as a whole (see `retry`).
void supervisor_core::start_group(child_list::iterator from) {
  (void)policy_.for_each_to_start(
    from, children_.end(), facts, [this](child_list::iterator i) {
      auto& c = **i;
      try {
        start_one(c);
      } catch (...) {
        start_failed(c, ext::describe_current_exception());
        return false;
      }
      restarted(c);
      return true;
    });
}

void supervisor_core::restarted(child& c) {
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
void supervisor_core::start_failed(child& c, const std::string& why) {
  c.started_at = clock::now(); // backoff resets count from attempts
  emit(supervisor_event::kind::start_failed, c,
       [&why](supervisor_event& ev) { ev.reason = why; });
  count_restart(c, [&why] { return "could not start: " + why; });
  after(backoff_for(c), c.uid, &supervisor_core::retry);
}

/// Tries again to restart child `uid` after a failed start, unless it was
/// stopped or removed meanwhile (OTP drops the retry then). In a group
/// strategy the retry is a group restart from that child (OTP's
/// `restart(Strategy, FailedChild)`): under one_for_all the children the
/// failed attempt started are stopped and all start again together.
void supervisor_core::retry(std::uint64_t uid) {
  auto* c = find(uid);
  if (c == nullptr || !policy_.due(facts_of(*c)))
    return;
  if (!policy_.is_group()) {
    restart_one(*c);
    return;
  }
  stop_group(*c);
  start_group(group_of(*c).first);
}

} // namespace troupe::detail
