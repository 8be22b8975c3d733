#pragma once

#include <cstddef>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_config.hpp>
#include <caf/actor_storage.hpp>
#include <caf/actor_system.hpp>
#include <caf/detail/spawn_fwd.hpp>
#include <caf/detail/spawnable.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/detail/unique_function.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/infer_handle.hpp>
#include <caf/local_actor.hpp>

#include "troupe/detail/block_pool.hpp"
#include "troupe/fwd.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"

// How `troupe::spawn` (troupe/actor.hpp) starts an event-based actor: the
// actor class that reports its own end, CAF's storage of it from troupe's
// block pool, and the one-allocation init function.

namespace troupe::detail {

/// Creates and registers the state of an actor about to be spawned.
std::shared_ptr<process_state> prepare_actor(runtime& rt, process_options opts);

/// Binds the spawned CAF actor to its state. With `tracked` false (a class
/// that cannot be wrapped in `tracked_actor`), also watches for its end.
actor bind_actor(std::shared_ptr<process_state> st, caf::actor hdl,
                 bool tracked);

/// Records the end of an actor, with CAF's exit reason `rsn`.
void actor_ended(process_state& st, const caf::error& rsn);

/// The scheduler worker running an actor's cleanup on this thread, while it
/// reports the end: an actor its exit hooks spawn (a supervisor's restart)
/// goes to that worker's own queue and runs next on this thread, as CAF's
/// `self->spawn` does, instead of waking another worker.
inline thread_local caf::execution_unit* ending_host = nullptr;

/// An actor class `Impl` that reports its own end to its troupe state.
///
/// Saves the attachable `attach_functor` allocates on every spawn, and
/// records the end before CAF's cleanup rather than during it. The
/// actor holds its state until its cleanup: the state may have ended
/// before (`kill()` declares it killed at once) and lost every other
/// reference, while the actor still has to run its cleanup. The state
/// holds the actor only while it runs (`hdl`) and weakly afterwards
/// (`body`), so there is no cycle.
template <class Impl>
class tracked_actor final : public Impl {
public:
  template <class... Ts>
  tracked_actor(caf::actor_config& cfg, std::shared_ptr<process_state> st,
                Ts&&... xs)
    : Impl(cfg, std::forward<Ts>(xs)...), st_(std::move(st)) {}

  bool cleanup(caf::error&& rsn, caf::execution_unit* host) override {
    // The end is recorded before CAF's own cleanup, which wakes CAF's
    // clock thread to cancel the actor's timeouts (a futex wake-up, several
    // microseconds): a supervisor's restart, and joiners, need not wait
    // for it.
    if (auto st = std::move(st_)) {
      auto prev = std::exchange(ending_host, host);
      actor_ended(*st, rsn);
      ending_host = prev;
    }
    return Impl::cleanup(std::move(rsn), host);
  }

private:
  std::shared_ptr<process_state> st_;
};

} // namespace troupe::detail

#if defined(__GNUC__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif

/// CAF's storage of a tracked actor (control block and actor in one
/// allocation), as CAF lays it out, but allocated from troupe's block pool:
/// the spawner allocates it and a scheduler worker usually frees it, which
/// glibc's malloc serves slowly (see `block_pool`). The layout checks are
/// CAF's own.
template <class Impl>
class caf::actor_storage<troupe::detail::tracked_actor<Impl>> {
public:
  using value_type = troupe::detail::tracked_actor<Impl>;

  template <class... Us>
  actor_storage(actor_id x, node_id y, actor_system* sys, Us&&... zs)
    : ctrl(x, y, sys, data_dtor, block_dtor) {
    new (&data) value_type(std::forward<Us>(zs)...);
  }

  ~actor_storage() {
    static_assert(offsetof(actor_storage, ctrl) == 0,
                  "control block is not at the start of the storage");
    static_assert(offsetof(actor_storage, data) == CAF_CACHE_LINE_SIZE,
                  "data is not at cache line size boundary");
  }

  actor_storage(const actor_storage&) = delete;
  actor_storage& operator=(const actor_storage&) = delete;

  // Under ThreadSanitizer the storage bypasses the pool: what orders its
  // release is CAF's reference count, compiled into the uninstrumented
  // libcaf_core, so TSan would report the pool's later reuse of the block
  // on another thread as a race (cmake/tsan.supp).
#if defined(__SANITIZE_THREAD__)
  static constexpr bool pooled = false;
#else
  static constexpr bool pooled = true;
#endif

  static void* operator new(std::size_t size) {
    static_assert(alignof(actor_storage) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (!pooled || size != sizeof(actor_storage))
      return ::operator new(size);
    return troupe::detail::pool_for<actor_storage>::allocate();
  }

  static void operator delete(void* ptr, std::size_t size) noexcept {
    if (!pooled || size != sizeof(actor_storage))
      ::operator delete(ptr);
    else
      troupe::detail::pool_for<actor_storage>::deallocate(ptr);
  }

  actor_control_block ctrl;
  char pad[CAF_CACHE_LINE_SIZE - sizeof(actor_control_block)];
  union {
    value_type data;
  };

private:
  static void data_dtor(abstract_actor* ptr) {
    ptr->on_destroy();
    static_cast<value_type*>(ptr)->~value_type();
  }

  static void block_dtor(actor_control_block* ptr) {
    delete reinterpret_cast<actor_storage*>(ptr);
  }
};

#if defined(__GNUC__)
#  pragma GCC diagnostic pop
#endif

namespace troupe::detail {

/// The init function of a function-based actor, `fun(self, xs...)`, as
/// CAF's `init_fun_factory` makes it, but in one allocation from troupe's
/// block pool. CAF's takes two (the wrapper and a shared tuple of the
/// arguments), made by the spawner and freed by a scheduler worker, which
/// glibc serves slowly (see `block_pool`); a supervisor restarting an
/// actor child pays them on every restart.
template <class Impl, class F, class Tuple>
class tracked_init final : public caf::detail::unique_function<caf::behavior(
                             caf::local_actor*)>::wrapper {
public:
  tracked_init(F fun, Tuple args)
    : fun_(std::move(fun)), args_(std::move(args)) {}

  caf::behavior operator()(caf::local_actor* self) override {
    // As CAF's: the arguments are moved into the call (it runs once).
    return std::apply(
      [this, self](auto&... xs) { return call(self, std::move(xs)...); },
      args_);
  }

  static void* operator new(std::size_t) {
    return pool_for<tracked_init>::allocate();
  }

  static void operator delete(void* ptr) noexcept {
    pool_for<tracked_init>::deallocate(ptr);
  }

private:
  template <class... Xs>
  caf::behavior call(caf::local_actor* self, Xs&&... xs) {
    using trait = typename caf::detail::get_callable_trait<F>::type;
    using first =
      typename caf::detail::tl_head<typename trait::arg_types>::type;
    using result = typename trait::result_type;
    if constexpr (std::is_pointer_v<first>) {
      if constexpr (std::is_convertible_v<result, caf::behavior>) {
        auto res = fun_(static_cast<Impl*>(self), std::forward<Xs>(xs)...);
        return std::move(res.unbox());
      } else {
        fun_(static_cast<Impl*>(self), std::forward<Xs>(xs)...);
        return caf::behavior{};
      }
    } else if constexpr (std::is_convertible_v<result, caf::behavior>) {
      auto res = fun_(std::forward<Xs>(xs)...);
      return std::move(res.unbox());
    } else {
      fun_(std::forward<Xs>(xs)...);
      return caf::behavior{};
    }
  }

  F fun_;
  Tuple args_;
};

/// Spawns `fun(self, xs...)` as CAF's `spawn(fun, xs...)` does, with the
/// implementation class wrapped in `tracked_actor`.
template <class F, class... Ts>
caf::actor spawn_tracked(caf::actor_system& sys,
                         const std::shared_ptr<process_state>& st, F& fun,
                         Ts&&... xs) {
  using impl = caf::infer_impl_from_fun_t<F>;
  static_assert(caf::detail::spawnable<F, impl, Ts...>(),
                "cannot spawn function-based actor with given arguments");
  caf::actor_config cfg{ending_host};
  using tuple = decltype(std::make_tuple(caf::detail::spawn_fwd<Ts>(xs)...));
  cfg.init_fun = caf::detail::unique_function<caf::behavior(caf::local_actor*)>{
    new tracked_init<impl, F, tuple>{std::move(fun),
                                     tuple{caf::detail::spawn_fwd<Ts>(xs)...}}};
  // spawn_class is what CAF's own function-based spawn ends in.
  return caf::actor_cast<caf::actor>(
    sys.spawn_class<tracked_actor<impl>, caf::no_spawn_options>(cfg, st));
}

/// Spawns a class-based actor `T(caf::actor_config&, xs...)` as CAF's
/// `spawn<T>(xs...)` does, wrapped in `tracked_actor` unless `T` is final
/// (`bind_actor` then watches its end with an attached functor).
template <class T, class... Ts>
caf::actor spawn_class(caf::actor_system& sys,
                       const std::shared_ptr<process_state>& st, Ts&&... xs) {
  if constexpr (std::is_final_v<T>) {
    return caf::actor_cast<caf::actor>(sys.spawn<T>(std::forward<Ts>(xs)...));
  } else {
    caf::actor_config cfg{ending_host};
    return caf::actor_cast<caf::actor>(
      sys.spawn_class<tracked_actor<T>, caf::no_spawn_options>(
        cfg, st, std::forward<Ts>(xs)...));
  }
}

} // namespace troupe::detail
