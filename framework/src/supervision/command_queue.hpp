#pragma once

// How work reaches a supervisor: every child exit, administrative call,
// read and delayed restart is a command in its queue, run one at a time by
// the supervisor's thread (or by a fast restart; see supervisor_core.hpp).

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <utility>

#include "troupe/detail/spin.hpp"
#include "troupe/detail/unique_function.hpp"

namespace troupe::detail {

/// One piece of a supervisor's work.
struct command {
  unique_function<void()> run;
  unique_function<void()> cancel; // when the supervisor ended first
  /// Runs after `run`, once the supervisor is free again: hands a caller
  /// its result, so that what the caller does next (make a child fail, say)
  /// finds the supervisor free for a fast restart.
  unique_function<void()> then = {};
};

/// A supervisor's commands, oldest first.
///
/// Thread-safety: `post`, `idle` and `wake` from any thread; `await`,
/// `pop` and `close` from the one thread that runs the supervisor's loop.
class command_queue {
public:
  /// Queues a command; false once the queue is closed.
  bool post(command cmd);

  /// Waits until a command is queued (true) or `stop` (an atomic flag,
  /// non-zero once set) is set (false). Spins briefly first: a command
  /// often follows the previous one within microseconds, and a futex
  /// wake-up costs tens.
  bool await(const std::atomic<int>& stop);

  /// The oldest command; the queue is not empty.
  command pop();

  /// Refuses further commands and cancels those still queued.
  void close();

  /// Whether the queue is open and empty (a fast restart may then run).
  bool idle();

  /// Wakes `await` to look at its stop flag again.
  void wake();

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<command> queue_;
  std::atomic<std::size_t> pending_{0};
  bool closed_ = false;
  adaptive_spin<16, 2048> spin_;
};

/// The supervisor whose commands the calling thread is running (its own
/// thread, or a thread running a fast restart), if any.
inline thread_local const void* executing_supervisor = nullptr;

/// Marks the calling thread as running a supervisor's commands while alive.
class executing_scope {
public:
  explicit executing_scope(const void* core) noexcept
    : prev_(std::exchange(executing_supervisor, core)) {}

  ~executing_scope() {
    executing_supervisor = prev_;
  }

  executing_scope(const executing_scope&) = delete;
  executing_scope& operator=(const executing_scope&) = delete;

private:
  const void* prev_;
};

} // namespace troupe::detail
