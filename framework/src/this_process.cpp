#include "troupe/this_process.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_cast.hpp>

#include "detail/current.hpp"
#include "detail/process_actor.hpp"
#include "detail/runtime_impl.hpp"

namespace troupe {

process current_process() {
  auto st = detail::current_state();
  if (!st)
    throw state_error("current_process(): no troupe runtime exists");
  return detail::process_access::make(std::move(st));
}

std::optional<process> parent_process() {
  auto st = detail::current_state();
  if (!st || !st->parent)
    return std::nullopt;
  return detail::process_access::make(st->parent);
}

std::vector<process> active_children() {
  std::vector<process> result;
  auto st = detail::current_state();
  if (!st)
    return result;
  for (auto& child : st->rt->active())
    if (child->parent == st)
      result.push_back(detail::process_access::make(child));
  return result;
}

namespace detail {

namespace {

std::string who(const process_state& st) {
  std::lock_guard guard{st.mtx};
  return "process '" + st.name + "' (pid " + std::to_string(st.pid) + ")";
}

} // namespace

bool stop_requested() noexcept {
  auto st = current_state_ptr();
  return st != nullptr && st->stop_signal.load(std::memory_order_relaxed) != 0;
}

void throw_terminated() {
  auto* st = current_state_ptr();
  throw terminated(st != nullptr ? who(*st) + " was asked to stop"
                                 : "asked to stop");
}

caf::blocking_actor* receiving_self() {
  if (stop_requested())
    throw_terminated();
  auto* self = current_self();
  if (self == nullptr)
    throw state_error("this thread has no troupe mailbox: receive inside a "
                      "process or on the thread that created the runtime");
  return self;
}

bool on_exit_signal(const caf::exit_msg& msg) {
  if (!msg.reason)
    return false; // a linked actor ended normally: nothing to do
  if (auto* st = current_state_ptr()) {
    auto sig = msg.reason == caf::exit_reason::kill ? 9 : 15;
    auto prev = 0;
    if (st->stop_signal.compare_exchange_strong(prev, sig))
      st->run_stop_callbacks();
  }
  return true;
}

thread_local caf::strong_actor_ptr tl_last_sender; // NOLINT

void clear_last_sender() noexcept {
  tl_last_sender = nullptr;
}

void note_sender(caf::blocking_actor* self) {
  if (self == nullptr)
    self = current_self();
  auto* element = self->current_mailbox_element();
  tl_last_sender = element != nullptr ? element->sender : nullptr;
}

void reply_message(caf::message msg) {
  auto* self = current_self();
  if (self == nullptr)
    throw state_error("reply(): this thread has no troupe mailbox");
  if (!tl_last_sender)
    return;
  tl_last_sender->enqueue(self->ctrl(), caf::make_message_id(), std::move(msg),
                          self->context());
}

} // namespace detail

namespace this_process {

void checkpoint() {
  if (detail::stop_requested())
    detail::throw_terminated();
}

void exit(int code) {
  throw detail::exit_request{code};
}

void ready() {
  if (auto* st = detail::current_state_ptr())
    st->mark_ready();
}

namespace {

void sleep(ext::deadline until) {
  checkpoint();
  if (detail::current_self() == nullptr) {
    // Nobody can ask this thread to stop; a deadline past the clock's range
    // sleeps in steps the clock can add.
    while (!until.passed())
      std::this_thread::sleep_for(
        std::min(until.remaining(std::chrono::steady_clock::now()),
                 std::chrono::steady_clock::duration{std::chrono::hours{24}}));
    return;
  }
  // An empty receive: only stop requests and exit signals end it early.
  detail::receive_until(until);
}

} // namespace

void sleep_until(std::chrono::steady_clock::time_point deadline) {
  sleep(ext::deadline::at(deadline));
}

void sleep_for(std::chrono::nanoseconds duration) {
  sleep(ext::deadline::after(duration, "sleep_for"));
}

caf::actor sender() {
  return caf::actor_cast<caf::actor>(detail::tl_last_sender);
}

} // namespace this_process

} // namespace troupe
