// A supervisor's command queue (see command_queue.hpp).

#include "supervision/command_queue.hpp"

#include <chrono>

namespace troupe::detail {

bool command_queue::post(command cmd) {
  {
    std::lock_guard guard{mtx_};
    if (closed_)
      return false;
    queue_.push_back(std::move(cmd));
    pending_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_one();
  return true;
}

bool command_queue::await(const std::atomic<int>& stop) {
  auto stopped = [&stop] { return stop.load(std::memory_order_relaxed) != 0; };
  spin_.spin(
    [&] { return pending_.load(std::memory_order_acquire) > 0 || stopped(); });
  std::unique_lock guard{mtx_};
  if (queue_.empty() && !stopped()) {
    auto t0 = std::chrono::steady_clock::now();
    cv_.wait(guard, [&] { return !queue_.empty() || stopped(); });
    spin_.parked_for(std::chrono::steady_clock::now() - t0);
  }
  return !stopped();
}

command command_queue::pop() {
  std::lock_guard guard{mtx_};
  auto cmd = std::move(queue_.front());
  queue_.pop_front();
  pending_.fetch_sub(1, std::memory_order_relaxed);
  return cmd;
}

void command_queue::close() {
  std::deque<command> left;
  {
    std::lock_guard guard{mtx_};
    closed_ = true;
    left.swap(queue_);
  }
  for (auto& cmd : left)
    cmd.cancel();
}

bool command_queue::idle() {
  std::lock_guard guard{mtx_};
  return !closed_ && queue_.empty();
}

void command_queue::wake() {
  std::lock_guard guard{mtx_};
  cv_.notify_all();
}

} // namespace troupe::detail
