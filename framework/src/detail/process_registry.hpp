#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "troupe/detail/process_state.hpp"

namespace troupe::detail {

/// The runtime's set of running processes and actors, with their pids.
///
/// Built for spawn-heavy actor workloads: the spawning thread admits and a
/// scheduler worker retires, so one runtime-wide lock would bounce between
/// them. States link into one of several shards (by pid) through intrusive
/// links, so admitting or retiring allocates nothing and rarely meets
/// another thread on the same lock. Only shutdown, which waits for the set
/// to drain, pays for notifications.
///
/// Thread-safety: all members may be called from any thread.
class process_registry {
public:
  process_registry() = default;
  ~process_registry();

  process_registry(const process_registry&) = delete;
  process_registry& operator=(const process_registry&) = delete;

  /// Records `st` as running and returns its new pid. Throws `state_error`
  /// after `close()`.
  pid_type admit(const std::shared_ptr<process_state>& st);

  /// Forgets the process with `pid` (a no-op if it is not registered).
  void retire(process_state& st, pid_type pid);

  /// Refuses further admissions; returns once admissions in flight landed.
  void close();

  /// Running processes and actors, in start (pid) order.
  [[nodiscard]] std::vector<std::shared_ptr<process_state>> active() const;

  /// Waits until `done(active())` holds or `until` passed; returns whether
  /// it held.
  template <class Predicate>
  bool wait_until(std::chrono::steady_clock::time_point until, Predicate done) {
    watched_ = true;
    for (;;) {
      std::uint64_t seen = 0;
      {
        std::lock_guard guard{watch_mtx_};
        seen = epoch_;
      }
      if (done(active()))
        return true;
      std::unique_lock guard{watch_mtx_};
      if (!watch_cv_.wait_until(guard, until, [&] { return epoch_ != seen; })) {
        guard.unlock();
        return done(active());
      }
    }
  }

private:
  static constexpr std::size_t shard_count = 16;

  struct alignas(64) shard {
    mutable std::mutex mtx;
    process_state* head = nullptr;
  };

  shard& shard_of(pid_type pid) {
    return shards_[pid % shard_count];
  }

  std::array<shard, shard_count> shards_;
  std::atomic<pid_type> next_pid_{2}; // the main process is 1
  std::atomic<bool> closed_{false};
  std::atomic<bool> watched_{false};
  std::mutex watch_mtx_;
  std::condition_variable watch_cv_;
  std::uint64_t epoch_ = 0; // (watch_mtx_) bumped by every retire
};

} // namespace troupe::detail
