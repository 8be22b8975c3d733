// troupe::barrier: rounds under a mutex; parties tracked for their ends.

#include "troupe/barrier.hpp"

#include <unordered_set>

#include "troupe/detail/sync_core.hpp"
#include "troupe/error.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace detail {

class barrier_core final : public owned_resource {
public:
  barrier_core(runtime& rt, std::size_t parties, std::function<void()> action,
               const sync_options& opts)
    : owned_resource(rt, "barrier", opts), parties_(parties),
      action_(std::move(action)), round_(std::make_shared<round>()) {
    if (parties == 0)
      throw value_error("barrier: parties must be at least 1");
  }

  std::size_t wait(ext::deadline until) {
    auto& h = me();
    if (h.dead.load())
      throw_terminated();
    stop_callback on_stop{[this] {
      std::lock_guard guard{mtx_};
      cv_.notify_all();
    }};
    std::unique_lock guard{mtx_};
    seen_.insert(&h);
    if (broken_)
      throw broken_barrier(label() + " is broken: " + why_);
    auto r = round_;
    auto index = r->count++;
    if (r->count == parties_) {
      if (action_) {
        try {
          action_();
        } catch (const std::exception& e) {
          break_locked("its action threw " + std::string{e.what()});
          throw;
        } catch (...) {
          break_locked("its action threw");
          throw;
        }
      }
      r->tripped = true;
      round_ = std::make_shared<round>();
      cv_.notify_all();
      return index;
    }
    bool passed = false;
    try {
      passed = wait_reporting(
        guard, cv_, until, warn_after(), label(),
        [&r] { return r->tripped || r->broken; },
        [this, &r] {
          return std::to_string(r->count) + " of " + std::to_string(parties_)
                 + " parties have arrived";
        });
    } catch (const terminated&) {
      if (!r->tripped)
        break_locked(h.who() + " was asked to stop while waiting");
      throw;
    }
    if (r->tripped)
      return index;
    if (!passed)
      break_locked(h.who() + " timed out waiting");
    throw broken_barrier(label() + " is broken: " + r->why);
  }

  void abort() {
    std::lock_guard guard{mtx_};
    break_locked("abort() was called");
  }

  void reset() {
    std::lock_guard guard{mtx_};
    if (round_->count > 0 && !round_->broken) {
      round_->broken = true;
      round_->why = "reset() was called while it waited";
    }
    round_ = std::make_shared<round>();
    broken_ = false;
    why_.clear();
    cv_.notify_all();
  }

  std::size_t parties() const {
    return parties_;
  }

  std::size_t n_waiting() const {
    std::lock_guard guard{mtx_};
    return broken_ ? 0 : round_->count;
  }

  bool broken() const {
    std::lock_guard guard{mtx_};
    return broken_;
  }

  /// A killed party can no longer arrive: break the barrier at once
  /// rather than leave the others waiting for its thread to end.
  void holder_abandoned(holder& h, const exit_info& info) override {
    holder_ended(h, info);
  }

  void holder_ended(holder& h, const exit_info& info) override {
    std::lock_guard guard{mtx_};
    if (seen_.erase(&h) == 0)
      return;
    if (info.exitcode != 0 || (round_->count > 0 && !round_->tripped))
      break_locked("party " + h.who() + " ended ("
                   + (info.reason.empty()
                        ? "exit code " + std::to_string(info.exitcode)
                        : std::string{info.reason})
                   + ")");
  }

private:
  struct round {
    std::size_t count = 0;
    bool tripped = false;
    bool broken = false;
    std::string why;
  };

  void break_locked(std::string why) {
    if (broken_)
      return;
    broken_ = true;
    why_ = std::move(why);
    round_->broken = true;
    round_->why = why_;
    cv_.notify_all();
  }

  const std::size_t parties_;
  std::function<void()> action_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::shared_ptr<round> round_;           // (mtx_)
  bool broken_ = false;                    // (mtx_)
  std::string why_;                        // (mtx_)
  std::unordered_set<const holder*> seen_; // parties (mtx_)
};

} // namespace detail

barrier::barrier(runtime& rt, std::size_t parties, std::function<void()> action,
                 sync_options opts)
  : core_(std::make_shared<detail::barrier_core>(rt, parties, std::move(action),
                                                 opts)) {
  core_->enroll();
}

std::size_t barrier::wait() {
  return core_->wait(ext::deadline::forever());
}

std::size_t barrier::wait(std::chrono::nanoseconds timeout) {
  return core_->wait(ext::deadline::after(timeout, "barrier::wait"));
}

void barrier::abort() {
  core_->abort();
}

void barrier::reset() {
  core_->reset();
}

std::size_t barrier::parties() const {
  return core_->parties();
}

std::size_t barrier::n_waiting() const {
  return core_->n_waiting();
}

bool barrier::broken() const {
  return core_->broken();
}

std::string barrier::name() const {
  return core_->name();
}

} // namespace troupe
