// troupe::lock and troupe::rlock: one atomic word per lock.

#include "troupe/lock.hpp"

#include <thread>

#include "troupe/detail/spin.hpp"
#include "troupe/detail/sync_core.hpp"
#include "troupe/error.hpp"
#include "troupe/process.hpp"
#include "troupe/rlock.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace detail {

namespace {

/// Spins before parking: a lock is usually held for a few nanoseconds, and
/// a futex sleep and wake-up costs microseconds on both sides.
constexpr int spin_rounds = 200;

std::uint64_t bits_of(const holder& h) noexcept {
  return reinterpret_cast<std::uintptr_t>(&h);
}

const void* holder_in(std::uint64_t w) noexcept {
  return reinterpret_cast<const void*>(
    static_cast<std::uintptr_t>(w & lock_core::holder_mask));
}

} // namespace

lock_core::lock_core(runtime& rt, bool recursive, const sync_options& opts)
  : owned_resource(rt, recursive ? "rlock" : "lock", opts),
    recursive_(recursive) {}

lock_core::~lock_core() = default;

bool lock_core::locked() const noexcept {
  if ((word_.load(std::memory_order_acquire) & holder_mask) != 0)
    return true;
  // Held in another OS process that shares the lock?
  auto* level = level_.load(std::memory_order_acquire);
  return level != nullptr && level->held();
}

bool lock_core::held_by_me() const {
  return (word_.load(std::memory_order_acquire) & holder_mask) == bits_of(me());
}

bool lock_core::previous_owner_died() const {
  auto w = word_.load(std::memory_order_acquire);
  return (w & holder_mask) == bits_of(me())
         && ((w & died_bit) != 0
             || level_died_.load(std::memory_order_relaxed));
}

std::shared_ptr<process_state> lock_core::owner() const {
  return state_of_holder(holder_in(word_.load(std::memory_order_acquire)));
}

bool lock_core::try_take(holder& h, std::uint64_t depth_bits, bool under_lock) {
  auto w = word_.load(std::memory_order_relaxed);
  std::uint64_t desired = 0;
  do {
    if ((w & holder_mask) != 0)
      return false;
    desired = bits_of(h) | depth_bits | (w & died_bit);
  } while (!word_.compare_exchange_weak(w, desired, std::memory_order_seq_cst,
                                        std::memory_order_relaxed));
  // Against the exit hook of our own process (declared killed while this
  // thread still runs): it marks us dead, then scans. Either it saw our
  // word, or we see its mark (both sequentially consistent).
  if (h.dead.load(std::memory_order_seq_cst)) {
    auto expected = desired;
    if (word_.compare_exchange_strong(expected, died_bit)
        && waiters_.load() > 0) {
      if (under_lock)
        cv_.notify_one();
      else
        wake_one();
    }
    throw_terminated();
  }
  return true;
}

bool lock_core::acquire(ext::deadline until) {
  auto& h = me();
  auto w = word_.load(std::memory_order_relaxed);
  if (recursive_ && (w & holder_mask) == bits_of(h)) {
    // Only the holder changes the depth, and a compare-and-swap keeps it
    // exact against the exit hook.
    while ((w & holder_mask) == bits_of(h)) {
      if (((w & depth_mask) >> depth_shift) >= max_depth)
        throw value_error(label() + ": acquired more than "
                          + std::to_string(max_depth) + " times");
      if (word_.compare_exchange_weak(w, w + depth_one,
                                      std::memory_order_acquire,
                                      std::memory_order_relaxed))
        return true;
    }
  }
  if (try_take(h, depth_one, false))
    return take_level(h, until);
  if (until.is_poll())
    return false;
  return acquire_slow(h, until, depth_one) && take_level(h, until);
}

bool lock_core::take_level(holder& h, ext::deadline until) {
  auto* level = level_.load(std::memory_order_acquire);
  if (level == nullptr)
    return true;
  bool died = false;
  bool took = false;
  try {
    took = level->acquire(until, died);
  } catch (...) {
    give_back_word(h);
    throw;
  }
  if (!took) {
    give_back_word(h);
    return false;
  }
  // Mark the holding as holding the level too, unless the exit hook of our
  // own process (declared killed meanwhile) took the word away.
  auto w = word_.load(std::memory_order_relaxed);
  while ((w & holder_mask) == bits_of(h)) {
    if (word_.compare_exchange_weak(w, w | level_bit, std::memory_order_seq_cst,
                                    std::memory_order_relaxed)) {
      if (died)
        level_died_.store(true, std::memory_order_relaxed);
      return true;
    }
  }
  level->release(true);
  throw_terminated();
}

void lock_core::drop_level(bool holder_ended) noexcept {
  if (auto* level = level_.load(std::memory_order_acquire))
    level->release(holder_ended);
}

void lock_core::give_back_word(holder& h) noexcept {
  auto w = word_.load(std::memory_order_relaxed);
  while ((w & holder_mask) == bits_of(h)) {
    if (word_.compare_exchange_weak(w, w & died_bit, std::memory_order_seq_cst,
                                    std::memory_order_relaxed)) {
      if (waiters_.load(std::memory_order_seq_cst) > 0)
        wake_one();
      return;
    }
  }
}

bool lock_core::acquire_slow(holder& h, ext::deadline until,
                             std::uint64_t depth_bits) {
  if ((word_.load(std::memory_order_relaxed) & holder_mask) != bits_of(h)) {
    for (int i = 0; i < spin_rounds; ++i) {
      cpu_relax();
      if ((word_.load(std::memory_order_relaxed) & holder_mask) == 0
          && try_take(h, depth_bits, false))
        return true;
    }
  }
  if (stop_requested())
    throw_terminated();
  std::optional<wait_edge> edge;
  if (until.is_forever())
    edge.emplace(h, *this); // throws deadlock_error for a cycle
  stop_callback on_stop{[this] {
    std::lock_guard guard{mtx_};
    cv_.notify_all();
  }};
  std::unique_lock guard{mtx_};
  waiters_.fetch_add(1);
  struct leave {
    std::atomic<int>& n;
    ~leave() {
      n.fetch_sub(1);
    }
  } on_leave{waiters_};
  return wait_reporting(
    guard, cv_, until, warn_after(), label(),
    [&] { return try_take(h, depth_bits, true); },
    [this] {
      return "held by "
             + describe_holder(
               holder_in(word_.load(std::memory_order_acquire)));
    });
}

void lock_core::wake_one() {
  std::lock_guard guard{mtx_};
  cv_.notify_one();
}

void lock_core::release(const char* what) {
  auto& h = me();
  auto w = word_.load(std::memory_order_relaxed);
  std::uint64_t desired = 0;
  do {
    if ((w & holder_mask) != bits_of(h)) {
      // A process that was asked to stop, or declared killed, may have lost
      // the lock already (a condition's wait, the exit hook): unwinding
      // must not fail.
      if (h.dead.load() || stop_requested())
        return;
      fail_release(h, w, what);
    }
    desired = ((w & depth_mask) >> depth_shift) > 1 ? w - depth_one : 0;
    if (desired == 0)
      level_died_.store(false, std::memory_order_relaxed);
  } while (!word_.compare_exchange_weak(w, desired, std::memory_order_seq_cst,
                                        std::memory_order_relaxed));
  if (desired == 0 && (w & level_bit) != 0)
    drop_level(false);
  if (desired == 0 && waiters_.load(std::memory_order_seq_cst) > 0)
    wake_one();
}

void lock_core::fail_release(holder& h, std::uint64_t w, const char* what) {
  if ((w & holder_mask) == 0)
    throw value_error(std::string{what} + ": " + label()
                      + " is not held (released too many times)");
  throw value_error(std::string{what} + ": " + label() + " is held by "
                    + describe_holder(holder_in(w)) + ", not by the caller, "
                    + h.who()
                    + (recursive_ ? "" : "; only the holder may release it"));
}

std::uint32_t lock_core::release_all(const char* what) {
  auto& h = me();
  auto w = word_.load(std::memory_order_relaxed);
  do {
    if ((w & holder_mask) != bits_of(h))
      throw state_error(std::string{what} + ": the caller, " + h.who()
                        + ", does not hold " + label());
    level_died_.store(false, std::memory_order_relaxed);
  } while (!word_.compare_exchange_weak(w, 0, std::memory_order_seq_cst,
                                        std::memory_order_relaxed));
  if ((w & level_bit) != 0)
    drop_level(false);
  if (waiters_.load(std::memory_order_seq_cst) > 0)
    wake_one();
  return static_cast<std::uint32_t>((w & depth_mask) >> depth_shift);
}

void lock_core::acquire_restore(std::uint32_t depth) {
  auto& h = me();
  auto bits = std::uint64_t{depth} << depth_shift;
  if (!try_take(h, bits, false))
    acquire_slow(h, ext::deadline::forever(), bits);
  take_level(h, ext::deadline::forever());
}

void lock_core::holder_ended(holder& h, const exit_info&) {
  auto w = word_.load();
  while ((w & holder_mask) == bits_of(h)) {
    if (word_.compare_exchange_weak(w, died_bit)) {
      if ((w & level_bit) != 0)
        drop_level(true);
      if (waiters_.load() > 0)
        wake_one();
      return;
    }
  }
}

std::shared_ptr<ext::process_level>
lock_core::share_across_processes(ext::process_level_factory& make) {
  std::lock_guard guard{install_mtx_};
  if (level_owner_)
    return level_owner_;
  // Hold the word while the level appears, so that no hold taken without
  // the level overlaps one taken with it.
  auto& h = me();
  bool mine = held_by_me();
  if (!mine)
    acquire(ext::deadline::forever()); // no level yet: the word only
  struct give_back {
    lock_core& core;
    bool armed;
    ~give_back() {
      if (armed)
        core.release("share_across_processes");
    }
  } on_exit{*this, !mine};
  auto level = make();
  if (!level)
    throw value_error(label()
                      + ": share_across_processes: the factory made "
                        "no level");
  bool died = false;
  if (!level->acquire(ext::deadline::forever(), died))
    throw state_error(label() + ": a new process level could not be taken");
  auto w = word_.load(std::memory_order_relaxed);
  for (;;) {
    if ((w & holder_mask) != bits_of(h)) { // our exit hook took the word
      level->release(true);
      on_exit.armed = false;
      throw_terminated();
    }
    if (word_.compare_exchange_weak(w, w | level_bit, std::memory_order_seq_cst,
                                    std::memory_order_relaxed))
      break;
  }
  level_owner_ = level;
  level_.store(level.get(), std::memory_order_release);
  return level_owner_;
}

void lock_core::set_level(std::shared_ptr<ext::process_level> level) noexcept {
  level_.store(level.get(), std::memory_order_release);
  level_owner_ = std::move(level);
}

namespace {

std::shared_ptr<lock_core> make_lock_core(runtime& rt, bool recursive,
                                          const sync_options& opts) {
  auto core = std::make_shared<lock_core>(rt, recursive, opts);
  core->enroll();
  return core;
}

std::shared_ptr<lock_core>
make_level_core(runtime& rt, bool recursive, const sync_options& opts,
                std::shared_ptr<ext::process_level> level) {
  if (!level)
    throw value_error(std::string{recursive ? "rlock" : "lock"}
                      + ": lock_over: no process level given");
  auto core = std::make_shared<lock_core>(rt, recursive, opts);
  core->set_level(std::move(level));
  core->enroll();
  return core;
}

std::optional<process> owner_process(const lock_core& core) {
  if (auto st = core.owner())
    return detail::process_access::make(std::move(st));
  return std::nullopt;
}

} // namespace

struct lock_access {
  static owned_lock make_lock(std::shared_ptr<lock_core> core) {
    return owned_lock{std::move(core)};
  }
  static rlock make_rlock(std::shared_ptr<lock_core> core) {
    return rlock{std::move(core)};
  }
};

} // namespace detail

// -- shared across OS processes
// ------------------------------------------------

namespace ext {

std::shared_ptr<process_level>
share_across_processes(const owned_lock& l, process_level_factory make) {
  return l.core()->share_across_processes(make);
}

std::shared_ptr<process_level>
share_across_processes(const rlock& l, process_level_factory make) {
  return l.core()->share_across_processes(make);
}

owned_lock lock_over(runtime& rt, std::shared_ptr<process_level> level,
                     sync_options opts) {
  return detail::lock_access::make_lock(
    detail::make_level_core(rt, false, opts, std::move(level)));
}

rlock rlock_over(runtime& rt, std::shared_ptr<process_level> level,
                 sync_options opts) {
  return detail::lock_access::make_rlock(
    detail::make_level_core(rt, true, opts, std::move(level)));
}

} // namespace ext

// -- lock ---------------------------------------------------------------------

owned_lock::owned_lock(runtime& rt, sync_options opts)
  : core_(detail::make_lock_core(rt, false, opts)) {}

bool owned_lock::acquire() {
  return core_->acquire(ext::deadline::forever());
}

bool owned_lock::acquire(bool block) {
  return core_->acquire(ext::deadline::blocking(block));
}

bool owned_lock::acquire(std::chrono::nanoseconds timeout) {
  return core_->acquire(ext::deadline::after(timeout, "lock::acquire"));
}

void owned_lock::release() {
  core_->release("lock::release");
}

bool owned_lock::locked() const {
  return core_->locked();
}

bool owned_lock::previous_owner_died() const {
  return core_->previous_owner_died();
}

std::optional<process> owned_lock::owner() const {
  return detail::owner_process(*core_);
}

std::string owned_lock::name() const {
  return core_->name();
}

// -- rlock --------------------------------------------------------------------

rlock::rlock(runtime& rt, sync_options opts)
  : core_(detail::make_lock_core(rt, true, opts)) {}

bool rlock::acquire() {
  return core_->acquire(ext::deadline::forever());
}

bool rlock::acquire(bool block) {
  return core_->acquire(ext::deadline::blocking(block));
}

bool rlock::acquire(std::chrono::nanoseconds timeout) {
  return core_->acquire(ext::deadline::after(timeout, "rlock::acquire"));
}

void rlock::release() {
  core_->release("rlock::release");
}

bool rlock::locked() const {
  return core_->locked();
}

bool rlock::is_owned() const {
  return core_->held_by_me();
}

std::uint32_t rlock::depth() const {
  if (!core_->held_by_me())
    return 0;
  return static_cast<std::uint32_t>(
    (core_->word() & detail::lock_core::depth_mask)
    >> detail::lock_core::depth_shift);
}

bool rlock::previous_owner_died() const {
  return core_->previous_owner_died();
}

std::optional<process> rlock::owner() const {
  return detail::owner_process(*core_);
}

std::string rlock::name() const {
  return core_->name();
}

} // namespace troupe
