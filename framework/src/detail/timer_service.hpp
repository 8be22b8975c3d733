#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include "troupe/detail/unique_function.hpp"

namespace troupe::detail {

/// Runs callbacks at deadlines on one thread of its own, started on first
/// use. Used for terminate graces, so a grace fires even when nobody joins.
///
/// Thread-safety: all members may be called from any thread; callbacks run
/// on the timer thread, one at a time, and must not block for long.
class timer_service {
public:
  using clock = std::chrono::steady_clock;

  timer_service() = default;
  ~timer_service();

  timer_service(const timer_service&) = delete;
  timer_service& operator=(const timer_service&) = delete;

  /// Runs `fn` at `when` (or soon after). Does not block.
  void schedule(clock::time_point when, unique_function<void()> fn);

  /// Drops pending callbacks and joins the thread.
  void stop();

private:
  void loop();

  std::mutex mtx_;
  std::condition_variable cv_;
  std::multimap<clock::time_point, unique_function<void()>> due_;
  std::thread thread_;
  bool stopping_ = false;
};

} // namespace troupe::detail
