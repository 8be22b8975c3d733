#pragma once

#include <chrono>
#include <thread>

namespace troupe::test {

using namespace std::chrono_literals;

/// The in-test watchdog: generous, so only a hang trips it.
inline constexpr auto deadline = std::chrono::seconds{20};

/// Polls `pred` until it holds or `limit` passes; returns whether it held.
/// For conditions with nothing to wait on (e.g. "the runtime retired a
/// process"); never used to let time pass.
template <class Predicate>
bool eventually(Predicate pred, std::chrono::milliseconds limit = deadline) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(std::chrono::microseconds{200});
  }
  return true;
}

} // namespace troupe::test
