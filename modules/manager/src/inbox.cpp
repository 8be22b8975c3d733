// The way of a call into the manager: operations' phases, the inbox,
// queueing a call, flat combining by callers, and a caller's wait.

#include <chrono>
#include <stdexcept>
#include <string>

#include "troupe/manager/detail/core.hpp"
#include <troupe/ext/futex.hpp>
#include <troupe/ext/spin.hpp>
#include <troupe/ext/stop.hpp>

namespace troupe::managed::detail {

namespace {

using troupe::ext::cpu_relax;

// A caller's spin before it sleeps on its operation adapts as the
// framework's mailbox poll does (see `troupe::ext::adaptive_spin`).
thread_local troupe::ext::wait_spin caller_spin;

/// Fails the state actor on purpose (`manager::inject_failure`).
class fault_op final : public op_base {
public:
  explicit fault_op(std::string what)
    : op_base(nullptr, 1), what_(std::move(what)) {}

  void run(op_ctx&) override {
    throw std::runtime_error(what_);
  }

  bool actor_only() const override {
    return true;
  }

private:
  std::string what_;
};

} // namespace

// -- op_base ------------------------------------------------------------------

namespace {

/// Moves a pending op to `to`; false once it left pending.
bool leave_pending(std::atomic<std::uint32_t>& state,
                   std::uint32_t to) noexcept {
  auto s = state.load(std::memory_order_acquire);
  while ((s & op_base::phase_mask) == op_base::pending) {
    if (state.compare_exchange_weak(s, (s & ~op_base::phase_mask) | to,
                                    std::memory_order_acq_rel))
      return true;
  }
  return false;
}

} // namespace

bool op_base::try_start() noexcept {
  return leave_pending(state, running);
}

bool op_base::try_cancel() noexcept {
  return leave_pending(state, cancelled);
}

// -- inbox --------------------------------------------------------------------

void inbox::interrupt() noexcept {
  wake_.fetch_add(1, std::memory_order_seq_cst);
  ext::futex_wake_all(&wake_);
}

void inbox::sleep(std::uint32_t gen) noexcept {
  ext::futex_wait(&wake_, gen, ext::deadline::forever());
}

// -- calls --------------------------------------------------------------------

bool manager_core::try_submit(op_base* op) {
  auto ph = phase_.load(std::memory_order_acquire);
  if (ph == phase::stopped || ph == phase::failed)
    return false;
  inbox_.push(op);
  return true;
}

void manager_core::submit(op_base* op) {
  if (!try_submit(op)) {
    op->release();
    throw unavailable_error();
  }
}

void manager_core::inject_failure(std::string what) {
  auto* op = new fault_op(std::move(what));
  if (!try_submit(op)) {
    op->release();
    throw unavailable_error();
  }
  actor_needed_.store(true, std::memory_order_release);
  inbox_.interrupt();
}

void manager_core::combine() {
  // Every caller queues its call, then requests the execution lock; the
  // holder (a caller, or the state actor) runs again for each request that
  // came in while it ran, so no queued call is left behind.
  if (!combining_allowed() || !exec_.request())
    return;
  std::uint32_t seen = 1;
  do {
    if (!combining_allowed()) {
      // The state actor was asked for: what is queued is its to run.
      exec_.unlock();
      inbox_.interrupt();
      return;
    }
    auto r = run_queued(false, 256);
    bool compact_now = store_ && store_->needs_compaction();
    if (r != ran::drained || compact_now) {
      // Leftovers (or a snapshot to write) go to the state actor.
      if (compact_now)
        compact_wanted_.store(true, std::memory_order_release);
      exec_.unlock();
      inbox_.interrupt();
      return;
    }
  } while (exec_.release(seen));
}

manager_core::ran manager_core::run_queued(bool actor, int limit) {
  int n = 0;
  for (;;) {
    if (backlog_ == nullptr)
      backlog_ = inbox_.take_all();
    if (backlog_ == nullptr)
      return ran::drained;
    while (backlog_ != nullptr) {
      auto* op = backlog_;
      if (!actor && op->actor_only()) {
        actor_needed_.store(true, std::memory_order_release);
        return ran::actor_needed;
      }
      backlog_ = op->next;
      op->next = nullptr;
      execute(op);
      if (actor) {
        if (troupe::ext::stop_requested())
          return ran::stopping;
      } else if (++n >= limit) {
        return backlog_ != nullptr || !inbox_.empty() ? ran::budget
                                                      : ran::drained;
      }
    }
  }
}

void manager_core::await(op_base& op) {
  auto is_done = [&op] {
    return (op.state.load(std::memory_order_acquire) & op_base::phase_mask)
           == op_base::done;
  };
  combine();
  bool disk = false; // ran, waits for the disk: no point in spinning
  for (int i = 0; i < caller_spin.budget(); ++i) {
    auto s = op.state.load(std::memory_order_acquire);
    if ((s & op_base::phase_mask) == op_base::done)
      return;
    if ((s & op_base::on_disk) != 0) {
      disk = true;
      break;
    }
    if ((i & 63) == 63)
      combine(); // combining may be allowed again (the actor is back)
    cpu_relax();
  }
  if (is_done())
    return;
  // It is slow: make sure the state actor serves it (unless it already
  // ran), then sleep.
  if ((op.state.load(std::memory_order_acquire) & op_base::phase_mask)
      == op_base::pending)
    inbox_.interrupt();
  auto t0 = std::chrono::steady_clock::now();
  auto until = ext::deadline::at(t0 + opts_.call_timeout);
  bool extended = false;
  // A stop request (terminate) must wake a sleeping caller.
  troupe::ext::stop_callback on_stop{[&op] {
    op.state.fetch_or(op_base::poke, std::memory_order_acq_rel);
    ext::futex_wake_all(&op.state);
  }};
  for (;;) {
    auto s = op.state.load(std::memory_order_acquire);
    if ((s & op_base::phase_mask) == op_base::done)
      break;
    auto ph = phase_.load(std::memory_order_acquire);
    if ((ph == phase::stopped || ph == phase::failed) && op.try_cancel())
      throw unavailable_error();
    if (troupe::ext::stop_requested() && op.try_cancel())
      troupe::ext::throw_terminated();
    auto now = std::chrono::steady_clock::now();
    if (until.passed(now)) {
      auto ms = std::to_string(opts_.call_timeout.count());
      if (op.try_cancel())
        throw manager_unavailable(
          "manager '" + opts_.name + "' did not answer within " + ms + " ms ("
          + (ph == phase::up ? "it is overloaded" : "it is restarting")
          + "); the call was not applied");
      if (!extended) {
        // It runs, or waits for the disk: give it one more period.
        extended = true;
        until = ext::deadline::at(now + opts_.call_timeout);
        continue;
      }
      if (!opts_.state_path.empty())
        throw manager_unavailable("manager '" + opts_.name
                                  + "': the call was applied but is not "
                                    "acknowledged after "
                                  + ms + " ms (its state file '"
                                  + opts_.state_path.string()
                                  + "' is not durable yet)");
      throw manager_unavailable("manager '" + opts_.name
                                + "': the call started but has not "
                                  "finished after twice "
                                + ms + " ms; its result is lost");
    }
    if ((s & op_base::sleeper) == 0) {
      if (!op.state.compare_exchange_weak(s, s | op_base::sleeper,
                                          std::memory_order_acq_rel))
        continue;
      s |= op_base::sleeper;
    }
    ext::futex_wait(&op.state, s, until);
  }
  if (!disk)
    caller_spin.parked_for(std::chrono::steady_clock::now() - t0);
}

} // namespace troupe::managed::detail
