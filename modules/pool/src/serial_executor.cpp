// The pool's serial executor: jobs posted from any thread, run in order on
// a thread of its own (the callback thread, the maintenance thread).

#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "troupe/pool/detail/pool_core.hpp"

namespace troupe::pooled::detail {

serial_executor::serial_executor(std::string name) {
  static_cast<void>(name);
  thread_ = std::thread{[this] { loop(); }};
}

serial_executor::~serial_executor() {
  stop();
  std::lock_guard guard{join_mtx_};
  if (thread_.joinable())
    thread_.detach(); // stop() from its own thread: it ends by itself
}

bool serial_executor::post(ext::unique_function<void()> job) {
  {
    std::lock_guard guard{mtx_};
    if (stopping_)
      return false;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

void serial_executor::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (on_this_thread())
    return;
  // A second caller waits here until the first joined, then finds nothing
  // left to join.
  std::lock_guard guard{join_mtx_};
  if (thread_.joinable())
    thread_.join();
}

bool serial_executor::on_this_thread() const noexcept {
  return id_.load() == std::this_thread::get_id();
}

void serial_executor::loop() {
  id_ = std::this_thread::get_id();
  std::unique_lock lk{mtx_};
  for (;;) {
    cv_.wait(lk, [this] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return; // stopping, and everything ran
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job(); // jobs catch their own exceptions
    job = ext::unique_function<void()>{};
    lk.lock();
  }
}

} // namespace troupe::pooled::detail
