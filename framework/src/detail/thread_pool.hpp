#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "troupe/detail/unique_function.hpp"

namespace troupe::detail {

/// Threads for blocking processes. Starting a process hands its job to an
/// idle thread when one exists (a wake-up, not a thread creation), which is
/// what makes process start+join cheap; otherwise a new thread is made.
/// Threads that find no job within `idle_timeout` exit, and at most
/// `max_idle` stay parked.
///
/// Threads are detached and own a reference to the pool's core, so a thread
/// that never returns (a killed process stuck in a loop) cannot outlive
/// what it uses; `shutdown` reports it instead of joining forever.
///
/// Thread-safety: all members may be called from any thread.
class thread_pool {
public:
  thread_pool(std::size_t max_idle, std::chrono::milliseconds idle_timeout);
  ~thread_pool();

  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  /// Runs `job` on a pool thread. Does not block. Called on a pool thread
  /// whose job announced its end (`this_job_ending`), the job runs next on
  /// that thread: no other thread has to be woken.
  void submit(unique_function<void()> job);

  /// Tells the pool that the job running on the calling thread is about to
  /// return (does nothing on other threads). The job must not block after
  /// this, since a job submitted from it waits for the thread.
  static void this_job_ending() noexcept;

  /// Stops parked threads and waits until every thread has exited or
  /// `until` passed; jobs that announced their end (`this_job_ending`) get
  /// up to 10 s more to return. Returns the number of threads still
  /// running a job.
  std::size_t shutdown(std::chrono::steady_clock::time_point until);

  /// Threads currently running a job.
  [[nodiscard]] std::size_t busy() const;

  /// Shared by the pool and its (detached) threads.
  struct core;

private:
  std::shared_ptr<core> core_;
};

} // namespace troupe::detail
