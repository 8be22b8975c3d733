#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/process_hooks.hpp"
#include "troupe/error.hpp"
#include "troupe/fwd.hpp"

namespace troupe {

namespace detail {

/// Stands in for `void` where a one-way connection carries nothing.
struct no_value {};

template <class T>
using value_or_none = std::conditional_t<std::is_void_v<T>, no_value, T>;

/// What both ends of a pipe share, whatever they carry. Guarded by `mtx`.
class pipe_core : public channel_core,
                  public std::enable_shared_from_this<pipe_core> {
public:
  /// Whether side 0 or 1 was closed (by `close()`, by the end of the
  /// process that owns it, or by dropping its last handle).
  bool closed[2] = {false, false};

  /// The process that used each side last: it owns the side.
  process_state* owner[2] = {nullptr, nullptr};

  /// Processes with an exit hook registered for each side.
  std::vector<process_state*> hooked[2];

  /// Notified when data arrives for side s, or a side closes.
  std::condition_variable readable[2];
  std::size_t readers[2] = {0, 0};

  void close_locked(int side) {
    if (closed[side])
      return;
    closed[side] = true;
    changed();
    readable[0].notify_all();
    readable[1].notify_all();
    wake_watchers();
  }

  void close(int side) {
    std::lock_guard guard{mtx};
    close_locked(side);
  }

  /// Records `st` as the owner of `side`; returns whether an exit hook
  /// must be registered for it (outside the lock).
  bool claim_locked(int side, process_state* st) {
    if (owner[side] == st)
      return false;
    owner[side] = st;
    if (st == nullptr
        || std::find(hooked[side].begin(), hooked[side].end(), st)
             != hooked[side].end())
      return false;
    hooked[side].push_back(st);
    return true;
  }

  void watch_owner(int side, const std::shared_ptr<process_state>& st) {
    on_process_exit(
      *st, [weak = weak_from_this(), side, key = st.get()](const exit_info&) {
        auto self = weak.lock();
        if (!self)
          return;
        std::lock_guard guard{self->mtx};
        std::erase(self->hooked[side], key);
        if (self->owner[side] == key) {
          self->owner[side] = nullptr;
          self->close_locked(side);
        }
      });
  }

protected:
  pipe_core() = default;
  ~pipe_core() = default;
};

/// Both directions' buffers: `to1` carries X from side 0 to side 1, `to0`
/// carries Y from side 1 to side 0.
template <class X, class Y>
class pipe_state : public pipe_core {
public:
  std::deque<value_or_none<X>> to1;
  std::deque<value_or_none<Y>> to0;
};

/// One end of a pipe; closes its side when the last handle goes.
template <class Out, class In>
class pipe_end {
public:
  using out_type = value_or_none<Out>;
  using in_type = value_or_none<In>;

  pipe_end(std::shared_ptr<pipe_core> core, std::deque<out_type>* out,
           std::deque<in_type>* in, int side)
    : core_(std::move(core)), out_(out), in_(in), side_(side) {}

  pipe_end(const pipe_end&) = delete;
  pipe_end& operator=(const pipe_end&) = delete;

  ~pipe_end() {
    core_->close(side_);
  }

  template <class U>
  void send(U&& x) {
    auto st = current_state();
    bool hook = false;
    try {
      std::lock_guard guard{core_->mtx};
      if (core_->closed[side_])
        throw ::troupe::closed("send(): this connection is closed");
      if (core_->closed[peer()])
        throw ::troupe::closed(
          "send(): the other end of the pipe is closed (Python's "
          "BrokenPipeError): it was closed, its process ended, or its last "
          "handle was dropped, so nobody will receive this");
      hook = core_->claim_locked(side_, st.get());
      out_->emplace_back(std::forward<U>(x));
      core_->changed();
      if (core_->readers[peer()] != 0)
        core_->readable[peer()].notify_one();
      core_->wake_watchers();
    } catch (...) {
      // The caller became the owner even though storing the item threw (a
      // copy that failed): its exit hook must close the end all the same.
      if (hook)
        core_->watch_owner(side_, st);
      throw;
    }
    if (hook)
      core_->watch_owner(side_, st);
  }

  /// Receives into `out`; `status::closed` at end of file.
  status recv(std::optional<in_type>& out, const ext::deadline& w) {
    auto st = current_state();
    {
      std::unique_lock lk{core_->mtx};
      auto s = recv_locked(out, st);
      if (s != status::would_block || w.is_poll())
        return s;
    }
    stop_callback cb{[this] {
      std::lock_guard guard{core_->mtx};
      core_->readable[side_].notify_all();
    }};
    std::unique_lock lk{core_->mtx};
    bool spun = false;
    for (;;) {
      auto s = recv_locked(out, st);
      if (s != status::would_block)
        return s;
      if (!wait_once(lk, core_->readable[side_], core_->readers[side_], w,
                     core_.get(), &spun)
          && in_->empty() && !core_->closed[peer()])
        return status::would_block;
    }
  }

  /// Whether a recv would not block: data, or end of file.
  bool poll(const ext::deadline& w) {
    {
      std::lock_guard guard{core_->mtx};
      check_open();
      if (readable_locked() || w.is_poll())
        return readable_locked();
    }
    stop_callback cb{[this] {
      std::lock_guard guard{core_->mtx};
      core_->readable[side_].notify_all();
    }};
    std::unique_lock lk{core_->mtx};
    bool spun = false;
    while (!readable_locked())
      if (!wait_once(lk, core_->readable[side_], core_->readers[side_], w,
                     core_.get(), &spun))
        return readable_locked();
    return true;
  }

  void close() {
    core_->close(side_);
  }

  bool readable_locked() const {
    return !in_->empty() || core_->closed[peer()] || core_->closed[side_];
  }

  [[nodiscard]] channel_core& core() const noexcept {
    return *core_;
  }

private:
  int peer() const noexcept {
    return 1 - side_;
  }

  void check_open() const {
    if (core_->closed[side_])
      throw ::troupe::closed("this connection is closed");
  }

  status recv_locked(std::optional<in_type>& out,
                     const std::shared_ptr<process_state>& st) {
    check_open();
    if (!in_->empty()) {
      out.emplace(std::move(in_->front()));
      in_->pop_front();
      if (core_->claim_locked(side_, st.get())) {
        // Rare (the first use by a process): register unlocked, since the
        // hook runs at once when the process already ended.
        core_->mtx.unlock();
        core_->watch_owner(side_, st);
        core_->mtx.lock();
      }
      return status::ok;
    }
    if (core_->closed[peer()])
      return status::closed;
    return status::would_block;
  }

  std::shared_ptr<pipe_core> core_;
  std::deque<out_type>* out_;
  std::deque<in_type>* in_;
  int side_;
};

} // namespace detail

/// One end of a pipe (Python's `Connection`): sends `Out` and receives
/// `In`; `void` for a direction it cannot use, so sending on the read end
/// of a one-way pipe does not compile.
///
/// Thread-safety: every member may be called from any thread or process.
/// Ordering: items arrive in the order they were sent, each once.
/// Lifetime: handles are cheap to copy; all copies are the same end. An
/// end belongs to the process that used it (sent, received) last: when
/// that process ends, however it ends, the end closes. It also closes with
/// `close()` and when its last handle is dropped. The other end then reads
/// what is buffered, then gets `closed` (Python's EOFError) instead of
/// hanging; a send to a closed end throws `closed` (BrokenPipeError).
/// Blocking calls wake and throw `terminated` when the calling process is
/// asked to stop.
template <class Out, class In>
class connection {
public:
  using end_type = detail::pipe_end<Out, In>;

  explicit connection(std::shared_ptr<end_type> end) : end_(std::move(end)) {}

  /// Sends `x` to the other end. Never blocks (the buffer is unbounded).
  /// Throws `closed` when either end is closed.
  void
  send(const detail::value_or_none<Out>& x) requires(!std::is_void_v<Out>) {
    end_->send(x);
  }

  /// As `send(const Out&)`, moving `x` in (move-only types work).
  void send(detail::value_or_none<Out>&& x) requires(!std::is_void_v<Out>) {
    end_->send(std::move(x));
  }

  /// Receives the next item. Blocks until one arrives. Throws `closed`
  /// when the other end is closed and everything it sent was received
  /// (end of file), or when this end is closed; `terminated` when the
  /// calling process is asked to stop while it waits.
  [[nodiscard]] detail::value_or_none<In> recv() requires(!std::is_void_v<In>) {
    return checked_recv(ext::deadline::forever());
  }

  /// As `recv()`, but waits at most `timeout`, then throws `timeout_error`.
  /// A negative timeout throws `value_error`.
  [[nodiscard]] detail::value_or_none<In>
  recv(std::chrono::nanoseconds timeout) requires(!std::is_void_v<In>) {
    return checked_recv(ext::deadline::after(timeout));
  }

  /// Receives the next item if one arrives within `timeout` (zero: only
  /// what is buffered); empty on timeout and at end of file. Throws only
  /// `value_error` and `terminated`.
  [[nodiscard]] std::optional<detail::value_or_none<In>>
  try_recv(std::chrono::nanoseconds timeout
           = {}) requires(!std::is_void_v<In>) {
    std::optional<detail::value_or_none<In>> out;
    end_->recv(out, ext::deadline::after(timeout));
    return out;
  }

  /// Whether a `recv()` would not block (an item is buffered, or end of
  /// file), waiting up to `timeout` for that (Python's `poll(timeout)`;
  /// zero by default: does not block). Throws `closed` when this end is
  /// closed.
  [[nodiscard]] bool poll(std::chrono::nanoseconds timeout
                          = {}) requires(!std::is_void_v<In>) {
    return end_->poll(timeout.count() == 0 ? ext::deadline::poll()
                                           : ext::deadline::after(timeout));
  }

  /// Closes this end for every handle: the other end reads what is
  /// buffered, then end of file. Idempotent; does not block.
  void close() {
    end_->close();
  }

  /// Internal: the shared end (for `select`).
  [[nodiscard]] const std::shared_ptr<end_type>& state() const noexcept {
    return end_;
  }

private:
  detail::value_or_none<In> checked_recv(const ext::deadline& w) {
    std::optional<detail::value_or_none<In>> out;
    switch (end_->recv(out, w)) {
      case detail::status::ok:
        return std::move(*out);
      case detail::status::closed:
        throw ::troupe::closed(
          "recv(): the other end of the pipe is closed and everything it "
          "sent was received (Python's EOFError)");
      default:
        throw timeout_error("recv(timeout): nothing arrived within the "
                            "timeout");
    }
  }

  std::shared_ptr<end_type> end_;
};

/// The read end of a one-way pipe.
template <class T>
using read_connection = connection<void, T>;

/// The write end of a one-way pipe.
template <class T>
using write_connection = connection<T, void>;

namespace detail {

template <class X, class Y>
std::pair<connection<X, Y>, connection<Y, X>> make_connections() {
  auto st = std::make_shared<pipe_state<X, Y>>();
  auto a = std::make_shared<pipe_end<X, Y>>(st, &st->to1, &st->to0, 0);
  auto b = std::make_shared<pipe_end<Y, X>>(st, &st->to0, &st->to1, 1);
  return {connection<X, Y>{std::move(a)}, connection<Y, X>{std::move(b)}};
}

} // namespace detail

/// A duplex pipe (Python's `Pipe()`): two connected ends; `first` sends
/// `A` and receives `B`, `second` sends `B` and receives `A`.
///
///     auto [a, b] = troupe::pipe<std::string>{rt};
///
/// See `connection` for blocking, ordering, ownership and end of file.
template <class A, class B = A>
class pipe {
public:
  explicit pipe(runtime& rt) : pipe(detail::make_connections<A, B>()) {
    static_cast<void>(rt);
  }

  connection<A, B> first;
  connection<B, A> second;

private:
  explicit pipe(std::pair<connection<A, B>, connection<B, A>> ends)
    : first(std::move(ends.first)), second(std::move(ends.second)) {}
};

/// A one-way pipe (Python's `Pipe(duplex=False)`): `reader` only
/// receives, `writer` only sends.
///
///     auto [reader, writer] = troupe::one_way_pipe<int>{rt};
template <class T>
class one_way_pipe {
public:
  explicit one_way_pipe(runtime& rt)
    : one_way_pipe(detail::make_connections<T, void>()) {
    static_cast<void>(rt);
  }

  read_connection<T> reader;
  write_connection<T> writer;

private:
  explicit one_way_pipe(
    std::pair<connection<T, void>, connection<void, T>> ends)
    : reader(std::move(ends.second)), writer(std::move(ends.first)) {}
};

} // namespace troupe
