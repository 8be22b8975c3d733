// How pool calls wait (a polite spin, the one sleeping wait) and the
// outcome every async result shares (`result_core`).

#include "troupe/ext/spin.hpp"
#include "troupe/ext/wait.hpp"
#include "troupe/pool/detail/pool_core.hpp"

namespace troupe::pooled::detail {

// -- waiting ------------------------------------------------------------------

void pool_spin_pause(unsigned step) noexcept {
  if ((step & 63U) == 63U) {
    std::this_thread::yield();
    return;
  }
  ext::cpu_relax();
}

bool pool_wait(std::mutex& mtx, std::condition_variable& cv,
               ext::deadline until, const std::function<bool()>& done,
               stop_mode mode) {
  std::unique_lock lk{mtx};
  if (mode == stop_mode::interruptible)
    return ext::wait_until(lk, cv, until, done);
  while (!done())
    if (!ext::park(lk, cv, until))
      return done();
  return true;
}

// -- result_core --------------------------------------------------------------

bool result_core::wait_until(ext::deadline until) {
  return wait_until(until, std::function<bool()>{});
}

bool result_core::wait_until(ext::deadline until,
                             const std::function<bool()>& pred) {
  return wait_for(
    until,
    [&] {
      return state_.load(std::memory_order_seq_cst) != 0 || (pred && pred());
    },
    stop_mode::interruptible);
}

bool result_core::wait_until_only(const std::function<bool()>& pred) {
  return wait_for(ext::deadline::forever(), pred, stop_mode::uninterruptible);
}

bool result_core::wait_for(ext::deadline until,
                           const std::function<bool()>& done, stop_mode mode) {
  if (done())
    return true;
  // A tiny task's result usually comes within microseconds; a sleeping
  // thread takes tens of them to wake on this kind of machine.
  auto spin_end
    = min(until, ext::deadline::at(std::chrono::steady_clock::now()
                                   + std::chrono::microseconds{30}));
  for (unsigned i = 1;; ++i) {
    if (done())
      return true;
    if ((i & 63U) == 0 && spin_end.passed())
      break;
    pool_spin_pause(i);
  }
  // Counted before `done()` is checked under the lock, so that a publisher
  // that sees no waiter has published before that check.
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  struct uncount {
    std::atomic<int>& n;
    ~uncount() {
      n.fetch_sub(1, std::memory_order_seq_cst);
    }
  } guard{waiters_};
  return pool_wait(mtx_, cv_, until, done, mode);
}

void result_core::publish(bool ok) noexcept {
  state_.store(ok ? 1 : 2, std::memory_order_seq_cst);
  poke();
}

void result_core::poke() noexcept {
  if (waiters_.load(std::memory_order_seq_cst) == 0)
    return;
  { std::lock_guard guard{mtx_}; }
  cv_.notify_all();
}

} // namespace troupe::pooled::detail
