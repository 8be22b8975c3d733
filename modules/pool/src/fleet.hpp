#pragma once

// What the pool's core and its workers share: the fleet, the workers as a
// supervisor's children and the thread that replaces the ones it does not.

#include <atomic>
#include <mutex>
#include <optional>

#include "troupe/pool/detail/pool_core.hpp"
#include "troupe/runtime.hpp"
#include "troupe/supervisor.hpp"

namespace troupe::pooled::detail {

struct pool_core::fleet {
  explicit fleet(runtime& r) : rt(&r) {}

  runtime* rt;
  /// Replaces workers the supervisor does not restart (see on_worker_exit).
  executor_thread maintenance{"pool-maintenance"};
  std::atomic<bool> stopping{false};
  /// Held by the thread that stops the fleet, so that a second one (two
  /// joins, a join and the destructor) returns only once the workers ended.
  std::mutex stop_mtx;
  bool stopped = false;                  // (stop_mtx)
  std::optional<troupe::supervisor> sup; // set once in start()
};

} // namespace troupe::pooled::detail
