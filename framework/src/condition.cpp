// troupe::condition: FIFO waiter slots under a mutex, over a lock core.

#include "troupe/condition.hpp"

#include <list>

#include "troupe/detail/sync_core.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace detail {

class condition_core {
public:
  condition_core(std::shared_ptr<lock_core> lk, const sync_options& opts)
    : lock(std::move(lk)), label_("condition over " + lock->label()),
      warn_after_(0) {
    // Waiting long for a notification is a condition's job: only taking
    // the lock reports slow waits.
    static_cast<void>(opts);
  }

  const std::shared_ptr<lock_core> lock;

  bool wait(ext::deadline until) {
    if (!lock->held_by_me())
      throw state_error("condition::wait: the caller does not hold "
                        + lock->label() + " (acquire it first)");
    waiter self;
    // Enqueue before releasing the lock, so that a notify made right after
    // our release finds us.
    {
      std::lock_guard guard{mtx_};
      waiters_.push_back(&self);
    }
    auto depth = lock->release_all("condition::wait");
    bool notified = false;
    try {
      stop_callback on_stop{[this] {
        std::lock_guard guard{mtx_};
        cv_.notify_all();
      }};
      std::unique_lock guard{mtx_};
      notified = wait_reporting(
        guard, cv_, until, warn_after_, label_,
        [&self] { return self.notified; },
        [] { return std::string{"not notified"}; });
      if (!notified)
        std::erase(waiters_, &self);
    } catch (...) {
      // Asked to stop: leave without the lock; pass a notification we got
      // on to another waiter rather than lose it.
      std::lock_guard guard{mtx_};
      if (self.notified)
        notify_locked(1);
      else
        std::erase(waiters_, &self);
      throw;
    }
    lock->acquire_restore(depth);
    return notified;
  }

  void notify(std::size_t n) {
    check_held("notify");
    std::lock_guard guard{mtx_};
    notify_locked(n);
  }

  void notify_all() {
    check_held("notify_all");
    std::lock_guard guard{mtx_};
    notify_locked(waiters_.size());
  }

private:
  struct waiter {
    bool notified = false; // (mtx_)
  };

  void check_held(const char* what) const {
    if (!lock->held_by_me())
      throw state_error(std::string{"condition::"} + what
                        + ": the caller does not hold " + lock->label());
  }

  void notify_locked(std::size_t n) {
    auto woke = false;
    while (n > 0 && !waiters_.empty()) {
      waiters_.front()->notified = true;
      waiters_.pop_front();
      --n;
      woke = true;
    }
    if (woke)
      cv_.notify_all();
  }

  std::string label_;
  std::chrono::milliseconds warn_after_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::list<waiter*> waiters_; // oldest first
};

} // namespace detail

namespace {

std::shared_ptr<detail::condition_core>
make_condition(const std::shared_ptr<detail::lock_core>& lk,
               const sync_options& opts) {
  return std::make_shared<detail::condition_core>(lk, opts);
}

} // namespace

condition::condition(runtime& rt, sync_options opts)
  : condition(rt, rlock{rt, opts}, opts) {}

condition::condition(runtime&, const troupe::lock& l, sync_options opts)
  : core_(make_condition(l.core(), opts)) {}

condition::condition(runtime&, const rlock& l, sync_options opts)
  : core_(make_condition(l.core(), opts)) {}

bool condition::acquire() {
  return core_->lock->acquire(ext::deadline::forever());
}

bool condition::acquire(bool block) {
  return core_->lock->acquire(ext::deadline::blocking(block));
}

bool condition::acquire(std::chrono::nanoseconds timeout) {
  return core_->lock->acquire(
    ext::deadline::after(timeout, "condition::acquire"));
}

void condition::release() {
  core_->lock->release("condition::release");
}

void condition::wait() {
  core_->wait(ext::deadline::forever());
}

bool condition::wait(std::chrono::nanoseconds timeout) {
  return core_->wait(ext::deadline::after(timeout, "condition::wait"));
}

void condition::notify(std::size_t n) {
  core_->notify(n);
}

void condition::notify_all() {
  core_->notify_all();
}

bool condition::previous_owner_died() const {
  return core_->lock->previous_owner_died();
}

} // namespace troupe
