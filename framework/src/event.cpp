// troupe::event (event.hpp): a flag under a mutex, waited for with a stop
// callback so that a waiting process still obeys terminate().

#include "troupe/event.hpp"

#include <mutex>

namespace troupe {

namespace detail {

void event_state::set() {
  std::lock_guard guard{mtx};
  if (flag_.load(std::memory_order_relaxed))
    return;
  flag_.store(true, std::memory_order_release);
  changed();
  if (waiters_ != 0)
    cv_.notify_all();
  wake_watchers();
}

void event_state::clear() {
  std::lock_guard guard{mtx};
  flag_.store(false, std::memory_order_release);
}

void event_state::wake_all() {
  std::lock_guard guard{mtx};
  cv_.notify_all();
}

bool event_state::wait(const ext::deadline& w) {
  if (is_set())
    return true;
  if (w.is_poll())
    return false;
  stop_callback cb{[this] { wake_all(); }};
  std::unique_lock lk{mtx};
  bool spun = false;
  while (!flag_.load(std::memory_order_relaxed))
    if (!wait_once(lk, cv_, waiters_, w, this, &spun))
      return flag_.load(std::memory_order_relaxed);
  return true;
}

} // namespace detail

event::event(runtime& rt) : state_(std::make_shared<detail::event_state>()) {
  static_cast<void>(rt);
}

void event::set() {
  state_->set();
}

void event::clear() {
  state_->clear();
}

void event::wait() {
  static_cast<void>(state_->wait(ext::deadline::forever()));
}

bool event::wait(std::chrono::nanoseconds timeout) {
  return state_->wait(ext::deadline::after(timeout));
}

} // namespace troupe
