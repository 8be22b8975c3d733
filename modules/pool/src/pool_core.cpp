#include "troupe/pool/detail/pool_core.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <typeinfo>

#include <cxxabi.h>

#include "troupe/error.hpp"
#include "troupe/ext/spin.hpp"
#include "troupe/ext/wait.hpp"
#include "troupe/pool/error.hpp"

namespace troupe::pooled::detail {

// -- helpers ------------------------------------------------------------------

void pool_spin_pause(unsigned step) noexcept {
  if ((step & 63U) == 63U) {
    std::this_thread::yield();
    return;
  }
  ext::cpu_relax();
}

std::string demangled_name(const std::type_info& type) {
  int status = 0;
  auto* raw = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
  std::string out = status == 0 && raw != nullptr ? raw : type.name();
  std::free(raw); // NOLINT(cppcoreguidelines-no-malloc)
  return out;
}

std::string describe_exception(const std::exception_ptr& e) {
  if (!e)
    return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return demangled_name(typeid(x)) + ": " + x.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

bool pool_wait(std::mutex& mtx, std::condition_variable& cv,
               std::optional<std::chrono::steady_clock::time_point> until,
               const std::function<bool()>& done, stop_mode mode) {
  std::unique_lock lk{mtx};
  if (mode == stop_mode::interruptible) {
    if (!until) {
      ext::wait(lk, cv, done);
      return true;
    }
    return ext::wait_until(lk, cv, *until, done);
  }
  if (!until) {
    cv.wait(lk, done);
    return true;
  }
  return cv.wait_until(lk, *until, done);
}

// -- serial_executor ----------------------------------------------------------

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

// -- result_core --------------------------------------------------------------

bool result_core::wait_until(
  std::optional<std::chrono::steady_clock::time_point> until) {
  return wait_until(until, std::function<bool()>{});
}

bool result_core::wait_until(
  std::optional<std::chrono::steady_clock::time_point> until,
  const std::function<bool()>& pred) {
  return wait_for(
    until,
    [&] {
      return state_.load(std::memory_order_seq_cst) != 0 || (pred && pred());
    },
    stop_mode::interruptible);
}

bool result_core::wait_until_only(const std::function<bool()>& pred) {
  return wait_for(std::nullopt, pred, stop_mode::uninterruptible);
}

bool result_core::wait_for(
  std::optional<std::chrono::steady_clock::time_point> until,
  const std::function<bool()>& done, stop_mode mode) {
  if (done())
    return true;
  // A tiny task's result usually comes within microseconds; a sleeping
  // thread takes tens of them to wake on this kind of machine.
  auto spin_end
    = std::chrono::steady_clock::now() + std::chrono::microseconds{30};
  if (until && *until < spin_end)
    spin_end = *until;
  for (unsigned i = 1;; ++i) {
    if (done())
      return true;
    if ((i & 63U) == 0 && std::chrono::steady_clock::now() >= spin_end)
      break;
    pool_spin_pause(i);
  }
  // Counted before `done()` is checked under the lock, so that a publisher
  // that sees no waiter has published before that check.
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  struct uncount {
    std::atomic<int>& n;
    ~uncount() {
      n.fetch_sub(1, std::memory_order_seq_cst);
    }
  } guard{waiters_};
  return pool_wait(mtx_, cv_, until, done, mode);
}

void result_core::publish(bool ok) noexcept {
  state_.store(ok ? 1 : 2, std::memory_order_seq_cst);
  poke();
}

void result_core::poke() noexcept {
  if (waiters_.load(std::memory_order_seq_cst) == 0)
    return;
  { std::lock_guard guard{mtx_}; }
  cv_.notify_all();
}

} // namespace troupe::pooled::detail
