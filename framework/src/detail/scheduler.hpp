#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include <caf/detail/thread_safe_actor_clock.hpp>
#include <caf/fwd.hpp>

namespace troupe::detail {

/// Makes `cfg` build its actor system on troupe's scheduler: CAF's
/// work-stealing coordinator with a clock that skips the timer thread when an
/// actor that never armed a timeout terminates.
///
/// Why: CAF 0.17's `local_actor::cleanup` ends every actor with
/// `clock().cancel_timeouts(this)`, which pushes a command to the clock
/// thread and wakes it with a futex (about 10 us here) even when the actor
/// never armed a timeout. That wake dominated spawn+exit and restart
/// latency (docs/benchmarks.md, "Processes and actors against raw CAF").
///
/// Installs nothing unless `scheduler.policy` is CAF's default, `stealing`:
/// the sharing and testing schedulers keep CAF's own clock.
void install_scheduler(caf::actor_system_config& cfg);

/// Whether `sys` runs on troupe's scheduler (see `install_scheduler`).
bool uses_troupe_scheduler(caf::actor_system& sys);

/// Forwards to the coordinator's own clock, except that `cancel_timeouts`
/// reaches the timer thread only for actors that armed a timeout.
///
/// Thread-safety: every member may be called from any thread, as CAF's
/// clock; the record of armed actors is sharded under mutexes.
/// Conservative: an actor stays recorded from its first armed timeout until
/// `cancel_timeouts`, even if the timeout fired or was cancelled meanwhile,
/// so a cancellation that could remove something is always forwarded.
class lazy_cancel_clock final : public caf::detail::thread_safe_actor_clock {
public:
  explicit lazy_cancel_clock(caf::detail::thread_safe_actor_clock& base)
    : base_(base) {
    // nop
  }

  void set_ordinary_timeout(time_point t, caf::abstract_actor* self,
                            caf::atom_value type, uint64_t id) override {
    armed(self);
    base_.set_ordinary_timeout(t, self, type, id);
  }

  void set_request_timeout(time_point t, caf::abstract_actor* self,
                           caf::message_id id) override {
    armed(self);
    base_.set_request_timeout(t, self, id);
  }

  void set_multi_timeout(time_point t, caf::abstract_actor* self,
                         caf::atom_value type, uint64_t id) override {
    armed(self);
    base_.set_multi_timeout(t, self, type, id);
  }

  void cancel_ordinary_timeout(caf::abstract_actor* self,
                               caf::atom_value type) override {
    base_.cancel_ordinary_timeout(self, type);
  }

  void cancel_request_timeout(caf::abstract_actor* self,
                              caf::message_id id) override {
    base_.cancel_request_timeout(self, id);
  }

  void cancel_timeouts(caf::abstract_actor* self) override {
    if (disarmed(self))
      base_.cancel_timeouts(self);
  }

  void schedule_message(time_point t, caf::strong_actor_ptr receiver,
                        caf::mailbox_element_ptr content) override {
    base_.schedule_message(t, std::move(receiver), std::move(content));
  }

  void schedule_message(time_point t, caf::group target,
                        caf::strong_actor_ptr sender,
                        caf::message content) override {
    base_.schedule_message(t, std::move(target), std::move(sender),
                           std::move(content));
  }

  void cancel_all() override {
    base_.cancel_all();
  }

private:
  struct shard {
    std::mutex mtx;
    std::unordered_set<caf::actor_id> ids;
  };

  static constexpr std::size_t shard_count = 16;

  shard& shard_of(caf::actor_id id) {
    return shards_[id % shard_count];
  }

  void armed(caf::abstract_actor* self) {
    if (self == nullptr)
      return;
    auto& s = shard_of(self->id());
    std::lock_guard guard{s.mtx};
    s.ids.insert(self->id());
  }

  /// Forgets `self`; returns whether it had armed a timeout.
  bool disarmed(caf::abstract_actor* self) {
    if (self == nullptr)
      return true;
    auto& s = shard_of(self->id());
    std::lock_guard guard{s.mtx};
    return s.ids.erase(self->id()) > 0;
  }

  caf::detail::thread_safe_actor_clock& base_;
  std::array<shard, shard_count> shards_;
};

} // namespace troupe::detail
