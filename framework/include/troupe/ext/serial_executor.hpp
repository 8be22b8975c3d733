#pragma once

/// One at a time, in order: the command queue of troupe's serialized
/// engines that run commands of any kind (a supervisor's commands and fast
/// restarts, a pool's callback and maintenance threads). Who runs is an
/// `ext::serial_claim`, as in the engines with queues of their own.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/ext/serial_claim.hpp"
#include "troupe/ext/spin.hpp"
#include "troupe/ext/unique_function.hpp"

namespace troupe::ext {

/// Commands posted from any thread run one at a time, oldest first.
///
/// Whoever runs a command holds the executor: its drainer (a thread of its
/// own, or a process's loop: `await`, then `run_next`), or a caller that
/// found it idle — open, nothing queued, nobody running — and ran a command
/// of its own on its own thread (`try_run_here`), which saves the hand-off
/// and the wake-up of the drainer. So commands never overlap, and one run
/// here never overtakes a queued one.
///
/// Thread-safety: every member from any thread, except that `await` has
/// one caller at a time (the drainer). Lifetime: destroy it after its
/// drainer stopped; commands still queued are destroyed without running
/// (`close()` first to cancel them).
class serial_executor {
public:
  /// One piece of work.
  struct command {
    /// The work; runs while the executor is held.
    unique_function<void()> run;

    /// Runs instead of `run` when the executor was closed before `run`
    /// could (tell a waiting caller "gone"); may be empty.
    unique_function<void()> cancel = {};

    /// Runs after `run`, once the executor is free again: hands a caller
    /// its result, so that what the caller does next finds the executor
    /// idle (and may run here). May be empty.
    unique_function<void()> then = {};
  };

  /// Whether `await` polls briefly before it parks: right for a drainer
  /// whose commands come within microseconds of each other (a supervisor's
  /// restarts); wrong for one that shares few cores with the threads that
  /// feed it (a pool's callback thread would take their CPU).
  enum class wait_mode : bool { park, spin_then_park };

  explicit serial_executor(wait_mode mode = wait_mode::spin_then_park)
    : spin_first_(mode == wait_mode::spin_then_park) {}

  serial_executor(const serial_executor&) = delete;
  serial_executor& operator=(const serial_executor&) = delete;

  /// Queues `cmd` and wakes the drainer; false (and `cmd` is dropped, its
  /// `cancel` not run) once closed.
  bool post(command cmd);

  /// As `post` of a command with no `cancel` and no `then`.
  bool post(unique_function<void()> run) {
    return post(command{std::move(run)});
  }

  /// The drainer's wait: returns true once a command is queued, false once
  /// `stopped()` holds (checked first, and again after every `wake()`).
  /// With `spin_then_park`, polls briefly first: a command often follows
  /// the previous one within microseconds, and a futex wake-up costs tens.
  template <class Stopped>
  bool await(Stopped stopped);

  /// Runs the oldest queued command (holding the executor), then its
  /// `then` (not holding it); false when none is queued.
  bool run_next();

  /// When the executor is idle (open, nothing queued, nobody running),
  /// runs `fn()` here, holding it, and returns true; otherwise returns false
  /// without running `fn`. `fn` may return false to say it declined
  /// (then so does this call, and nothing ran).
  template <class F>
  bool try_run_here(F&& fn);

  /// Holds the executor while the lock lives: no command runs elsewhere
  /// meanwhile (a drainer's start-up and shutdown).
  [[nodiscard]] std::unique_lock<serial_claim> hold() {
    return std::unique_lock{exec_};
  }

  /// Refuses further commands and cancels the queued ones (their `cancel`
  /// runs on the caller, outside every lock). Idempotent.
  void close();

  /// Refuses further commands, keeping the queued ones for the drainer to
  /// run (`run_next` until it returns false): a stop that loses nothing
  /// `post` accepted. Idempotent.
  void refuse();

  /// Whether it is open and nothing is queued.
  [[nodiscard]] bool idle() const;

  /// Whether a command is queued.
  [[nodiscard]] bool pending() const noexcept {
    return pending_.load(std::memory_order_acquire) > 0;
  }

  /// Wakes `await` to look at its stop condition again.
  void wake();

private:
  /// The queued commands, oldest first, in one growing ring: a deque of
  /// commands this size (three functions) allocates a chunk every two
  /// pushes, which a pool's stream of callbacks measurably paid for.
  class ring {
  public:
    [[nodiscard]] bool empty() const noexcept {
      return size_ == 0;
    }

    void push(command cmd) {
      if (size_ == slots_.size())
        grow();
      slots_[(head_ + size_) % slots_.size()] = std::move(cmd);
      ++size_;
    }

    command pop() {
      auto cmd = std::move(slots_[head_]);
      slots_[head_] = command{}; // what it captured goes now
      head_ = (head_ + 1) % slots_.size();
      --size_;
      return cmd;
    }

  private:
    void grow() {
      std::vector<command> bigger(slots_.empty() ? 8 : 2 * slots_.size());
      for (std::size_t i = 0; i < size_; ++i)
        bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
      slots_.swap(bigger);
      head_ = 0;
    }

    std::vector<command> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
  };

  mutable std::mutex mtx_; // the queue
  std::condition_variable cv_;
  ring queue_;                          // (mtx_)
  bool closed_ = false;                 // (mtx_)
  std::atomic<std::size_t> pending_{0}; // mirrors queue_.size()
  serial_claim exec_;                   // held while a command runs
  adaptive_spin<16, 2048> spin_;        // the drainer's
  const bool spin_first_;
};

// -- implementation -----------------------------------------------------------

template <class Stopped>
bool serial_executor::await(Stopped stopped) {
  if (spin_first_)
    spin_.spin([&] { return pending() || stopped(); });
  std::unique_lock guard{mtx_};
  if (queue_.empty() && !stopped()) {
    auto t0 = std::chrono::steady_clock::now();
    cv_.wait(guard, [&] { return !queue_.empty() || stopped(); });
    if (spin_first_)
      spin_.parked_for(std::chrono::steady_clock::now() - t0);
  }
  return !stopped();
}

template <class F>
bool serial_executor::try_run_here(F&& fn) {
  std::unique_lock exec{exec_, std::try_to_lock};
  if (!exec.owns_lock() || !idle())
    return false;
  if constexpr (std::is_void_v<decltype(fn())>) {
    std::forward<F>(fn)();
    return true;
  } else {
    return static_cast<bool>(std::forward<F>(fn)());
  }
}

} // namespace troupe::ext
