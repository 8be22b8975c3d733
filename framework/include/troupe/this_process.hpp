#pragma once

#include <chrono>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/after.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/exit_reason.hpp>

#include "troupe/detail/process_hooks.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/deadline.hpp"
#include "troupe/process.hpp"

namespace troupe {

/// The process the calling thread runs (Python's `current_process()`):
/// inside a process its handle, on the runtime's thread (and on threads
/// troupe does not know) the main process. Throws `state_error` when no
/// runtime exists.
[[nodiscard]] process current_process();

/// The process that created the calling one (Python's `parent_process()`);
/// empty in the main process.
[[nodiscard]] std::optional<process> parent_process();

/// The calling process's children that are still running, in start order
/// (Python's `active_children()`).
[[nodiscard]] std::vector<process> active_children();

} // namespace troupe

namespace troupe::detail {

/// Sent to a process's mailbox to wake a blocking receive after a stop
/// request.
struct stop_msg {};

/// The mailbox owner of the calling thread, after checking for a pending
/// stop (which throws `terminated`). Throws `state_error` when the thread
/// has no mailbox.
caf::blocking_actor* receiving_self();

/// Handles an exit signal from a linked actor or a supervisor; returns
/// whether the process must stop.
bool on_exit_signal(const caf::exit_msg& msg);

/// Sends `msg` to the sender of the message being handled.
void reply_message(caf::message msg);

/// Remembers the sender of the message being handled, for `sender()` and
/// `reply()` after the handler returned.
void note_sender(caf::blocking_actor* self);

template <class F, class... Args>
auto wrap_handler(F& f, bool& done, caf::detail::type_list<Args...>) {
  return [&f, &done](Args... xs) {
    done = true;
    note_sender(nullptr);
    return f(std::forward<Args>(xs)...);
  };
}

template <class F>
auto wrap_handler(F& f, bool& done) {
  using trait = caf::detail::get_callable_trait<std::decay_t<F>>;
  return wrap_handler(f, done, typename trait::arg_types{});
}

/// Runs one receive on the calling process's mailbox until a user handler
/// ran (true) or `timeout` passed (false). Stop requests and abnormal exit
/// signals throw `terminated`; normal exit signals are consumed silently.
template <class... Fs>
bool receive_until(ext::deadline until, Fs&... fs) {
  auto* self = receiving_self();
  bool done = false;
  bool stop = false;
  bool timed_out = false;
  auto on_stop = [&](stop_msg) { stop = true; };
  auto on_exit = [&](caf::exit_msg& msg) { stop = on_exit_signal(msg); };
  while (!done) {
    if (until.is_forever()) {
      self->receive(wrap_handler(fs, done)..., on_stop, on_exit);
    } else {
      auto left = until.remaining(std::chrono::steady_clock::now());
      self->receive(
        wrap_handler(fs, done)..., on_stop, on_exit,
        caf::after(std::chrono::duration_cast<caf::timespan>(left)) >>
          [&] { timed_out = true; });
    }
    if (stop)
      throw_terminated();
    if (timed_out)
      return false;
  }
  return true;
}

template <class T>
struct is_duration_t : std::false_type {};

template <class Rep, class Period>
struct is_duration_t<std::chrono::duration<Rep, Period>> : std::true_type {};

/// A receive handler: anything but a duration (which is a timeout).
template <class F>
concept is_handler = !is_duration_t<std::decay_t<F>>::value;

} // namespace troupe::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::detail::stop_msg)

/// Calls made from inside a process about itself.
namespace troupe::this_process {

/// Throws `terminated` if the calling process was asked to stop; otherwise
/// returns at once. Call it in tight loops that make no blocking troupe
/// call, since a thread cannot be pre-empted.
void checkpoint();

/// Says that the calling process has finished initialising: a supervisor
/// that starts it with `child_spec::await_ready` starts its next child
/// only now (OTP's `init_ack`). Does not block; harmless when nobody
/// waits, and when called again.
void ready();

/// Ends the calling process with exit code `code` (Python's `sys.exit`),
/// by throwing an exception that troupe catches at the process's top; let
/// it propagate.
[[noreturn]] void exit(int code);

/// Sleeps for `duration`, waking early to throw `terminated` when the
/// process is asked to stop. Blocks.
void sleep_for(std::chrono::nanoseconds duration);

/// Sleeps until `deadline`; see `sleep_for`.
void sleep_until(std::chrono::steady_clock::time_point deadline);

/// Receives one message with the first handler whose signature matches it
/// (CAF's pattern matching: `[](int x) {...}, [](const std::string& s) {...}`).
/// Blocks until such a message arrives. Messages no handler matches stay in
/// the mailbox for later receives (Erlang's selective receive). Throws
/// `terminated` when the process is asked to stop.
template <class... Fs>
  requires(sizeof...(Fs) > 0 && (detail::is_handler<Fs> && ...))
void receive(Fs... handlers) {
  detail::receive_until({}, handlers...);
}

/// As `receive(handlers...)`, but gives up after `timeout` by throwing
/// `timeout_error`.
template <class... Fs>
  requires(sizeof...(Fs) > 0 && (detail::is_handler<Fs> && ...))
void receive(std::chrono::nanoseconds timeout, Fs... handlers) {
  if (!detail::receive_until(ext::deadline::after(timeout), handlers...))
    throw timeout_error("no matching message arrived within the timeout");
}

/// As `receive(timeout, handlers...)`, but returns false on timeout
/// instead of throwing.
template <class... Fs>
  requires(sizeof...(Fs) > 0 && (detail::is_handler<Fs> && ...))
[[nodiscard]] bool try_receive(std::chrono::nanoseconds timeout,
                               Fs... handlers) {
  return detail::receive_until(ext::deadline::after(timeout), handlers...);
}

/// Receives the next message made of exactly `T, Ts...` and returns it (a
/// tuple when there are several). Blocks; other messages stay queued.
template <class T, class... Ts>
auto receive() {
  std::optional<std::tuple<T, Ts...>> result;
  auto f
    = [&](T& x, Ts&... xs) { result.emplace(std::move(x), std::move(xs)...); };
  detail::receive_until({}, f);
  if constexpr (sizeof...(Ts) == 0)
    return std::move(std::get<0>(*result));
  else
    return std::move(*result);
}

/// As `receive<T, Ts...>()`, but throws `timeout_error` after `timeout`.
template <class T, class... Ts>
auto receive(std::chrono::nanoseconds timeout) {
  std::optional<std::tuple<T, Ts...>> result;
  auto f
    = [&](T& x, Ts&... xs) { result.emplace(std::move(x), std::move(xs)...); };
  if (!detail::receive_until(ext::deadline::after(timeout), f))
    throw timeout_error("no matching message arrived within the timeout");
  if constexpr (sizeof...(Ts) == 0)
    return std::move(std::get<0>(*result));
  else
    return std::move(*result);
}

/// As `receive<T>(timeout)`, but returns an empty optional on timeout.
template <class T>
[[nodiscard]] std::optional<T> try_receive(std::chrono::nanoseconds timeout) {
  std::optional<T> result;
  auto f = [&](T& x) { result.emplace(std::move(x)); };
  detail::receive_until(ext::deadline::after(timeout), f);
  return result;
}

/// The sender of the last message the calling process received (inside a
/// handler: of the message being handled); empty for anonymous senders
/// and before the first receive.
[[nodiscard]] caf::actor sender();

/// Sends `xs...` to `sender()`, i.e. answers the last message received.
/// Does nothing when that message was anonymous. Does not block.
template <class... Ts>
void reply(Ts&&... xs) {
  detail::reply_message(caf::make_message(std::forward<Ts>(xs)...));
}

} // namespace troupe::this_process
