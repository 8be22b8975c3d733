// troupe::semaphore and troupe::bounded_semaphore: a count under a mutex,
// with the permits each process holds.

#include "troupe/semaphore.hpp"

#include <unordered_map>

#include "troupe/detail/sync_core.hpp"
#include "troupe/error.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace detail {

class semaphore_core final : public owned_resource {
public:
  semaphore_core(runtime& rt, std::size_t value, bool bounded,
                 const sync_options& opts)
    : owned_resource(rt, bounded ? "bounded_semaphore" : "semaphore", opts),
      value_(value), bound_(value), bounded_(bounded) {}

  bool acquire(ext::deadline until) {
    auto& h = me();
    if (h.dead.load())
      throw_terminated();
    std::optional<stop_callback> on_stop;
    if (!until.is_poll())
      on_stop.emplace([this] {
        std::lock_guard guard{mtx_};
        cv_.notify_all();
      });
    std::unique_lock guard{mtx_};
    auto take = [&] {
      if (value_ == 0)
        return false;
      --value_;
      if (signals_ > 0) {
        // A permit a non-holder released: consumed, not held.
        --signals_;
        return true;
      }
      auto& e = held_[&h];
      ++e.permits;
      e.died = orphans_ > 0;
      if (orphans_ > 0)
        --orphans_;
      return true;
    };
    if (take())
      return true;
    if (until.is_poll())
      return false;
    return wait_reporting(
      guard, cv_, until, warn_after(), label(), take, [this] {
        // Who holds permits, for the slow-wait report.
        std::string out = "held by";
        auto first = true;
        for (auto& [who, e] : held_) {
          if (e.permits == 0)
            continue;
          out += (first ? " " : ", ") + describe_holder(who) + " ("
                 + std::to_string(e.permits) + ")";
          first = false;
        }
        return first ? std::string{"no permit held by a live process"} : out;
      });
  }

  void release(std::size_t n) {
    if (n == 0)
      return;
    auto& h = me();
    std::lock_guard guard{mtx_};
    if (bounded_ && value_ + n > bound_)
      throw value_error(label() + " released too many times: "
                        + std::to_string(value_) + " of "
                        + std::to_string(bound_) + " permits are free already");
    // Charge our own permits first, then anyone's: a signalling release
    // (from a process holding none) retires a permit another process
    // took, so that process's end does not return it a second time.
    auto left = n;
    auto charge = [&left](entry& e) {
      auto k = std::min(left, e.permits);
      e.permits -= k;
      left -= k;
    };
    if (auto i = held_.find(&h); i != held_.end())
      charge(i->second);
    for (auto i = held_.begin(); left > 0 && i != held_.end(); ++i)
      charge(i->second);
    signals_ += left;
    std::erase_if(held_, [](auto& kv) {
      return kv.second.permits == 0 && !kv.second.died;
    });
    value_ += n;
    if (n == 1)
      cv_.notify_one();
    else
      cv_.notify_all();
  }

  std::size_t value() const {
    std::lock_guard guard{mtx_};
    return value_;
  }

  std::size_t held_by_me() const {
    auto& h = me();
    std::lock_guard guard{mtx_};
    auto i = held_.find(&h);
    return i == held_.end() ? 0 : i->second.permits;
  }

  bool died_for_me() const {
    auto& h = me();
    std::lock_guard guard{mtx_};
    auto i = held_.find(&h);
    return i != held_.end() && i->second.died;
  }

  void holder_ended(holder& h, const exit_info&) override {
    std::lock_guard guard{mtx_};
    auto i = held_.find(&h);
    if (i == held_.end())
      return;
    auto n = i->second.permits;
    held_.erase(i);
    if (n == 0)
      return;
    value_ += n;
    orphans_ += n;
    cv_.notify_all();
  }

private:
  struct entry {
    std::size_t permits = 0;
    bool died = false; // the last permit taken was an orphan
  };

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::size_t value_;
  const std::size_t bound_;
  const bool bounded_;
  std::size_t orphans_ = 0; // free permits returned by ended holders
  std::size_t signals_ = 0; // free permits released by non-holders
  std::unordered_map<const holder*, entry> held_;
};

} // namespace detail

semaphore::semaphore(runtime& rt, std::size_t value, sync_options opts)
  : semaphore(rt, value, std::move(opts), false) {}

semaphore::semaphore(runtime& rt, std::size_t value, sync_options opts,
                     bool bounded)
  : core_(std::make_shared<detail::semaphore_core>(rt, value, bounded, opts)) {
  core_->enroll();
}

bool semaphore::acquire() {
  return core_->acquire(ext::deadline::forever());
}

bool semaphore::acquire(bool block) {
  return core_->acquire(ext::deadline::blocking(block));
}

bool semaphore::acquire(std::chrono::nanoseconds timeout) {
  return core_->acquire(ext::deadline::after(timeout, "semaphore::acquire"));
}

void semaphore::release(std::size_t n) {
  core_->release(n);
}

std::size_t semaphore::get_value() const {
  return core_->value();
}

std::size_t semaphore::held() const {
  return core_->held_by_me();
}

bool semaphore::previous_owner_died() const {
  return core_->died_for_me();
}

std::string semaphore::name() const {
  return core_->name();
}

} // namespace troupe
