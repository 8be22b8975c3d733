// The serial executor (see troupe/ext/serial_executor.hpp).

#include "troupe/ext/serial_executor.hpp"

namespace troupe::ext {

bool serial_executor::post(command cmd) {
  {
    std::lock_guard guard{mtx_};
    if (closed_)
      return false;
    queue_.push(std::move(cmd));
    pending_.fetch_add(1, std::memory_order_release);
  }
  cv_.notify_one();
  return true;
}

bool serial_executor::run_next() {
  // Popped while holding the executor, so that a caller that finds it idle
  // and runs here never overtakes a command already taken.
  std::unique_lock exec{exec_};
  command cmd;
  {
    std::lock_guard guard{mtx_};
    if (queue_.empty())
      return false;
    cmd = queue_.pop();
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }
  cmd.run(); // what it throws reaches the drainer, the executor released
  exec.unlock();
  if (cmd.then)
    cmd.then();
  return true;
}

void serial_executor::close() {
  ring left;
  {
    std::lock_guard guard{mtx_};
    closed_ = true;
    std::swap(left, queue_);
    pending_.store(0, std::memory_order_relaxed);
  }
  while (!left.empty())
    if (auto cmd = left.pop(); cmd.cancel)
      cmd.cancel();
}

void serial_executor::refuse() {
  std::lock_guard guard{mtx_};
  closed_ = true;
}

bool serial_executor::idle() const {
  std::lock_guard guard{mtx_};
  return !closed_ && queue_.empty();
}

void serial_executor::wake() {
  std::lock_guard guard{mtx_};
  cv_.notify_all();
}

} // namespace troupe::ext
