#pragma once
/// A second level under a `lock` or `rlock`, for modules that hand locks to
/// other OS processes (troupe::shm).
///
/// A lock's own word excludes the processes of one OS process. Once a
/// module gives the lock a process level, every acquire in this OS process
/// takes that level after the word (and every release gives it back
/// after the word), so that one holder in all the OS processes that share the
/// level is in the critical section. The level is held by an OS process, not by
/// a thread: the lock's word already says which process in it holds it.
///
/// The level reports a holder OS process that ended holding it (a SIGKILL
/// inside the critical section): the next holder's `previous_owner_died()`
/// is then true, as for a process of this OS process that ended holding
/// the lock.

#include <memory>

#include "troupe/ext/deadline.hpp"
#include "troupe/ext/unique_function.hpp"
#include "troupe/fwd.hpp"
#include "troupe/sync_options.hpp"

namespace troupe {
class owned_lock;
class rlock;
} // namespace troupe

namespace troupe::ext {

/// The OS-process level of a lock. Implementations must be thread-safe.
class process_level {
public:
  virtual ~process_level() = default;

  /// Takes the level for the calling OS process, waiting until `until`
  /// (not at all for `deadline::poll()`). Returns false at the deadline.
  /// Sets `owner_died` when it took the level over from an OS process that
  /// ended holding it. Throws `terminated` when the calling process is
  /// asked to stop while it waits.
  virtual bool acquire(deadline until, bool& owner_died) = 0;

  /// Gives the level back. Called by the OS process that holds it, from
  /// any of its threads. `holder_ended`: the process of this OS process
  /// that held the lock ended holding it, so the next holder, here or in
  /// another OS process, is told (its `acquire` sets `owner_died`).
  virtual void release(bool holder_ended) noexcept = 0;

  /// Whether some OS process holds the level now (one that died holding it
  /// counts until the level is taken over). A snapshot; does not block.
  [[nodiscard]] virtual bool held() const noexcept = 0;
};

using process_level_factory = unique_function<std::shared_ptr<process_level>()>;

/// The process level of `l`, made by `make` the first time and kept for
/// the lock's life (later calls return it and ignore `make`). Installing
/// waits until the lock is free, or is held by the caller (whose hold then
/// takes the new level at once): a hold taken without the level never
/// overlaps one taken with it. Throws as `l.acquire()` would while it waits.
std::shared_ptr<process_level>
share_across_processes(const owned_lock& l, process_level_factory make);
std::shared_ptr<process_level>
share_across_processes(const rlock& l, process_level_factory make);

/// A new lock (rlock) of runtime `rt` whose holds also take `level`: the
/// other OS process's side of a shared lock.
owned_lock lock_over(runtime& rt, std::shared_ptr<process_level> level,
                     sync_options opts = {});
rlock rlock_over(runtime& rt, std::shared_ptr<process_level> level,
                 sync_options opts = {});

} // namespace troupe::ext
