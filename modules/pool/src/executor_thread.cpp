// The pool's executor threads: jobs posted from any thread, run in order on
// a thread of its own (the callback thread, the maintenance thread), on
// ext::serial_executor.

#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "troupe/pool/detail/pool_core.hpp"

namespace troupe::pooled::detail {

executor_thread::executor_thread(std::string name) {
  static_cast<void>(name);
  thread_ = std::thread{[this] { loop(); }};
}

executor_thread::~executor_thread() {
  stop();
  std::lock_guard guard{join_mtx_};
  if (thread_.joinable())
    thread_.detach(); // stop() from its own thread: it ends by itself
}

bool executor_thread::post(ext::unique_function<void()> job) {
  return exec_.post(std::move(job));
}

void executor_thread::stop() {
  // Refused first, then flagged: once the loop sees the flag, every job
  // `post` accepted is queued, and it runs them all before it ends.
  exec_.refuse();
  stopping_.store(true, std::memory_order_release);
  exec_.wake();
  if (on_this_thread())
    return;
  // A second caller waits here until the first joined, then finds nothing
  // left to join.
  std::lock_guard guard{join_mtx_};
  if (thread_.joinable())
    thread_.join();
}

bool executor_thread::on_this_thread() const noexcept {
  return id_.load() == std::this_thread::get_id();
}

void executor_thread::loop() {
  id_ = std::this_thread::get_id();
  auto stopping = [this] { return stopping_.load(std::memory_order_acquire); };
  for (;;) {
    // Jobs catch their own exceptions.
    while (exec_.run_next()) {
    }
    if (!exec_.await(stopping)) {
      while (exec_.run_next()) {
      }
      return;
    }
  }
}

} // namespace troupe::pooled::detail
