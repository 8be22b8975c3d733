#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <utility>

#include "troupe/error.hpp"
#include "troupe/fwd.hpp"

namespace troupe {

/// A task's worker died while running it (an exception that escaped the
/// worker loop, `terminate()`, `kill()`), and the task was not retried:
/// the pool's `max_retries` were used up. Python's Pool waits forever in
/// this case; troupe fails the task's result with this error. The message
/// names the task, the worker and why the worker ended.
class worker_lost : public error {
public:
  worker_lost(const std::string& what, std::uint64_t task, std::string worker,
              pid_type worker_pid, std::string reason)
    : error(what), task_(task), worker_(std::move(worker)),
      worker_pid_(worker_pid), reason_(std::move(reason)) {}

  /// The task's number in its pool (as the message prints it).
  [[nodiscard]] std::uint64_t task() const noexcept {
    return task_;
  }

  /// The name of the worker that ran it last (`PoolWorker-2`).
  [[nodiscard]] const std::string& worker() const noexcept {
    return worker_;
  }

  [[nodiscard]] pid_type worker_pid() const noexcept {
    return worker_pid_;
  }

  /// Why the worker ended: `killed`, `terminated`, `exit(3)`, ...
  [[nodiscard]] const std::string& reason() const noexcept {
    return reason_;
  }

private:
  std::uint64_t task_;
  std::string worker_;
  pid_type worker_pid_;
  std::string reason_;
};

/// The pool's supervisor gave up: its workers failed more often than the
/// pool's restart intensity allows (a crashing initializer, workers killed
/// over and over). Every result still pending fails with this error, and
/// so does every later submission. The message says what failed last.
class pool_broken : public error {
public:
  using error::error;
};

/// The OS process of a worker of a pool with `isolation::os_process`
/// ended under a task (a crash, `abort()`, SIGKILL, an exit): the worker's
/// exit reason, never a task's outcome (the task is retried or fails with
/// `worker_lost`, whose `reason()` says the same).
class os_worker_lost : public error {
public:
  using error::error;
};

/// The pool was terminated (`terminate()`, or its destructor) before the
/// task ran or finished; the result will never have a value.
/// (`concurrent.futures`' `CancelledError`; Python's Pool leaves such
/// results waiting forever.)
class cancelled : public error {
public:
  using error::error;
};

/// A task finished, but its result could not be stored in its
/// `async_result`: moving (or copying) the value threw. Python's
/// `MaybeEncodingError` (a result that cannot be pickled back): the result
/// fails with this error, its `error_callback` runs, and the worker goes on.
/// The message names the result's type and the exception; `cause()` is
/// that exception.
class result_error : public error {
public:
  result_error(const std::string& what, std::exception_ptr cause)
    : error(what), cause_(std::move(cause)) {}

  /// What the move or copy threw.
  [[nodiscard]] const std::exception_ptr& cause() const noexcept {
    return cause_;
  }

private:
  std::exception_ptr cause_;
};

} // namespace troupe
