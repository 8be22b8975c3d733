#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "troupe/restart_limit.hpp"

namespace troupe {

struct supervisor_event;

namespace pooled::detail {
class worker_host;
struct worker_host_args;
using worker_host_factory
  = std::unique_ptr<worker_host> (*)(const worker_host_args& args);
} // namespace pooled::detail

/// Where a pool's workers run their tasks: `troupe::isolation::thread` or
/// `troupe::isolation::os_process`.
struct isolation_mode {
  pooled::detail::worker_host_factory make_host = nullptr; // null: threads
  const char* name = "thread";

  friend bool operator==(const isolation_mode& a,
                         const isolation_mode& b) noexcept {
    return a.make_host == b.make_host;
  }
};

namespace isolation {

/// Workers are threads of this program (the default): the fastest, and
/// tasks may be any callable.
extern const isolation_mode thread;

/// Each worker runs its tasks in an OS process of its own
/// (`troupe::isolate`; see docs/isolation.md): a task that crashes,
/// aborts or runs out of memory ends only that worker, whose task is then
/// retried or fails with `worker_lost`, as when a thread worker dies.
/// Tasks are registered entry points (`troupe::entry<f>`), their arguments
/// and results values that cross as `troupe::serialization` bytes; a map's
/// chunk crosses as one message each way.
extern const isolation_mode os_process;

} // namespace isolation

// The deprecated members must not warn in every copy of the options (GCC 12
// reports the implicit special members' use of them); clang still warns
// where a program names them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/// Settings of a `pool`, with designated initializers:
/// `troupe::pool p{rt, {.processes = 4, .maxtasksperchild = 100}}`.
struct pool_options {
  /// Worker processes; 0 takes the number of cores (Python's default).
  std::size_t processes = 0;

  /// Threads (the default) or OS processes (`troupe::isolation::os_process`,
  /// which needs `troupe::isolate`).
  isolation_mode isolation{};

  /// Runs in every worker when it starts (and restarts), before its first
  /// task: Python's `initializer(*initargs)` (give the arguments with the
  /// pool's constructor, or bind them in a lambda). If it throws, the
  /// worker fails and is restarted, which counts toward `intensity`.
  std::function<void()> initializer{};

  /// A worker is replaced by a fresh process after this many tasks (map
  /// chunks count as one task each, as in Python); 0: never.
  std::size_t maxtasksperchild = 0;

  /// How often a task whose worker died is run again before its result
  /// fails with `worker_lost`.
  int max_retries = 0;

  /// At most `intensity` worker restarts within `period`; one more and the
  /// pool is broken (`pool_broken`). Empty: 2 * processes + 1 in 5 s.
  /// `.restarts = troupe::restart_limit{.intensity = 3, .period = 60s}`.
  std::optional<restart_limit> restarts{};

  /// Deprecated spellings of `restarts` (troupe 0.1): when given, they
  /// take the place of the field they name.
  [[deprecated("use .restarts = troupe::restart_limit{.intensity = n}")]] std::
    optional<int>
      intensity{};
  [[deprecated("use .restarts = troupe::restart_limit{.period = t}")]] std::
    optional<std::chrono::milliseconds>
      period{};

  /// Grace between asking a worker to stop and killing it, when the pool
  /// is terminated or joined.
  std::chrono::milliseconds shutdown{1000};

  /// Empty: `Pool-N`. The pool's supervisor carries this name; workers are
  /// `PoolWorker-1` ... `PoolWorker-<processes>`.
  std::string name{};

  /// Called (on the callback thread) with an exception a `callback` or
  /// `error_callback` threw. Empty prints it to stderr; it is never
  /// swallowed. (A `progress` callback runs on the caller's thread; what it
  /// throws fails that map or leaves the imap iteration.)
  std::function<void(std::exception_ptr)> on_callback_error{};

  /// Every event of the pool's supervisor (worker failures, restarts), on
  /// the supervisor's thread. Empty prints start failures and the end of
  /// the supervisor's patience to stderr.
  std::function<void(const supervisor_event&)> on_event{};
};

#pragma GCC diagnostic pop

} // namespace troupe
