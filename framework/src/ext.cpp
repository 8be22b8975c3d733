// The extension surface (troupe/ext/) over the process state it hides.

#include <mutex>
#include <string>
#include <utility>

#include "troupe/detail/process_state.hpp"
#include "troupe/error.hpp"
#include "troupe/ext/exit_hook.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/ext/wait.hpp"
#include "troupe/process.hpp"
#include "troupe/this_process.hpp"

namespace troupe::ext {

// -- stop requests ------------------------------------------------------------

bool stop_requested() noexcept {
  return detail::stop_requested();
}

void throw_terminated() {
  detail::throw_terminated();
}

stop_callback::stop_callback(unique_function<void()> fn) : fn_(std::move(fn)) {
  auto* st = detail::current_state_ptr();
  if (st == nullptr || st->type == detail::process_state::kind::main)
    return; // nobody can ask the main process or a foreign thread to stop
  {
    std::lock_guard guard{st->stop_mtx_};
    // A stop request sets the signal, then runs the callbacks under this
    // lock. Unset here: that run comes after this registration and finds
    // it. Set: that run may be over, so the callback runs now, and only
    // here, so that it runs once.
    if (st->stop_signal.load() == 0) {
      st_ = st->shared_from_this();
      id_ = ++st->next_stop_callback_;
      st->stop_callbacks_.emplace_back(id_, &fn_);
      return;
    }
  }
  fn_();
}

stop_callback::~stop_callback() {
  if (!st_)
    return;
  // Waits for a running callback: the stop request runs them holding it.
  std::lock_guard guard{st_->stop_mtx_};
  std::erase_if(st_->stop_callbacks_,
                [this](const auto& entry) { return entry.first == id_; });
}

// -- exit hooks ---------------------------------------------------------------

namespace {

const std::shared_ptr<detail::process_state>& state_of(const process& p,
                                                       const char* what) {
  const auto& st = detail::process_access::state(p);
  if (!st)
    throw state_error(std::string{what} + ": an empty process handle");
  return st;
}

} // namespace

void on_exit(const process& p, exit_hook fn, hook_timing when) {
  const auto& st = state_of(p, "on_exit");
  if (when == hook_timing::at_end) {
    st->on_exit(std::move(fn));
    return;
  }
  // The state outlives its own exit hooks' calls (`finish` holds it), and
  // a killed thread still inside holds it until it leaves.
  st->on_exit([key = st.get(),
               fn = std::move(fn)](const exit_info& info) mutable {
    detail::after_thread_left(*key, [fn = std::move(fn), code = info.exitcode,
                                     why = std::string{info.reason}]() mutable {
      fn(exit_info{code, why});
    });
  });
}

void on_ready(const process& p, unique_function<void()> fn) {
  const auto& st = state_of(p, "on_ready");
  {
    std::lock_guard guard{st->mtx};
    if (!st->ready) {
      if (st->ready_hook)
        st->ready_hook = [first = std::move(st->ready_hook),
                          then = std::move(fn)]() mutable {
          first();
          then();
        };
      else
        st->ready_hook = std::move(fn);
      return;
    }
  }
  fn();
}

// -- waiting for an end -------------------------------------------------------

namespace {

detail::process_state& awaitable(const process& p) {
  const auto& st = state_of(p, "await_end");
  {
    std::lock_guard guard{st->mtx};
    if (st->ph == detail::process_state::phase::initial)
      throw state_error("await_end: process '" + st->name
                        + "' was never started");
  }
  if (detail::current_state_ptr() == st.get())
    throw state_error("await_end: a process cannot wait for its own end");
  return *st;
}

} // namespace

void await_end(const process& p) {
  awaitable(p).await_end(deadline::forever());
}

bool await_end_until(const process& p,
                     std::chrono::steady_clock::time_point until) {
  return awaitable(p).await_end(deadline::at(until));
}

} // namespace troupe::ext
