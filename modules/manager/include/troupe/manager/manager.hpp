#pragma once

#include <any>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <typeindex>
#include <utility>
#include <vector>

#include "troupe/manager/batch.hpp"
#include "troupe/manager/detail/core.hpp"
#include "troupe/manager/dict.hpp"
#include "troupe/manager/list.hpp"
#include "troupe/manager/name_space.hpp"
#include "troupe/manager/object.hpp"
#include "troupe/manager/options.hpp"
#include "troupe/manager/value.hpp"
#include <troupe/event.hpp>
#include <troupe/lock.hpp>
#include <troupe/queue.hpp>
#include <troupe/supervisor.hpp>

namespace troupe {

namespace managed::detail {
struct manager_owner;
} // namespace managed::detail

/// A manager: Python's `multiprocessing.Manager()`, as a supervised state
/// actor that holds shared objects — dicts, lists, values, namespaces,
/// instances of registered custom types — and hands out typed proxies to
/// them.
///
///     troupe::manager mgr{rt};
///     auto d = mgr.dict<std::string, int>();
///     troupe::process p{rt, [](troupe::managed::dict<std::string, int> d) {
///       d.update("hits", [](int n) { return n + 1; });
///     }, d};
///
/// The state actor runs as the only child of a supervisor the manager
/// owns. When it fails (an exception inside the manager, `kill()`), the
/// supervisor starts it again and it takes up the same state: in memory
/// the objects live in the manager's core, outside the actor; with a
/// `state_path`, the state is recovered from the file. Calls made while it
/// restarts wait (up to `call_timeout`) and are then served.
///
/// Calls are served one at a time, in the order they were queued. A caller
/// that finds the manager up and idle runs the queued calls itself, on the
/// state actor's behalf (flat combining), so a call usually costs no thread
/// hand-off; see docs/manager.md, "Performance".
///
/// Thread-safety: every member may be called from any process or thread;
/// proxies may be passed to processes and used from event-based actors
/// (`proxy.async(self)`).
/// Lifetime: handles are cheap to copy and share one manager, which shuts
/// down when the last `manager` handle is destroyed (or at `shutdown()`):
/// proxies then throw `manager_unavailable`. Destroy managers before their
/// runtime.
class manager {
public:
  /// Starts a manager and its state actor; blocks until it runs. With a
  /// `state_path`, opens and recovers the file first: a file that cannot be
  /// read throws `serialization::state_file_error` (naming the file and
  /// what is wrong) under `on_corrupt::refuse`, or is set aside under
  /// `start_empty` (see `warning()`).
  explicit manager(runtime& rt, manager_options opts = {});

  // -- shared objects (blocking: each asks the state actor) ------------------

  /// A new dict (Python's `manager.dict()`), or the dict named
  /// `opts.name` (created if missing). Throws `value_error` when the name
  /// holds another type, or when the manager is durable and `K` or `V` is
  /// not a `managed::durable_value`.
  template <class K, class V>
    requires(managed::dict_key<K>)
  [[nodiscard]] managed::dict<K, V> dict(managed::object_options opts = {}) {
    return dict<K, V>(std::move(opts), {});
  }

  /// As `dict(opts)`, filled with `initial` when it is created.
  template <class K, class V>
    requires(managed::dict_key<K>)
  [[nodiscard]] managed::dict<K, V> dict(managed::object_options opts,
                                         std::vector<std::pair<K, V>> initial) {
    using obj = managed::detail::dict_object<K, V>;
    return {core(), open<obj>(std::move(opts.name),
                              [xs = std::move(initial)](obj& d) mutable {
                                for (auto& [k, v] : xs)
                                  d.put(std::move(k), std::move(v));
                              })};
  }

  /// A new list (Python's `manager.list(initial)`).
  template <class T>
  [[nodiscard]] managed::list<T> list(std::vector<T> initial = {}) {
    return list<T>(managed::object_options{}, std::move(initial));
  }

  /// `mgr.list<T>({x, y})`; without it, `mgr.list<std::string>({"a"})`
  /// would be ambiguous with the named form.
  template <class T>
  [[nodiscard]] managed::list<T> list(std::initializer_list<T> initial) {
    return list<T>(std::vector<T>(initial));
  }

  /// The list named `opts.name`, created with `initial` if missing.
  template <class T>
  [[nodiscard]] managed::list<T> list(managed::object_options opts,
                                      std::vector<T> initial = {}) {
    using obj = managed::detail::list_object<T>;
    return {core(), open<obj>(std::move(opts.name),
                              [xs = std::move(initial)](obj& l) mutable {
                                l.items = std::move(xs);
                              })};
  }

  /// A new value (Python's `manager.Value(typecode, initial)`).
  template <class T>
  [[nodiscard]] managed::value<T> value(T initial = T{}) {
    return value<T>(managed::object_options{}, std::move(initial));
  }

  /// The value named `opts.name`, created with `initial` if missing.
  template <class T>
  [[nodiscard]] managed::value<T> value(managed::object_options opts,
                                        T initial = T{}) {
    using obj = managed::detail::value_object<T>;
    return {core(), open<obj>(std::move(opts.name),
                              [x = std::move(initial)](obj& v) mutable {
                                v.val = std::move(x);
                              })};
  }

  /// A new namespace (Python's `manager.Namespace()`), or the one named
  /// `opts.name`.
  [[nodiscard]] managed::name_space name_space(managed::object_options opts
                                               = {});

  /// A queue kept by the manager under a name (Python's
  /// `manager.Queue()`): the framework's `troupe::queue`, so puts and gets
  /// do not go through the manager. A name that exists returns that queue
  /// (its item type must match; `qopts` then does not apply). Queues,
  /// locks and events are not durable.
  template <class T>
  [[nodiscard]] troupe::queue<T> queue(managed::object_options opts = {},
                                       queue_options qopts = {}) {
    return channel<troupe::queue<T>>(std::move(opts.name), "queue",
                                     [qopts](runtime& rt) {
                                       return troupe::queue<T>{rt, qopts};
                                     });
  }

  /// A lock kept by the manager under a name (Python's `manager.Lock()`):
  /// the framework's owned lock.
  [[nodiscard]] troupe::lock lock(managed::object_options opts = {});

  /// An event kept by the manager under a name (Python's
  /// `manager.Event()`).
  [[nodiscard]] troupe::event event(managed::object_options opts = {});

  /// An empty batch of writes to this manager's objects, applied as one
  /// atomic (and, when durable, one journaled) operation by its
  /// `commit()`; see `managed::batch`. Does not block.
  [[nodiscard]] managed::batch batch() const {
    return managed::batch{core()};
  }

  // -- custom types (Python's BaseManager.register) ---------------------------

  /// Registers `T` under `type_name`, so `make<T>(type_name, ...)` creates
  /// instances inside the manager. Registering the same name again with
  /// another type throws `value_error`. `T` must be default-constructible
  /// and movable.
  template <class T>
  void register_type(const std::string& type_name) {
    static_assert(
      std::is_default_constructible_v<T> && std::is_move_assignable_v<T>,
      "a managed custom type must be default-constructible and "
      "move-assignable");
    core()->register_type(
      type_name, managed::detail::type_of<managed::detail::custom_object<T>>());
  }

  /// A new instance `T(args...)` of the type registered as `type_name`
  /// (named `<type_name>-N`), and its proxy. Throws `value_error` when
  /// nothing is registered under that name or it is another type.
  template <class T, class... Args>
    requires(std::is_constructible_v<T, Args&&...>)
  [[nodiscard]] managed::object<T> make(const std::string& type_name,
                                        Args&&... args) {
    return make<T>(managed::object_options{}, type_name,
                   std::forward<Args>(args)...);
  }

  /// As `make(type_name, args...)`, opening the instance named
  /// `opts.name` when it exists (then `args` do not apply).
  template <class T, class... Args>
    requires(std::is_constructible_v<T, Args&&...>)
  [[nodiscard]] managed::object<T> make(managed::object_options opts,
                                        const std::string& type_name,
                                        Args&&... args) {
    using obj = managed::detail::custom_object<T>;
    const auto& type = core()->registered(
      type_name, std::type_index{typeid(obj)}, managed::detail::type_name<T>());
    auto name = opts.name.empty() ? type_name + "-" : opts.name;
    auto init =
      [tup = std::make_tuple(std::decay_t<Args>(std::forward<Args>(args))...)](
        obj& o) mutable { o.val = std::make_from_tuple<T>(std::move(tup)); };
    return {core(), open_as<obj>(std::move(name), type, std::move(init),
                                 opts.name.empty())};
  }

  // -- control
  // ------------------------------------------------------------------

  /// Stops the state actor and its supervisor (Python's `shutdown()`):
  /// blocks until they ended, fails queued calls with
  /// `manager_unavailable`, and makes a durable manager's journal durable.
  /// Idempotent.
  void shutdown();

  /// Whether the manager accepts calls (it may be restarting).
  [[nodiscard]] bool running() const;

  /// The supervisor of the state actor (its events, restarts, tree).
  [[nodiscard]] const troupe::supervisor& supervisor() const;

  /// The state actor's process now (it changes with each restart); empty
  /// while it restarts.
  [[nodiscard]] std::optional<process> state_actor() const;

  /// How many times the state actor has started (1 + restarts).
  [[nodiscard]] int incarnations() const;

  /// What recovery had to say (a bad state file set aside); empty if
  /// nothing.
  [[nodiscard]] std::string warning() const;

  [[nodiscard]] const std::string& name() const;

  /// Makes the state actor throw `std::runtime_error(what)` from inside
  /// its loop, as a bug would: the actor ends, and its supervisor restarts
  /// it. For tests and demonstrations of recovery. Does not block.
  void inject_failure(std::string what);

  /// Internal.
  [[nodiscard]] const std::shared_ptr<managed::detail::manager_core>&
  core() const;

private:
  template <class Obj, class Init>
  managed::detail::slot* open(std::string name, Init init) {
    return open_as<Obj>(std::move(name), managed::detail::type_of<Obj>(),
                        std::move(init), false);
  }

  template <class Obj, class Init>
  managed::detail::slot* open_as(std::string name,
                                 const managed::detail::object_type& type,
                                 Init init, bool prefix_only) {
    using namespace managed::detail;
    auto c = core();
    return c->template call<slot*>(
      nullptr, [&type, name = std::move(name), prefix_only,
                init = std::move(init)](op_ctx& ctx) mutable {
        std::function<void(object_base&, op_ctx&, slot*)> fill
          = [&init](object_base& o, op_ctx& x, slot* s) {
              auto& obj = static_cast<Obj&>(o);
              init(obj);
              if (x.durable())
                x.journal_state(s, obj.save());
            };
        return ctx.core().open(std::move(name), type, fill, ctx, prefix_only);
      });
  }

  template <class C, class Make>
  C channel(std::string name, const char* kind, Make make) {
    auto c = core();
    return c->template call<C>(nullptr, [name = std::move(name), kind,
                                         make](managed::detail::op_ctx& ctx) {
      return ctx.core().template channel<C>(name, kind, make);
    });
  }

  std::shared_ptr<managed::detail::manager_owner> owner_;
};

} // namespace troupe
