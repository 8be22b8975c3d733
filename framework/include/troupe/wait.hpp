#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <ranges>
#include <span>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/process_state.hpp"
#include "troupe/error.hpp"
#include "troupe/event.hpp"
#include "troupe/pipe.hpp"
#include "troupe/process.hpp"
#include "troupe/queue.hpp"
#include "troupe/simple_queue.hpp"

namespace troupe {

/// One thing `troupe::wait` can wait for: a queue (`queue`,
/// `joinable_queue`, `simple_queue`), the receiving end of a pipe
/// (`connection`), an `event`, or a process or actor (Python's
/// `Process.sentinel`). Converts implicitly from each, so a list can mix
/// them: `std::vector<troupe::waitable> xs{conn, q, worker};`.
///
/// Ready means what `select` means, plus: a process is ready once it has
/// ended, however it ended (`is_alive()` is false). A process that was not
/// started cannot be waited for (`state_error`).
///
/// Thread-safety: a `waitable` is a handle; copies refer to the same
/// object, which it keeps alive. Cheap to copy.
class waitable {
public:
  template <class T>
  waitable(const queue<T>& q) // NOLINT: converts on purpose
    : waitable(q.state(), channel_ops<detail::queue_state<T>>()) {}

  template <class T>
  waitable(const simple_queue<T>& q) // NOLINT: converts on purpose
    : waitable(q.state(), channel_ops<detail::queue_state<T>>()) {}

  template <class Out, class In>
    requires(!std::is_void_v<In>)
  waitable(const connection<Out, In>& c) // NOLINT: converts on purpose
    : waitable(c.state(), end_ops<detail::pipe_end<Out, In>>()) {}

  waitable(const event& e) // NOLINT: converts on purpose
    : waitable(e.state(), channel_ops<detail::event_state>()) {}

  /// Throws `state_error` for a process that was not started.
  waitable(const process& p) // NOLINT: converts on purpose
    : waitable(started(p), process_ops()) {}

  /// A process of another kind, e.g. an `os_process` (a module's type with
  /// `as_process()`): ready once it has ended. Throws `state_error` for one
  /// that was not started.
  template <class P>
    requires requires(const P& p) {
      { p.as_process() } -> std::same_as<const process&>;
    }
  waitable(const P& p) // NOLINT: converts on purpose
    : waitable(p.as_process()) {}

  /// Whether it is ready now. Does not block.
  [[nodiscard]] bool ready() const {
    return ops_->ready(obj_.get());
  }

  /// Internal (for `wait`): asks `w` to be woken when it may have become
  /// ready, and undoes that.
  void watch(detail::select_waiter& w) const {
    ops_->watch(obj_.get(), w);
  }

  void unwatch(detail::select_waiter& w) const {
    ops_->unwatch(obj_.get(), w);
  }

private:
  struct ops {
    bool (*ready)(void*);
    void (*watch)(void*, detail::select_waiter&);
    void (*unwatch)(void*, detail::select_waiter&);
  };

  waitable(std::shared_ptr<void> obj, const ops* o)
    : obj_(std::move(obj)), ops_(o) {}

  /// A queue's or an event's state: `mtx`, `readable_locked()`, and
  /// `watch_select` where puts take no lock (see `select_watch`).
  template <class S>
  static const ops* channel_ops() {
    static constexpr ops table{
      [](void* p) {
        auto* s = static_cast<S*>(p);
        std::lock_guard guard{s->mtx};
        return s->readable_locked();
      },
      [](void* p, detail::select_waiter& w) {
        auto* s = static_cast<S*>(p);
        if constexpr (requires { s->watch_select(&w); })
          s->watch_select(&w);
        else
          s->watch(&w);
      },
      [](void* p, detail::select_waiter& w) {
        auto* s = static_cast<S*>(p);
        if constexpr (requires { s->unwatch_select(&w); })
          s->unwatch_select(&w);
        else
          s->unwatch(&w);
      }};
    return &table;
  }

  /// A pipe end: readable with data or at end of file.
  template <class E>
  static const ops* end_ops() {
    static constexpr ops table{[](void* p) {
                                 auto* e = static_cast<E*>(p);
                                 std::lock_guard guard{e->core().mtx};
                                 return e->readable_locked();
                               },
                               [](void* p, detail::select_waiter& w) {
                                 static_cast<E*>(p)->core().watch(&w);
                               },
                               [](void* p, detail::select_waiter& w) {
                                 static_cast<E*>(p)->core().unwatch(&w);
                               }};
    return &table;
  }

  static const std::shared_ptr<detail::process_state>&
  started(const process& p) {
    std::lock_guard guard{detail::process_access::state(p)->mtx};
    if (detail::process_access::state(p)->ph
        == detail::process_state::phase::initial)
      throw state_error("wait: process '"
                        + detail::process_access::state(p)->name
                        + "' was not started, so it cannot end (Python's "
                          "sentinel does not exist before start() either)");
    return detail::process_access::state(p);
  }

  /// A process: ready once it has ended; its end wakes the waiters (see
  /// `detail::watch_end`).
  static const ops* process_ops();

  std::shared_ptr<void> obj_;
  const ops* ops_;
};

namespace detail {

/// The `wait` calls watching processes for their end. Each watched
/// process gets one exit hook, at its first watch, which wakes the
/// watchers (under `mtx`, so that a watcher that unwatched is never woken
/// after it left) and drops its entry. Lock order: `mtx`, then a waiter's
/// mutex. Never destroyed: exit hooks may run during static destruction.
struct end_watch_registry {
  std::mutex mtx;
  std::unordered_map<const process_state*, std::vector<select_waiter*>>
    by_state;

  static end_watch_registry& get() {
    static auto* instance = new end_watch_registry; // NOLINT: see above
    return *instance;
  }
};

inline void watch_end(process_state& st, select_waiter& w) {
  auto& reg = end_watch_registry::get();
  bool first = false;
  {
    std::lock_guard guard{reg.mtx};
    auto [i, inserted] = reg.by_state.try_emplace(&st);
    i->second.push_back(&w);
    first = inserted;
  }
  if (first)
    st.on_exit([key = &st](const exit_info&) {
      auto& r = end_watch_registry::get();
      std::lock_guard guard{r.mtx};
      auto i = r.by_state.find(key);
      if (i == r.by_state.end())
        return;
      for (auto* x : i->second)
        x->wake();
      r.by_state.erase(i);
    });
}

inline void unwatch_end(process_state& st, select_waiter& w) {
  auto& reg = end_watch_registry::get();
  std::lock_guard guard{reg.mtx};
  if (auto i = reg.by_state.find(&st); i != reg.by_state.end())
    std::erase(i->second, &w);
}

} // namespace detail

inline const waitable::ops* waitable::process_ops() {
  static constexpr ops table{
    [](void* p) { return static_cast<detail::process_state*>(p)->ended(); },
    [](void* p, detail::select_waiter& w) {
      detail::watch_end(*static_cast<detail::process_state*>(p), w);
    },
    [](void* p, detail::select_waiter& w) {
      detail::unwatch_end(*static_cast<detail::process_state*>(p), w);
    }};
  return &table;
}

namespace detail {

/// `wait` over `objects` as `w` allows: registers one waiter with every
/// object, as `select` does, and re-checks all of them at each wake-up.
inline std::vector<std::size_t> wait_any(std::span<const waitable> objects,
                                         const ext::deadline& w) {
  auto ready_now = [&objects] {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < objects.size(); ++i)
      if (objects[i].ready())
        out.push_back(i);
    return out;
  };
  if (auto r = ready_now(); !r.empty() || w.is_poll())
    return r;
  select_waiter waiter;
  struct registration {
    std::span<const waitable> objects;
    select_waiter& waiter;
    std::size_t watched = 0; // the first `watched` objects
    ~registration() {
      for (std::size_t i = 0; i < watched; ++i)
        objects[i].unwatch(waiter);
    }
  } reg{objects, waiter};
  for (auto& x : objects) {
    x.watch(waiter);
    ++reg.watched;
  }
  stop_callback cb{[&waiter] { waiter.wake(); }};
  std::size_t waiters = 0;
  for (;;) {
    {
      std::lock_guard guard{waiter.mtx};
      waiter.ready = false;
    }
    if (auto r = ready_now(); !r.empty())
      return r;
    std::unique_lock lk{waiter.mtx};
    while (!waiter.ready)
      if (!wait_once(lk, waiter.cv, waiters, w)) {
        lk.unlock();
        return ready_now();
      }
  }
}

template <class R>
concept waitable_range = std::ranges::input_range<R> && std::convertible_to<
  std::ranges::range_reference_t<R>, waitable>;

/// A range of waitables that is not already a span of them (the span
/// overloads take those).
template <class R>
concept waitable_range_not_span
  = waitable_range<R> && !std::convertible_to<R, std::span<const waitable>>;

template <class R>
std::vector<waitable> to_waitables(R&& objects) {
  std::vector<waitable> out;
  if constexpr (std::ranges::sized_range<R>)
    out.reserve(std::ranges::size(objects));
  for (auto&& x : objects)
    out.emplace_back(x);
  return out;
}

} // namespace detail

/// Waits until at least one of `objects` is ready and returns the indices
/// of all that are ready then, in ascending order: Python's
/// `multiprocessing.connection.wait(object_list)`. For a set known only at
/// run time, or one that includes processes ("data from any of my workers,
/// or one of them died"); `select` serves a fixed set of channels.
///
/// Ready means a get or recv would not block (an item is queued or
/// buffered, the channel or its peer is closed: the get then throws
/// `closed`), an event is set, a process has ended. It only reports
/// readiness: another consumer may take the item first, so take it with
/// `try_get()`/`try_recv()`.
///
/// Blocks; with no objects, until the calling process is asked to stop
/// (as Python's waits for nothing until its timeout). Throws `terminated`
/// when the calling process is asked to stop while it waits.
[[nodiscard]] inline std::vector<std::size_t>
wait(std::span<const waitable> objects) {
  return detail::wait_any(objects, ext::deadline::forever());
}

/// As `wait(objects)`, but waits at most `timeout` (zero: only looks);
/// empty when none became ready. A negative timeout throws `value_error`.
[[nodiscard]] inline std::vector<std::size_t>
wait(std::span<const waitable> objects, std::chrono::nanoseconds timeout) {
  return detail::wait_any(objects, timeout.count() == 0
                                     ? ext::deadline::poll()
                                     : ext::deadline::after(timeout));
}

/// `troupe::wait({conn, q, worker})`.
[[nodiscard]] inline std::vector<std::size_t>
wait(std::initializer_list<waitable> objects) {
  return wait(std::span<const waitable>{objects.begin(), objects.size()});
}

[[nodiscard]] inline std::vector<std::size_t>
wait(std::initializer_list<waitable> objects,
     std::chrono::nanoseconds timeout) {
  return wait(std::span<const waitable>{objects.begin(), objects.size()},
              timeout);
}

/// As `wait(objects)` for any range of things that convert to `waitable`
/// (e.g. a `std::vector<troupe::process>` or of connections).
template <class R>
  requires(detail::waitable_range_not_span<R>)
[[nodiscard]] std::vector<std::size_t> wait(R&& objects) {
  auto xs = detail::to_waitables(std::forward<R>(objects));
  return wait(std::span<const waitable>{xs});
}

template <class R>
  requires(detail::waitable_range_not_span<R>)
[[nodiscard]] std::vector<std::size_t> wait(R&& objects,
                                            std::chrono::nanoseconds timeout) {
  auto xs = detail::to_waitables(std::forward<R>(objects));
  return wait(std::span<const waitable>{xs}, timeout);
}

} // namespace troupe
