// The pool's core: per-worker task queues with stealing, submission and
// taking, failing what is pending, and the pool's lifecycle (close,
// terminate, join).

#include "troupe/pool/detail/pool_core.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/ext/describe.hpp"
#include "troupe/ext/stop.hpp"
#include "troupe/pool/error.hpp"
#include "troupe/this_process.hpp"

#include "fleet.hpp"

namespace troupe::pooled::detail {

// -- slots --------------------------------------------------------------------

struct pool_core::slot_queue {
  alignas(64) std::mutex mtx;
  pool_task* head = nullptr; // (mtx)
  pool_task* tail = nullptr; // (mtx)
  std::atomic<std::size_t> size{0};
};

// -- pool_core ----------------------------------------------------------------

pool_core::pool_core(pool_settings s)
  : settings_(std::move(s)),
    callbacks_(std::make_shared<executor_thread>("pool-callbacks")) {
  slots_.reserve(settings_.processes);
  for (std::size_t i = 0; i < settings_.processes; ++i)
    slots_.push_back(std::make_unique<slot_queue>());
}

pool_core::~pool_core() {
  fleet_.reset();
  callbacks_->stop();
  // Tasks nobody ran (the pool was never joined): drop them.
  for (auto& q : slots_) {
    auto* t = q->head;
    while (t != nullptr)
      delete std::exchange(t, t->next);
  }
}

void pool_core::report_callback_error(std::exception_ptr e) const noexcept {
  if (settings_.on_callback_error) {
    try {
      settings_.on_callback_error(e);
      return;
    } catch (...) {
      e = std::current_exception();
    }
  }
  std::cerr << "troupe: a callback of pool '" << settings_.name
            << "' threw: " << ext::describe_exception(e) << '\n';
}

// -- submission ---------------------------------------------------------------

void pool_core::check_running(bool resumed) const {
  switch (phase()) {
    case pool_phase::running:
      return;
    case pool_phase::closed:
      if (resumed && !joining_.load())
        return;
      break;
    case pool_phase::broken: {
      std::lock_guard guard{records_mtx_};
      throw pool_broken("pool '" + settings_.name
                        + "' is broken: " + broken_reason_);
    }
    case pool_phase::terminating:
      break;
  }
  throw value_error("pool not running");
}

void pool_core::check_isolated_callable(bool is_entry) const {
  if (isolated() && !is_entry)
    throw value_error(
      "pool '" + settings_.name
      + "' runs its tasks in OS processes (isolation::os_process), where "
        "only a registered entry point can run: pass troupe::entry<f> "
        "(with TROUPE_ENTRY(f)), not a lambda or function object");
}

void pool_core::register_feed(imap_drain* feed) {
  std::lock_guard guard{feeds_mtx_};
  feeds_.push_back(feed);
}

void pool_core::unregister_feed(imap_drain* feed) {
  std::lock_guard guard{feeds_mtx_};
  std::erase(feeds_, feed);
}

void pool_core::submit(pool_task* task, bool resumed) {
  std::vector<pool_task*> one{task};
  submit(one, resumed);
}

void pool_core::submit(std::vector<pool_task*>& tasks, bool resumed) {
  auto n = tasks.size();
  if (n == 0)
    return;
  // Counted before the check, so that a join() that saw no outstanding
  // task cannot miss one that passed the check.
  outstanding_.fetch_add(n, std::memory_order_seq_cst);
  try {
    check_running(resumed);
  } catch (...) {
    for (auto* t : tasks)
      delete t;
    tasks.clear();
    if (outstanding_.fetch_sub(n, std::memory_order_seq_cst) == n)
      wake_idle();
    throw;
  }
  auto slots = slots_.size();
  auto start = round_robin_.fetch_add(n, std::memory_order_relaxed);
  // Contiguous groups, one lock per slot.
  auto per = (n + slots - 1) / slots;
  for (std::size_t g = 0; g * per < n; ++g) {
    auto& q = *slots_[(start + g) % slots];
    auto b = g * per;
    auto e = std::min(n, b + per);
    for (auto i = b; i + 1 < e; ++i)
      tasks[i]->next = tasks[i + 1];
    tasks[e - 1]->next = nullptr;
    std::lock_guard guard{q.mtx};
    if (q.tail != nullptr)
      q.tail->next = tasks[b];
    else
      q.head = tasks[b];
    q.tail = tasks[e - 1];
    q.size.fetch_add(e - b, std::memory_order_relaxed);
  }
  tasks.clear();
  queued_.fetch_add(n, std::memory_order_seq_cst);
  wake_workers(n);
  // A terminate() that drained the queues before these tasks arrived.
  if (auto p = phase(); p == pool_phase::terminating || p == pool_phase::broken)
    drain_queues(stop_error());
}

void pool_core::wake_workers(std::size_t n) noexcept {
  if (parked_.load(std::memory_order_seq_cst) == 0)
    return;
  { std::lock_guard guard{park_mtx_}; }
  if (n > 1)
    park_cv_.notify_all();
  else
    park_cv_.notify_one();
}

void pool_core::wake_idle() noexcept {
  { std::lock_guard guard{idle_mtx_}; }
  idle_cv_.notify_all();
  { std::lock_guard guard{park_mtx_}; }
  park_cv_.notify_all();
}

// -- taking -------------------------------------------------------------------

pool_task* pool_core::pop(std::size_t slot) noexcept {
  auto& q = *slots_[slot];
  if (q.size.load(std::memory_order_relaxed) == 0)
    return nullptr;
  pool_task* t = nullptr;
  {
    std::lock_guard guard{q.mtx};
    t = q.head;
    if (t == nullptr)
      return nullptr;
    q.head = t->next;
    if (q.head == nullptr)
      q.tail = nullptr;
    q.size.fetch_sub(1, std::memory_order_relaxed);
  }
  t->next = nullptr;
  queued_.fetch_sub(1, std::memory_order_relaxed);
  return t;
}

pool_task* pool_core::steal(std::size_t slot) noexcept {
  auto n = slots_.size();
  for (std::size_t k = 1; k < n; ++k)
    if (auto* t = pop((slot + k) % n))
      return t;
  return nullptr;
}

void pool_core::push_front(std::size_t slot, pool_task* t) {
  auto& q = *slots_[slot % slots_.size()];
  {
    std::lock_guard guard{q.mtx};
    t->next = q.head;
    q.head = t;
    if (q.tail == nullptr)
      q.tail = t;
    q.size.fetch_add(1, std::memory_order_relaxed);
  }
  queued_.fetch_add(1, std::memory_order_seq_cst);
  wake_workers(1);
  if (auto p = phase(); p == pool_phase::terminating || p == pool_phase::broken)
    drain_queues(stop_error());
}

bool pool_core::should_exit() const noexcept {
  // After close(), workers stay until join() stops them: an imap that reads
  // its input lazily may still submit its rest.
  auto p = phase();
  return p == pool_phase::terminating || p == pool_phase::broken;
}

pool_task* pool_core::next_task(std::size_t slot) {
  for (;;) {
    if (auto* t = pop(slot))
      return t;
    if (auto* t = steal(slot))
      return t;
    if (should_exit())
      return nullptr;
    this_process::checkpoint();
    // Spin a little: in a stream of tiny tasks the next one is usually
    // submitted within microseconds, far sooner than a parked thread wakes.
    auto spin_end
      = std::chrono::steady_clock::now() + std::chrono::microseconds{50};
    bool found = false;
    for (unsigned i = 1;; ++i) {
      if (queued_.load(std::memory_order_relaxed) != 0 || should_exit()) {
        found = true;
        break;
      }
      if ((i & 63U) == 0 && std::chrono::steady_clock::now() >= spin_end)
        break;
      pool_spin_pause(i);
    }
    if (found)
      continue;
    {
      std::unique_lock lk{park_mtx_};
      parked_.fetch_add(1, std::memory_order_seq_cst);
      while (queued_.load(std::memory_order_seq_cst) == 0 && !should_exit()
             && !ext::stop_requested())
        park_cv_.wait(lk);
      parked_.fetch_sub(1, std::memory_order_seq_cst);
    }
    this_process::checkpoint();
  }
}

void pool_core::finish(pool_task* t) noexcept {
  delete t;
  if (outstanding_.fetch_sub(1, std::memory_order_seq_cst) == 1
      && phase() != pool_phase::running)
    wake_idle();
}

// -- failures -----------------------------------------------------------------

std::exception_ptr pool_core::stop_error() const {
  if (phase() == pool_phase::broken) {
    std::lock_guard guard{records_mtx_};
    return std::make_exception_ptr(pool_broken(
      "pool '" + settings_.name + "' is broken: " + broken_reason_));
  }
  return std::make_exception_ptr(cancelled(
    "pool '" + settings_.name + "' was terminated before the task finished"));
}

void pool_core::handoff(pool_task* t, const std::string& worker, pid_type pid,
                        std::size_t slot, const std::string& reason) {
  auto p = phase();
  if (p == pool_phase::terminating || p == pool_phase::broken) {
    t->fail(stop_error());
    finish(t);
    return;
  }
  ++t->deaths;
  if (t->deaths <= settings_.max_retries) {
    push_front(slot, t);
    return;
  }
  auto msg = "task " + std::to_string(t->id) + " (" + t->describe()
             + ") was lost: its worker '" + worker + "' (pid "
             + std::to_string(pid) + ") ended: " + reason;
  if (settings_.max_retries == 0)
    msg += "; not retried (max_retries is 0)";
  else
    msg += "; it was run " + std::to_string(t->deaths) + " times";
  t->fail(
    std::make_exception_ptr(worker_lost(msg, t->id, worker, pid, reason)));
  finish(t);
}

void pool_core::drain_queues(const std::exception_ptr& e) {
  for (auto& q : slots_) {
    pool_task* list = nullptr;
    {
      std::lock_guard guard{q->mtx};
      list = std::exchange(q->head, nullptr);
      q->tail = nullptr;
      q->size.store(0, std::memory_order_relaxed);
    }
    while (list != nullptr) {
      auto* t = std::exchange(list, list->next);
      queued_.fetch_sub(1, std::memory_order_relaxed);
      t->fail(e);
      finish(t);
    }
  }
}

void pool_core::fail_pending(const std::exception_ptr& e) {
  drain_queues(e);
  std::lock_guard guard{records_mtx_};
  for (auto& rec : records_) {
    std::lock_guard rec_guard{rec->mtx};
    if (rec->inflight != nullptr)
      rec->inflight->fail(e);
  }
}

void pool_core::mark_broken(const std::string& why) {
  auto p = phase_.load();
  do {
    if (p != static_cast<int>(pool_phase::running)
        && p != static_cast<int>(pool_phase::closed))
      return;
  } while (
    !phase_.compare_exchange_weak(p, static_cast<int>(pool_phase::broken)));
  {
    std::lock_guard guard{records_mtx_};
    broken_reason_ = why;
  }
  fail_pending(stop_error());
  wake_idle();
}

// -- lifecycle ----------------------------------------------------------------

void pool_core::close() {
  auto running = static_cast<int>(pool_phase::running);
  if (phase_.compare_exchange_strong(running,
                                     static_cast<int>(pool_phase::closed)))
    wake_idle();
}

void pool_core::terminate() {
  if (on_worker_thread())
    throw state_error("a task cannot terminate its own pool ('" + settings_.name
                      + "')");
  auto p = phase_.load();
  while ((p == static_cast<int>(pool_phase::running)
          || p == static_cast<int>(pool_phase::closed))
         && !phase_.compare_exchange_weak(
           p, static_cast<int>(pool_phase::terminating))) {
  }
  fail_pending(stop_error());
  wake_idle();
  stop_fleet(false);
  // Tasks handed back by workers that stopped meanwhile.
  drain_queues(stop_error());
}

void pool_core::join() {
  if (on_worker_thread())
    throw state_error("a task cannot join its own pool ('" + settings_.name
                      + "')");
  if (phase() == pool_phase::running)
    throw value_error("join(): pool '" + settings_.name
                      + "' is still running; call close() or terminate() "
                        "first");
  if (phase() == pool_phase::closed) {
    {
      // Open imaps submit the rest of their input now, as Python's imap
      // (which reads it all at once) would have before close().
      std::lock_guard guard{feeds_mtx_};
      for (auto* feed : feeds_)
        feed->drain();
    }
    joining_.store(true, std::memory_order_seq_cst);
    // Every started worker also gets through its initializer first.
    // Wakes with `terminated` when the joining process is asked to stop;
    // the pool stays intact (its destructor or a later join stops it).
    pool_wait(idle_mtx_, idle_cv_, ext::deadline::forever(), [this] {
      return (outstanding_.load(std::memory_order_seq_cst) == 0
              && starting_.load(std::memory_order_seq_cst) == 0)
             || phase() != pool_phase::closed;
    });
  }
  stop_fleet(phase() == pool_phase::closed);
  if (phase() != pool_phase::closed)
    drain_queues(stop_error());
  callbacks_->stop();
}

} // namespace troupe::pooled::detail
