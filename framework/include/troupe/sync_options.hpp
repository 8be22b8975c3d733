#pragma once

#include <chrono>
#include <string>

namespace troupe {

/// Settings shared by troupe's synchronization objects (`lock`, `rlock`,
/// `semaphore`, `bounded_semaphore`, `condition`, `barrier`), given with
/// designated initializers: `troupe::lock l{rt, {.name = "accounts"}}`.
struct sync_options {
  /// Shown in diagnostics and errors ("lock 'accounts'"); empty picks
  /// `lock-N`, `semaphore-N`, ... (N counts up per program).
  std::string name{};

  /// A blocked call that has waited this long prints to standard error who
  /// waits and who holds the resource (names and pids), and again after
  /// each further period; zero turns the report off.
  std::chrono::milliseconds warn_after{std::chrono::seconds{10}};
};

} // namespace troupe
