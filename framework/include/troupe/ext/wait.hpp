#pragma once

/// Blocking waits for modules: condition-variable waits that wake when the
/// calling process is asked to stop, and a wait for a process's end that
/// does not.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "troupe/ext/deadline.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/fwd.hpp"

namespace troupe::ext {

/// Blocks until `pred()` holds, as `cv.wait(lk, pred)` does, but also
/// wakes when the calling process is asked to stop, and then throws
/// `troupe::terminated`, as the framework's own blocking calls do.
///
/// `lk` must own its mutex, and whoever makes `pred()` true changes the
/// state under that mutex and then notifies `cv` (the usual discipline).
/// `pred` is called with the mutex held: first, before anything else (so a
/// wait whose condition already holds returns even after a stop request,
/// as joining an ended process never throws), then after every wake-up.
/// Returns, or throws, with `lk` owning the mutex again; the mutex is
/// released while it sleeps and around the registration of its stop
/// callback (see `ext::stop_callback`). What `pred` throws propagates.
///
/// On the main process and threads troupe does not run, it is
/// `cv.wait(lk, pred)`: nobody can ask them to stop.
template <class Predicate>
void wait(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
          Predicate pred);

/// As `wait`, giving up at `until`: returns `pred()` as it was when the
/// deadline passed (true if it holds). Throws `terminated` as `wait` does.
template <class Predicate>
bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                std::chrono::steady_clock::time_point until, Predicate pred);

/// As `wait_until` with a `deadline` (`forever()` waits as `wait` does,
/// `poll()` only checks `pred()` and for a stop request).
template <class Predicate>
bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                deadline until, Predicate pred);

/// As `wait_until(lk, cv, deadline::after(timeout), pred)`: a timeout past
/// the clock's range (`hours::max()`) waits without limit; a negative one
/// throws `value_error`.
template <class Rep, class Period, class Predicate>
bool wait_for(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
              std::chrono::duration<Rep, Period> timeout, Predicate pred) {
  return wait_until(lk, cv, deadline::after(timeout), std::move(pred));
}

/// Blocks until `p` has ended and its `at_end` exit hooks have run, as
/// `p.join()` does, but is not woken by a stop request on the calling
/// process: for destructors and shutdown paths that must see a process
/// they stopped end, even while their own process unwinds from
/// `terminated`. It is bounded by `p`'s end only, so call it on a process
/// that was asked to stop (whose terminate grace then bounds it) or will
/// end by itself. Throws `state_error` if `p` was never started, and when
/// `p` is the calling process.
void await_end(const process& p);

/// As `await_end`, giving up at `until`; returns whether `p` ended.
bool await_end_until(const process& p,
                     std::chrono::steady_clock::time_point until);

// -- implementation -----------------------------------------------------------

namespace impl {

template <class Predicate>
bool wait(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
          deadline until, Predicate& pred) {
  if (pred())
    return true;
  if (stop_requested())
    throw_terminated();
  // The callback may run at once in its constructor, and its destructor
  // waits for a running callback; both take the mutex, so neither may
  // happen while `lk` holds it. Destroyed in reverse order: unlock, then
  // deregister, then lock again, however the loop ends.
  struct relock {
    std::unique_lock<std::mutex>& lk;
    ~relock() {
      if (!lk.owns_lock())
        lk.lock();
    }
  } relock_last{lk};
  auto* mtx = lk.mutex();
  lk.unlock();
  stop_callback wake{[mtx, &cv] {
    // A moment under the mutex: the waiter is then either before its check
    // of `stop_requested()` (and sees it) or asleep (and is notified).
    { std::lock_guard guard{*mtx}; }
    cv.notify_all();
  }};
  struct unlock {
    std::unique_lock<std::mutex>& lk;
    ~unlock() {
      if (lk.owns_lock())
        lk.unlock();
    }
  } unlock_first{lk};
  lk.lock();
  for (;;) {
    if (pred())
      return true;
    if (stop_requested())
      throw_terminated();
    if (!park(lk, cv, until))
      return pred();
  }
}

} // namespace impl

template <class Predicate>
void wait(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
          Predicate pred) {
  impl::wait(lk, cv, deadline::forever(), pred);
}

template <class Predicate>
bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                std::chrono::steady_clock::time_point until, Predicate pred) {
  return impl::wait(lk, cv, deadline::at(until), pred);
}

template <class Predicate>
bool wait_until(std::unique_lock<std::mutex>& lk, std::condition_variable& cv,
                deadline until, Predicate pred) {
  return impl::wait(lk, cv, until, pred);
}

} // namespace troupe::ext
