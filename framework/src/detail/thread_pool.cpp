#include "detail/thread_pool.hpp"

#include <thread>

namespace troupe::detail {

namespace {

struct worker {
  std::condition_variable cv;
  unique_function<void()> job;
  bool quit = false;
};

} // namespace

namespace {

/// Set on pool threads: their pool, whether their job announced its end,
/// and the job to run next (submitted after that announcement).
thread_local thread_pool::core* tl_pool = nullptr;
thread_local bool tl_ending = false;
thread_local unique_function<void()> tl_next;

} // namespace

struct thread_pool::core {
  core(std::size_t max_idle_threads, std::chrono::milliseconds timeout)
    : max_idle(max_idle_threads), idle_timeout(timeout) {}

  const std::size_t max_idle;
  const std::chrono::milliseconds idle_timeout;
  mutable std::mutex mtx;
  std::condition_variable all_gone;
  std::vector<worker*> idle; // LIFO: the most recently parked is warmest
  std::size_t threads = 0;
  std::size_t running = 0;
  std::size_t ending = 0; // running jobs that announced their end
  bool stopping = false;
};

namespace {

/// How much longer than its deadline `shutdown` waits for jobs that are
/// already leaving (see there).
constexpr std::chrono::seconds ending_allowance{10};

void worker_loop(std::shared_ptr<thread_pool::core> c,
                 unique_function<void()> first_job);

} // namespace

thread_pool::thread_pool(std::size_t max_idle,
                         std::chrono::milliseconds idle_timeout)
  : core_(std::make_shared<core>(max_idle, idle_timeout)) {}

thread_pool::~thread_pool() {
  shutdown(std::chrono::steady_clock::now());
}

void thread_pool::this_job_ending() noexcept {
  if (tl_pool == nullptr || tl_ending)
    return;
  tl_ending = true;
  std::lock_guard guard{tl_pool->mtx};
  ++tl_pool->ending;
}

void thread_pool::submit(unique_function<void()> job) {
  std::unique_lock guard{core_->mtx};
  ++core_->running;
  if (tl_pool == core_.get() && tl_ending && !tl_next) {
    tl_next = std::move(job);
    return;
  }
  if (!core_->idle.empty()) {
    auto* w = core_->idle.back();
    core_->idle.pop_back();
    w->job = std::move(job);
    w->cv.notify_one();
    return;
  }
  ++core_->threads;
  guard.unlock();
  try {
    std::thread{worker_loop, core_, std::move(job)}.detach();
  } catch (...) {
    guard.lock();
    --core_->threads;
    --core_->running;
    throw;
  }
}

std::size_t thread_pool::shutdown(std::chrono::steady_clock::time_point until) {
  std::unique_lock guard{core_->mtx};
  core_->stopping = true;
  for (auto* w : core_->idle) {
    w->quit = true;
    w->cv.notify_one();
  }
  core_->idle.clear();
  // Wait for every thread to leave, except those stuck in a job.
  auto all_gone = [this] { return core_->running == 0 && core_->threads == 0; };
  if (core_->all_gone.wait_until(guard, until, all_gone))
    return 0;
  // A job that announced its end is leaving (it must not block after
  // that); only its exit hooks and unwinding remain, which a loaded or
  // instrumented machine can stretch well past `until`. Counting it as
  // stuck would abandon it, and the runtime with it.
  core_->all_gone.wait_until(
    guard, until + ending_allowance,
    [this, &all_gone] { return all_gone() || core_->ending == 0; });
  return core_->running;
}

std::size_t thread_pool::busy() const {
  std::lock_guard guard{core_->mtx};
  return core_->running;
}

namespace {

void worker_loop(std::shared_ptr<thread_pool::core> c,
                 unique_function<void()> job) {
  worker self;
  tl_pool = c.get();
  for (;;) {
    job();
    job = unique_function<void()>{};
    std::unique_lock guard{c->mtx};
    --c->running;
    if (tl_ending) {
      tl_ending = false;
      if (--c->ending == 0 && c->stopping)
        c->all_gone.notify_all();
    }
    if (tl_next) {
      job = std::move(tl_next);
      tl_next = unique_function<void()>{};
      continue;
    }
    if (c->stopping || c->idle.size() >= c->max_idle) {
      --c->threads;
      c->all_gone.notify_all();
      return;
    }
    c->idle.push_back(&self);
    auto got_job = self.cv.wait_for(guard, c->idle_timeout, [&] {
      return static_cast<bool>(self.job) || self.quit;
    });
    if (!got_job || self.quit) {
      if (!got_job)
        std::erase(c->idle, &self);
      --c->threads;
      c->all_gone.notify_all();
      return;
    }
    job = std::move(self.job);
  }
}

} // namespace

} // namespace troupe::detail
