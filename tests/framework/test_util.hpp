#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

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

/// A path in the temporary directory unique to this process and moment,
/// e.g. for a file a child process writes to say it got somewhere.
inline std::string temp_path(const std::string& stem) {
  auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  return (std::filesystem::temp_directory_path()
          / (stem + "-" + std::to_string(::getpid()) + "-"
             + std::to_string(stamp)))
    .string();
}

} // namespace troupe::test
