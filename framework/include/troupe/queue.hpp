#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/detail/make_queue_state.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"
#include "troupe/queue_options.hpp"

namespace troupe {

/// A typed FIFO channel between processes, actors and threads: Python's
/// `multiprocessing.Queue`, with an explicit overflow policy when bounded
/// and a `close()` that wakes every waiter.
///
///     troupe::queue<std::string> q{rt, {.capacity = 10}};
///     troupe::process p{rt, [](troupe::queue<std::string> q) { q.put("hi"); },
///     q};
///
/// Thread-safety: every member may be called from any thread or process.
/// Ordering: items come out in the order they were put (a total order of
/// puts, so FIFO per producer); each item is taken exactly once.
/// Lifetime: handles are cheap to copy (a shared pointer) and all copies
/// refer to the same queue, which lives as long as any handle; pass them
/// to processes by value. Items live in the queue, not in a feeder thread:
/// a process that put items can end and be joined before they are taken
/// (no "joining processes that use queues" deadlock).
/// Blocking calls wake and throw `terminated` when the calling process is
/// asked to stop. `T` may be move-only.
template <class T>
class queue {
  // Declared before its uses: a requires-clause is not a complete-class
  // context, so it sees only the members above it.
  /// Whether the copying puts exist (a move-only `T` is put by moving).
  static constexpr bool copyable = std::is_copy_constructible_v<T>;

public:
  /// An empty queue with `opts` (unbounded by default).
  explicit queue(runtime& rt, queue_options opts = {})
    : state_(detail::make_queue_state<T>(opts.capacity, opts.overflow)) {
    static_cast<void>(rt);
  }

  // -- put --------------------------------------------------------------------

  /// Puts `x` at the back. Blocks while the queue is full under
  /// `overflow::block`; under the other policies, see `overflow`. Throws
  /// `full` under `overflow::fail` when full, `closed` after `close()`,
  /// `terminated` when the calling process is asked to stop while it waits.
  void put(const T& x) requires copyable {
    check_put(state_->put(x, ext::deadline::forever()), false);
  }

  /// As `put(const T&)`, moving `x` in (so move-only types work).
  void put(T&& x) {
    check_put(state_->put(std::move(x), ext::deadline::forever()), false);
  }

  /// As `put(x)`, but waits at most `timeout` for a free slot, then throws
  /// `full`. A negative timeout throws `value_error`.
  void put(const T& x, std::chrono::nanoseconds timeout) requires copyable {
    check_put(state_->put(x, ext::deadline::after(timeout)), true);
  }

  /// As `put(const T&, timeout)`, moving `x` in when it is stored.
  void put(T&& x, std::chrono::nanoseconds timeout) {
    check_put(state_->put(std::move(x), ext::deadline::after(timeout)), true);
  }

  /// Puts `x` without blocking: throws `full` when there is no free slot
  /// (under `overflow::block` or `overflow::fail`), `closed` after
  /// `close()`.
  void put_nowait(const T& x) requires copyable {
    check_put(state_->put(x, ext::deadline::poll()), false);
  }

  void put_nowait(T&& x) {
    check_put(state_->put(std::move(x), ext::deadline::poll()), false);
  }

  /// Puts `x` without blocking and without throwing: returns whether it
  /// was stored (false when full, dropped by `overflow::drop_newest`, or
  /// closed). An rvalue `x` is moved from only when it is stored.
  [[nodiscard]] bool try_put(const T& x) requires copyable {
    return state_->put(x, ext::deadline::poll()) == detail::status::ok;
  }

  [[nodiscard]] bool try_put(T&& x) {
    return state_->put(std::move(x), ext::deadline::poll())
           == detail::status::ok;
  }

  /// As `try_put(x)`, but waits up to `timeout` for a free slot. Throws
  /// only `value_error` (negative timeout) and `terminated`.
  [[nodiscard]] bool try_put(T&& x, std::chrono::nanoseconds timeout) {
    return state_->put(std::move(x), ext::deadline::after(timeout))
           == detail::status::ok;
  }

  [[nodiscard]] bool
  try_put(const T& x, std::chrono::nanoseconds timeout) requires copyable {
    return state_->put(x, ext::deadline::after(timeout)) == detail::status::ok;
  }

  // -- get --------------------------------------------------------------------

  /// Takes the oldest item. Blocks while the queue is empty. After
  /// `close()`, returns what is left, then throws `closed`. Throws
  /// `terminated` when the calling process is asked to stop while it waits.
  [[nodiscard]] T get() {
    return check_get(ext::deadline::forever(), "get()");
  }

  /// As `get()`, but waits at most `timeout`, then throws `empty`. A
  /// negative timeout throws `value_error`.
  [[nodiscard]] T get(std::chrono::nanoseconds timeout) {
    return check_get(ext::deadline::after(timeout), "get(timeout)");
  }

  /// Takes the oldest item without blocking: throws `empty` when there is
  /// none, `closed` when closed and drained.
  [[nodiscard]] T get_nowait() {
    return check_get(ext::deadline::poll(), "get_nowait()");
  }

  /// Takes the oldest item if there is one; never blocks nor throws.
  [[nodiscard]] std::optional<T> try_get() {
    std::optional<T> out;
    state_->get(out, ext::deadline::poll());
    return out;
  }

  /// As `try_get()`, but waits up to `timeout` for an item; empty on
  /// timeout and when closed and drained. Throws only `value_error`
  /// (negative timeout) and `terminated`.
  [[nodiscard]] std::optional<T> try_get(std::chrono::nanoseconds timeout) {
    std::optional<T> out;
    state_->get(out, ext::deadline::after(timeout));
    return out;
  }

  // -- observers --------------------------------------------------------------

  /// Items queued now (Python's `qsize()`); a snapshot that other
  /// processes may change at once. Does not block.
  [[nodiscard]] std::size_t qsize() const {
    return state_->size();
  }

  /// Whether no item is queued now (a snapshot). Does not block.
  [[nodiscard]] bool empty() const {
    return state_->size() == 0;
  }

  /// Whether the queue is bounded and holds `capacity` items now (a
  /// snapshot). Does not block.
  [[nodiscard]] bool full() const {
    return state_->full();
  }

  /// Most items the queue holds; 0 when unbounded.
  [[nodiscard]] std::size_t capacity() const noexcept {
    return state_->capacity();
  }

  /// Items discarded by `overflow::drop_newest` or `overflow::drop_oldest`
  /// so far.
  [[nodiscard]] std::size_t dropped() const {
    return state_->dropped();
  }

  /// Whether `close()` was called.
  [[nodiscard]] bool is_closed() const {
    return state_->is_closed();
  }

  /// Closes the queue for every handle: puts throw `closed` from now on;
  /// gets drain what is left, then throw `closed`; every blocked put and
  /// get wakes. Idempotent; does not block.
  void close() {
    state_->close();
  }

  /// Whether both handles refer to the same queue.
  friend bool operator==(const queue& x, const queue& y) noexcept {
    return x.state_ == y.state_;
  }

  /// Internal: the shared state (for `select`, `wait` and `attach`).
  [[nodiscard]] const std::shared_ptr<detail::queue_state<T>>&
  state() const noexcept {
    return state_;
  }

protected:
  /// A handle of `st` (for `joinable_queue`, which chooses its storage).
  explicit queue(std::shared_ptr<detail::queue_state<T>> st)
    : state_(std::move(st)) {}

  std::shared_ptr<detail::queue_state<T>> state_;

private:
  void check_put(detail::status s, bool timed) const {
    if (s == detail::status::ok || s == detail::status::dropped)
      return;
    detail::throw_put_failed(s, state_->capacity(), state_->policy(), timed);
  }

  T check_get(const ext::deadline& w, const char* what) {
    std::optional<T> out;
    auto s = state_->get(out, w);
    if (s == detail::status::ok)
      return std::move(*out);
    detail::throw_get_failed(s, w.is_timed(), what);
  }
};

} // namespace troupe
