#include "detail/timer_service.hpp"

#include <vector>

namespace troupe::detail {

timer_service::~timer_service() {
  stop();
}

void timer_service::schedule(clock::time_point when,
                             unique_function<void()> fn) {
  std::lock_guard guard{mtx_};
  if (stopping_)
    return;
  if (!thread_.joinable())
    thread_ = std::thread{[this] { loop(); }};
  auto first = due_.empty() || when < due_.begin()->first;
  due_.emplace(when, std::move(fn));
  if (first)
    cv_.notify_one();
}

void timer_service::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable())
    thread_.join();
  std::lock_guard guard{mtx_};
  due_.clear();
}

void timer_service::loop() {
  std::unique_lock guard{mtx_};
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(guard);
      continue;
    }
    auto when = due_.begin()->first;
    if (clock::now() < when) {
      cv_.wait_until(guard, when);
      continue;
    }
    std::vector<unique_function<void()>> ready;
    auto now = clock::now();
    while (!due_.empty() && due_.begin()->first <= now) {
      ready.push_back(std::move(due_.begin()->second));
      due_.erase(due_.begin());
    }
    guard.unlock();
    for (auto& fn : ready)
      fn();
    guard.lock();
  }
}

} // namespace troupe::detail
