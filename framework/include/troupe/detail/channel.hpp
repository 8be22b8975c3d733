#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "troupe/detail/process_state.hpp"
#include "troupe/error.hpp"
#include "troupe/this_process.hpp"

namespace troupe::detail {

/// How long a channel operation may wait: not at all, forever, or until a
/// deadline.
struct wait_spec {
  enum class kind_t : unsigned char { none, forever, until };
  kind_t kind = kind_t::none;
  std::chrono::steady_clock::time_point deadline{};

  static wait_spec none() noexcept {
    return {};
  }

  static wait_spec forever() noexcept {
    return {kind_t::forever, {}};
  }

  /// Throws `value_error` for a negative timeout.
  static wait_spec after(std::chrono::nanoseconds timeout) {
    return {kind_t::until, deadline_after(timeout)};
  }
};

/// What a channel operation did.
enum class status : unsigned char {
  ok,          // done
  dropped,     // accepted by a drop policy without being stored
  would_block, // not possible now; the caller decides whether to wait
  closed,      // the channel (or the peer) is closed
};

/// Wakes a `select` call waiting on several channels.
struct select_waiter {
  std::mutex mtx;
  std::condition_variable cv;
  bool ready = false;

  void wake() {
    std::lock_guard guard{mtx};
    ready = true;
    cv.notify_one();
  }
};

/// What every channel shares: its mutex and the `select` calls watching
/// it. Lock order: a channel's `mtx`, then a waiter's `mtx`; `select`
/// never holds a waiter's mutex while it locks a channel.
class channel_core {
public:
  channel_core() = default;
  channel_core(const channel_core&) = delete;
  channel_core& operator=(const channel_core&) = delete;

  mutable std::mutex mtx;

  /// Wakes the `select` calls watching this channel. (mtx)
  void wake_watchers() {
    for (auto* w : watchers_)
      w->wake();
  }

  void watch(select_waiter* w) {
    std::lock_guard guard{mtx};
    watchers_.push_back(w);
  }

  void unwatch(select_waiter* w) {
    std::lock_guard guard{mtx};
    std::erase(watchers_, w);
  }

protected:
  ~channel_core() = default;

private:
  std::vector<select_waiter*> watchers_; // (mtx)
};

/// Waits on `cv` (whose mutex `lk` holds) once, honouring `w`; returns
/// false when the deadline passed. `waiters` counts the threads waiting so
/// that wakers skip the notify when nobody waits.
inline bool wait_once(std::unique_lock<std::mutex>& lk,
                      std::condition_variable& cv, std::size_t& waiters,
                      const wait_spec& w) {
  if (stop_requested())
    throw_terminated();
  ++waiters;
  bool in_time = true;
  if (w.kind == wait_spec::kind_t::forever)
    cv.wait(lk);
  else
    in_time = cv.wait_until(lk, w.deadline) == std::cv_status::no_timeout;
  --waiters;
  if (stop_requested())
    throw_terminated();
  return in_time;
}

} // namespace troupe::detail
