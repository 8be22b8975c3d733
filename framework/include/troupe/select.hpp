#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <mutex>
#include <optional>
#include <tuple>

#include "troupe/detail/channel.hpp"
#include "troupe/event.hpp"
#include "troupe/joinable_queue.hpp"
#include "troupe/pipe.hpp"
#include "troupe/queue.hpp"
#include "troupe/simple_queue.hpp"

namespace troupe {

namespace detail {

template <class T>
channel_core& select_core(const queue<T>& q) {
  return *q.state();
}

template <class T>
bool select_ready(const queue<T>& q) {
  std::lock_guard guard{q.state()->mtx};
  return q.state()->readable_locked();
}

template <class T>
channel_core& select_core(const simple_queue<T>& q) {
  return *q.state();
}

template <class T>
bool select_ready(const simple_queue<T>& q) {
  std::lock_guard guard{q.state()->mtx};
  return q.state()->readable_locked();
}

inline channel_core& select_core(const event& e) {
  return *e.state();
}

inline bool select_ready(const event& e) {
  return e.is_set();
}

template <class Out, class In>
channel_core& select_core(const connection<Out, In>& c) {
  return c.state()->core();
}

template <class Out, class In>
bool select_ready(const connection<Out, In>& c) {
  std::lock_guard guard{c.state()->core().mtx};
  return c.state()->readable_locked();
}

template <class C>
concept selectable = requires(const C& c) {
  { select_core(c) } -> std::same_as<channel_core&>;
  { select_ready(c) } -> std::same_as<bool>;
};

/// Registers `w` with `c`. A queue whose puts take no lock must count its
/// watchers (see `queue_state::watch_select`); other channels just list
/// them.
template <class C>
void select_watch(const C& c, select_waiter& w) {
  if constexpr (requires { c.state()->watch_select(&w); })
    c.state()->watch_select(&w);
  else
    select_core(c).watch(&w);
}

template <class C>
void select_unwatch(const C& c, select_waiter& w) {
  if constexpr (requires { c.state()->unwatch_select(&w); })
    c.state()->unwatch_select(&w);
  else
    select_core(c).unwatch(&w);
}

template <class... Cs>
std::optional<std::size_t> first_ready(const Cs&... cs) {
  std::optional<std::size_t> result;
  std::size_t i = 0;
  static_cast<void>(
    ((select_ready(cs) ? (result = i, true) : (++i, false)) || ...));
  return result;
}

template <class... Cs>
std::optional<std::size_t> select_impl(const ext::deadline& w,
                                       const Cs&... cs) {
  if (auto i = first_ready(cs...))
    return i;
  if (w.is_poll())
    return std::nullopt;
  select_waiter waiter;
  struct registration {
    std::tuple<const Cs&...> channels;
    select_waiter& waiter;
    std::size_t watched = 0; // the first `watched` channels
    ~registration() {
      std::apply(
        [this](const Cs&... c) {
          std::size_t i = 0;
          ((i++ < watched ? select_unwatch(c, waiter) : void()), ...);
        },
        channels);
    }
  } reg{{cs...}, waiter};
  ((select_watch(cs, waiter), ++reg.watched), ...);
  stop_callback cb{[&waiter] { waiter.wake(); }};
  std::size_t waiters = 0;
  for (;;) {
    {
      std::lock_guard guard{waiter.mtx};
      waiter.ready = false;
    }
    if (auto i = first_ready(cs...))
      return i;
    std::unique_lock lk{waiter.mtx};
    while (!waiter.ready)
      if (!wait_once(lk, waiter.cv, waiters, w)) {
        lk.unlock();
        return first_ready(cs...);
      }
  }
}

} // namespace detail

/// Waits until one of `channels` is ready and returns its index (the
/// first ready one in argument order). Ready means a get or recv would
/// not block: an item is queued or buffered, the channel is closed (its
/// get then throws `closed`), an event is set. Accepts queues,
/// joinable and simple queues, connections (receiving ends) and events.
/// Blocks; throws `terminated` when the calling process is asked to stop
/// while it waits. It only reports readiness: another consumer may take
/// the item first, so take it with `try_get()`/`try_recv()`.
template <class... Cs>
  requires(sizeof...(Cs) > 0 && (detail::selectable<Cs> && ...))
[[nodiscard]] std::size_t select(const Cs&... channels) {
  return *detail::select_impl(ext::deadline::forever(), channels...);
}

/// As `select(channels...)`, but waits at most `timeout`; empty when none
/// became ready. A negative timeout throws `value_error`.
template <class... Cs>
  requires(sizeof...(Cs) > 0 && (detail::selectable<Cs> && ...))
[[nodiscard]] std::optional<std::size_t>
select(std::chrono::nanoseconds timeout, const Cs&... channels) {
  return detail::select_impl(ext::deadline::after(timeout), channels...);
}

} // namespace troupe
