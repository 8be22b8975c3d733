#pragma once

// Which supervisor's commands the calling thread is running, so that a fast
// restart never nests inside another supervisor's command.

#include <utility>

#include "troupe/ext/serial_executor.hpp"

namespace troupe::detail {

/// One piece of a supervisor's work: `run`, or `cancel` when the supervisor
/// ended first; `then` hands a caller its result once the supervisor is
/// free again, so that what the caller does next (make a child fail, say)
/// finds it free for a fast restart.
using command = ext::serial_executor::command;

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
