#pragma once

#include <type_traits>
#include <utility>

#include <caf/local_actor.hpp>

#include "troupe/detail/actor_spawn.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"

namespace troupe {

/// An event-based actor started by `troupe::spawn`: a CAF actor (a
/// function returning a `caf::behavior`, or a class) scheduled on the
/// runtime's worker threads instead of a thread of its own, so hundreds of
/// thousands fit on a few cores.
///
/// It has the surface of a `process` (`join`, `is_alive`, `exitcode`,
/// `exit_reason`, `terminate`, `kill`, `send`, `name`, `pid`), so
/// supervision treats both forms alike; it is started by `spawn`, so
/// `start()` throws `state_error`. Exit codes: 0 after `self->quit()`;
/// 1 after an unhandled exception or another error (see `exit_reason()`);
/// -15 after `terminate()` (CAF's `user_shutdown`, which an actor may trap
/// with an exit handler); -9 after `kill()` or the terminate grace
/// (CAF's `kill`, which it cannot trap).
class actor : public process {
public:
  using process::process;

private:
  friend struct detail::process_access;
};

/// Spawns an event-based actor running `fun(self, xs...)` (any function CAF
/// accepts, e.g. `caf::behavior f(caf::event_based_actor* self, int n)`).
/// Does not block.
template <class F, class... Ts>
  requires(std::conjunction_v<
           std::negation<std::is_same<std::decay_t<F>, process_options>>,
           std::negation<std::is_base_of<caf::local_actor, std::decay_t<F>>>>)
actor spawn(runtime& rt, F fun, Ts&&... xs) {
  return spawn(rt, process_options{}, std::move(fun), std::forward<Ts>(xs)...);
}

/// As `spawn(rt, fun, xs...)`, with a name, the daemon flag, and a
/// terminate grace.
template <class F, class... Ts>
actor spawn(runtime& rt, process_options opts, F fun, Ts&&... xs) {
  auto st = detail::prepare_actor(rt, std::move(opts));
  auto hdl
    = detail::spawn_tracked(rt.system(), st, fun, std::forward<Ts>(xs)...);
  return detail::bind_actor(std::move(st), std::move(hdl), true);
}

/// Spawns a class-based event-based actor `T(caf::actor_config&, xs...)`.
/// Does not block.
template <class T, class... Ts>
  requires(std::is_base_of_v<caf::local_actor, T>)
actor spawn(runtime& rt, Ts&&... xs) {
  auto st = detail::prepare_actor(rt, {});
  auto hdl = detail::spawn_class<T>(rt.system(), st, std::forward<Ts>(xs)...);
  return detail::bind_actor(std::move(st), std::move(hdl), !std::is_final_v<T>);
}

} // namespace troupe
