#pragma once

#include <any>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/actor.hpp"
#include "troupe/error.hpp"
#include "troupe/process.hpp"

namespace troupe {

class supervisor;
struct supervisor_options;
struct child_spec;

/// When a supervisor restarts a child that ended (OTP's restart types).
enum class restart {
  /// Always restarted.
  permanent,
  /// Restarted only after an abnormal end (an exception, a non-zero
  /// `exit(code)`, `kill()`), not after a normal return or a shutdown.
  transient,
  /// Never restarted; its spec is removed once it ended.
  temporary,
};

/// Whether a child is a worker or a supervisor of its own.
enum class child_type { worker, supervisor };

/// How a supervisor stops a child (OTP's shutdown spec): ask it to stop
/// (`terminated` is thrown at its next blocking call), wait up to a grace,
/// then kill it; or kill it at once (`brutal_kill`); or wait as long as it
/// takes (`infinity`, the default for supervisors). A negative grace is
/// invalid: a supervisor given one throws `value_error` (OTP's
/// `{invalid_shutdown, -10}`).
class shutdown_spec {
public:
  /// Asks, then kills after `grace`. Implicit, so `.shutdown = 2s` reads
  /// naturally in a child spec.
  constexpr shutdown_spec(std::chrono::milliseconds grace) // NOLINT
    : grace_(grace) {}

  [[nodiscard]] static constexpr shutdown_spec brutal_kill() {
    return shutdown_spec{std::chrono::milliseconds{0}};
  }

  [[nodiscard]] static constexpr shutdown_spec infinity() {
    return shutdown_spec{std::chrono::milliseconds::max()};
  }

  [[nodiscard]] constexpr bool is_brutal_kill() const {
    return grace_.count() == 0;
  }

  [[nodiscard]] constexpr bool is_infinity() const {
    return grace_ == std::chrono::milliseconds::max();
  }

  /// The grace; `max()` for infinity, 0 for brutal kill.
  [[nodiscard]] constexpr std::chrono::milliseconds grace() const {
    return grace_;
  }

  friend constexpr bool operator==(shutdown_spec, shutdown_spec) = default;

private:
  std::chrono::milliseconds grace_;
};

namespace detail {

/// Readable names of types, for error messages (`int, std::string`).
std::string type_names(std::initializer_list<const std::type_info*> types);

/// What start_child(extra...) passes along: a `std::tuple` of the decayed
/// extra arguments, string literals as `std::string`.
template <class T>
using extra_arg_t = std::conditional_t<
  std::is_convertible_v<
    T, const char*> && !std::is_same_v<std::decay_t<T>, std::nullptr_t>,
  std::string, std::decay_t<T>>;

template <class... Extra>
const std::tuple<Extra...>& unpack_extra(const std::any* extra,
                                         const std::string& id) {
  static const std::tuple<Extra...> none{};
  if (extra == nullptr) {
    if constexpr (sizeof...(Extra) == 0)
      return none;
    else
      throw value_error("child '" + id + "' takes extra arguments ("
                        + type_names({&typeid(Extra)...})
                        + "); start it with start_child(args...) under a "
                          "simple_one_for_one supervisor");
  }
  if (auto* tup = std::any_cast<std::tuple<Extra...>>(extra))
    return *tup;
  throw value_error("start_child: child template '" + id
                    + "' takes extra arguments ("
                    + type_names({&typeid(Extra)...}) + "), got ("
                    + std::string{extra->type().name()} + ")");
}

} // namespace detail

/// How a supervisor starts (and restarts) a child: one of
/// `start_process`, `start_subclass`, `start_actor`, `start_supervisor`,
/// or any callable returning a started process handle.
///
/// The factory runs each time the child (re)starts, so whatever it captures
/// (the target and its arguments) must be copyable: every restart begins
/// from a fresh copy. It runs on the supervisor's thread, except that the
/// starts made by `start_process` and `start_actor`, which only copy the
/// target and hand it to a thread or the scheduler, may restart a failed
/// one_for_one child directly on the thread that reported the failure
/// (a fast restart; see docs/supervision.md).
class child_start {
public:
  /// `(runtime, name, extra)`: returns the started child. `extra` is null,
  /// or the arguments of a `simple_one_for_one` `start_child(extra...)`.
  using factory_type
    = std::function<process(runtime&, const std::string&, const std::any*)>;

  child_start() = default;

  child_start(factory_type f, child_type type)
    : factory_(std::move(f)), type_(type) {}

  /// As `child_start(f, type)`; `quick` says that `f` neither blocks nor
  /// runs code of the user's beyond copying the target and its arguments,
  /// so that a supervisor may run it on any thread.
  child_start(factory_type f, child_type type, bool quick)
    : factory_(std::move(f)), type_(type), quick_(quick) {}

  /// Any callable `process(runtime&)` that returns a started process or
  /// actor (e.g. a lambda spawning an actor with special options).
  template <class F>
    requires(std::is_invocable_r_v<process, F&, runtime&>)
  child_start(F f) // NOLINT(google-explicit-constructor)
    : factory_([f = std::move(f)](runtime& rt, const std::string&,
                                  const std::any*) mutable { return f(rt); }),
      type_(child_type::worker) {}

  [[nodiscard]] explicit operator bool() const {
    return static_cast<bool>(factory_);
  }

  [[nodiscard]] child_type type() const {
    return type_;
  }

  /// Whether the start may run on any thread (see the constructor).
  [[nodiscard]] bool quick() const noexcept {
    return quick_;
  }

  /// Starts one instance. Throws what the factory throws.
  process operator()(runtime& rt, const std::string& name,
                     const std::any* extra) const {
    return factory_(rt, name, extra);
  }

private:
  factory_type factory_;
  child_type type_ = child_type::worker;
  bool quick_ = false;
};

/// A child that runs `f(args..., extra...)` as a blocking process named
/// after the child's id. `Extra` (explicit template arguments) are the
/// types a `simple_one_for_one` supervisor's `start_child` adds:
/// `start_process<int>(serve, "tcp")` runs `serve("tcp", port)` for
/// `sup.start_child(port)`.
template <class... Extra, class F, class... Args>
child_start start_process(F f, Args... args) {
  static_assert(std::is_copy_constructible_v<
                  F> && (std::is_copy_constructible_v<Args> && ...),
                "a supervised target and its arguments must be copyable: "
                "every restart starts from a fresh copy");
  return child_start{
    [f = std::move(f), tup = std::make_tuple(std::move(args)...)](
      runtime& rt, const std::string& name, const std::any* extra) {
      const auto& more = detail::unpack_extra<Extra...>(extra, name);
      auto all = std::tuple_cat(tup, more);
      auto p = std::apply(
        [&](auto&... xs) {
          return process{rt, {.name = name}, f, xs...};
        },
        all);
      p.start();
      return p;
    },
    child_type::worker, true};
}

/// A child that runs a copy of `T(rt, args..., extra...)`, a
/// `process_base<T>` subclass.
template <class T, class... Extra, class... Args>
  requires(std::is_base_of_v<process, T>)
child_start start_subclass(Args... args) {
  return child_start{
    [tup = std::make_tuple(std::move(args)...)](
      runtime& rt, const std::string& name, const std::any* extra) {
      const auto& more = detail::unpack_extra<Extra...>(extra, name);
      auto all = std::tuple_cat(tup, more);
      auto obj = std::apply([&](auto&... xs) { return T{rt, xs...}; }, all);
      obj.start();
      return detail::process_access::make(detail::process_access::state(obj));
    },
    child_type::worker};
}

/// A child that is an event-based actor spawned from `fun(self, args...,
/// extra...)` (see `troupe::spawn`).
template <class... Extra, class F, class... Args>
child_start start_actor(F fun, Args... args) {
  return child_start{
    [fun = std::move(fun), tup = std::make_tuple(std::move(args)...)](
      runtime& rt, const std::string& name, const std::any* extra) {
      const auto& more = detail::unpack_extra<Extra...>(extra, name);
      auto all = std::tuple_cat(tup, more);
      return std::apply(
        [&](auto&... xs) -> process {
          return spawn(rt, process_options{.name = name}, fun, xs...);
        },
        all);
    },
    child_type::worker, true};
}

/// A child that is a supervisor of its own with `children` (a nested
/// tree). Restarting it starts it afresh from these specs: children added
/// later with `start_child` are gone, as in OTP.
child_start start_supervisor(supervisor_options opts,
                             std::vector<child_spec> children);

/// One child of a supervisor, with designated initializers:
///
///     troupe::child_spec{.id = "parser",
///                        .start = troupe::start_process(parse, input),
///                        .restart = troupe::restart::transient,
///                        .shutdown = 2s}
struct child_spec {
  /// Unique among the supervisor's children; also the process's name.
  std::string id{};

  child_start start{};

  troupe::restart restart = troupe::restart::permanent;

  /// Empty picks OTP's defaults: 5 s for a worker, infinity for a
  /// supervisor.
  std::optional<shutdown_spec> shutdown{};

  /// Empty takes the type of `start` (supervisor for `start_supervisor`).
  std::optional<child_type> type{};

  /// Whether its end, when it is not restarted, can end the supervisor
  /// (see `supervisor_options::auto_shutdown`, OTP 24). Only for transient
  /// and temporary children, under a supervisor whose auto_shutdown is not
  /// `never`; otherwise the supervisor throws `value_error`.
  bool significant = false;

  /// Synchronous start (OTP's `start_link`/`init_ack`): the child counts
  /// as started only once it called `this_process::ready()`, and the
  /// supervisor starts the next child (or answers `start_child`) only then.
  /// A child that ends before calling it failed to start. The supervisor's
  /// thread waits meanwhile, as OTP's does; its own stop ends the wait.
  bool await_ready = false;
};

} // namespace troupe
