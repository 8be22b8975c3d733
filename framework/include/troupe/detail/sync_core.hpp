#pragma once

// Internals of troupe's owned synchronization (not API): holders, the
// registry of owned resources, and the lock core shared by `lock`, `rlock`
// and `condition`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "troupe/ext/deadline.hpp"
#include "troupe/ext/process_level.hpp"
#include "troupe/fwd.hpp"

namespace troupe {
struct sync_options;
} // namespace troupe

namespace troupe::detail {

using exit_info = ext::exit_info;
class process_state;

using sync_clock = std::chrono::steady_clock;

/// The record of one process (or the main process) as a holder of troupe
/// resources. Created lazily the first time a process acquires anything;
/// one exit hook per process marks it dead and releases what it still
/// holds.
///
/// Lifetime: shared by the holder registry (until its process ended) and
/// by per-thread caches; resource cores refer to it by raw pointer only
/// while it holds them (its exit hook clears those references).
class alignas(64) holder {
public:
  holder(const std::shared_ptr<process_state>& st, bool foreign_thread);

  /// The process's state (identity only; never dereferenced through this).
  const process_state* const state;
  const std::weak_ptr<process_state> weak_state;

  /// A thread troupe does not run (it counts as the main process, but
  /// holds as itself, as Python threads do with a Lock or RLock).
  const bool thread;

  /// Set once its process ended; a thread still running for a dead process
  /// (declared killed) may not acquire anything any more.
  std::atomic<bool> dead{false};

  /// "process 'A' (pid 3)", or "an ended process" once it is gone.
  [[nodiscard]] std::string who() const;

  /// The pid of its process (0 once gone).
  [[nodiscard]] pid_type pid() const;
};

/// Base of every resource whose holders are tracked (locks, semaphores,
/// barriers). All live resources are in one registry, so that the end of a
/// holder can release what it held.
class owned_resource : public std::enable_shared_from_this<owned_resource> {
public:
  owned_resource(runtime& rt, std::string kind, const sync_options& opts);
  virtual ~owned_resource();

  owned_resource(const owned_resource&) = delete;
  owned_resource& operator=(const owned_resource&) = delete;

  /// Called once for each resource when a holder's process ended, with the
  /// holder marked dead. Releases what `h` holds and wakes waiters.
  virtual void holder_ended(holder& h, const exit_info& info) = 0;

  /// Called once for each resource when a holder's process was declared
  /// killed while its thread still runs, with the holder marked dead;
  /// `holder_ended` follows once the thread left. What the thread holds
  /// stays held (exclusion is never traded for liveness); a resource that
  /// waits for the holder to act (a barrier) gives up on it here.
  virtual void holder_abandoned(holder& h, const exit_info& info) {
    static_cast<void>(h);
    static_cast<void>(info);
  }

  /// The holder for the calling thread's process (cached per thread).
  [[nodiscard]] holder& me() const;

  /// "lock 'accounts'".
  [[nodiscard]] const std::string& label() const {
    return label_;
  }

  [[nodiscard]] const std::string& name() const {
    return name_;
  }

  /// Logging threshold for slow waits; zero disables it.
  [[nodiscard]] std::chrono::milliseconds warn_after() const {
    return warn_after_;
  }

  /// Adds the resource to the registry; call once, after construction
  /// (from the factory that made the shared_ptr).
  void enroll();

private:
  std::string name_;
  std::string label_;
  std::chrono::milliseconds warn_after_;
  std::weak_ptr<process_state> main_;
  const process_state* main_raw_;
  bool enrolled_ = false;
};

/// Holds `lk` while waiting on `cv` (through `ext::park`) until `done()` or
/// `until`, logging
/// every `warn_after` (zero: never) who the waiter is, what it waits for
/// (`label`) and what `blockers()` says; wakes for a stop request and
/// throws `terminated`. Returns `done()`.
bool wait_reporting(std::unique_lock<std::mutex>& lk,
                    std::condition_variable& cv, ext::deadline until,
                    std::chrono::milliseconds warn_after,
                    const std::string& label, const std::function<bool()>& done,
                    const std::function<std::string()>& blockers);

/// Writes a diagnostic line to standard error.
void sync_log(const std::string& line);

class lock_core;

/// While alive, records "holder `h` waits for lock `c`" (an untimed
/// blocking acquire) in the wait-for graph. The constructor throws
/// `deadlock_error` when the new edge closes a cycle.
class wait_edge {
public:
  wait_edge(holder& h, lock_core& c);
  ~wait_edge();

  wait_edge(const wait_edge&) = delete;
  wait_edge& operator=(const wait_edge&) = delete;

private:
  holder& h_;
};

/// "process 'A' (pid 3)" for the holder whose address is `h`, if it is
/// still registered; "nobody" for null.
std::string describe_holder(const void* h);

/// The process of the holder at `h`, if it is still registered.
std::shared_ptr<process_state> state_of_holder(const void* h);

/// The core of `lock` and `rlock`: one atomic word holds the owner, the
/// recursion depth and the "previous owner died" flag, so the uncontended
/// acquire and release are one compare-and-swap each. Waiters spin briefly,
/// then park on a mutex and condition variable.
class lock_core final : public owned_resource {
public:
  lock_core(runtime& rt, bool recursive, const sync_options& opts);
  ~lock_core() override;

  /// Acquires for the calling process, waiting until `until` (not at all
  /// for `deadline::poll()`). Returns whether it got the lock.
  bool acquire(ext::deadline until);

  /// Releases one level. `what` names the call for error messages.
  void release(const char* what);

  /// Whether anyone holds it.
  [[nodiscard]] bool locked() const noexcept;

  /// Whether the caller holds it.
  [[nodiscard]] bool held_by_me() const;

  /// Whether the caller holds it and took it over from a holder that
  /// ended while holding it.
  [[nodiscard]] bool previous_owner_died() const;

  /// The holding process, if any.
  [[nodiscard]] std::shared_ptr<process_state> owner() const;

  /// For `condition`: releases every level the caller holds and returns
  /// the depth; throws `state_error` when the caller does not hold it.
  std::uint32_t release_all(const char* what);

  /// For `condition`: acquires again with the given depth (blocks).
  void acquire_restore(std::uint32_t depth);

  void holder_ended(holder& h, const exit_info& info) override;

  [[nodiscard]] bool recursive() const noexcept {
    return recursive_;
  }

  /// The OS-process level (troupe/ext/process_level.hpp): installs the one
  /// `make` makes unless there is one; returns it.
  std::shared_ptr<ext::process_level>
  share_across_processes(ext::process_level_factory& make);

  /// Gives a new core its OS-process level (before anyone else sees it).
  void set_level(std::shared_ptr<ext::process_level> level) noexcept;

  // -- the word ---------------------------------------------------------------

  static constexpr std::uint64_t died_bit = std::uint64_t{1} << 63;
  static constexpr int depth_shift = 48;
  static constexpr std::uint64_t depth_one = std::uint64_t{1} << depth_shift;
  static constexpr std::uint64_t depth_mask = (died_bit - 1) & ~(depth_one - 1);
  /// The holding also holds the OS-process level (holders are aligned, so
  /// their addresses leave the lowest bit free).
  static constexpr std::uint64_t level_bit = 1;
  static constexpr std::uint64_t holder_mask = (depth_one - 1) & ~level_bit;
  static constexpr std::uint64_t max_depth = depth_mask >> depth_shift;

  [[nodiscard]] std::uint64_t word() const noexcept {
    return word_.load(std::memory_order_acquire);
  }

private:
  bool try_take(holder& h, std::uint64_t depth_bits, bool under_lock);
  bool acquire_slow(holder& h, ext::deadline until, std::uint64_t depth_bits);
  /// After the word was taken for `h`: takes the OS-process level, if any;
  /// gives the word back when that fails or throws.
  bool take_level(holder& h, ext::deadline until);
  /// After the word held with the level was given back: gives the level
  /// back (telling the next holder when its holder ended holding it).
  void drop_level(bool holder_ended) noexcept;
  /// Gives back a word held by `h` at depth one, waking a waiter.
  void give_back_word(holder& h) noexcept;
  void wake_one();
  [[noreturn]] void fail_release(holder& h, std::uint64_t w, const char* what);

  std::atomic<std::uint64_t> word_{0};
  std::atomic<int> waiters_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  const bool recursive_;
  // The OS-process level: set once (under install_mtx_ while the installer
  // holds the word, or before the core is shared), then read lock-free.
  std::atomic<ext::process_level*> level_{nullptr};
  std::shared_ptr<ext::process_level> level_owner_; // (install_mtx_)
  std::mutex install_mtx_;
  // The level was taken over from a dead OS process; written by the holder.
  std::atomic<bool> level_died_{false};
};

} // namespace troupe::detail
