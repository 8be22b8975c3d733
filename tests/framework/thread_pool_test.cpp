// White-box tests of the threads that run blocking processes
// (framework/src/detail/thread_pool.hpp): what shutdown waits for.

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "detail/thread_pool.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::detail::thread_pool;
using clock_type = std::chrono::steady_clock;

namespace {

TEST(thread_pool,
     shutdown_waits_for_a_job_that_announced_its_end_past_the_deadline) {
  // A job that announced its end but is not yet back (a thread of a
  // process that ended, descheduled on a loaded machine) is leaving: it
  // is waited for, not reported as stuck.
  thread_pool pool{2, 1s};
  std::atomic<bool> announced{false};
  std::atomic<bool> returned{false};
  pool.submit([&] {
    thread_pool::this_job_ending();
    announced = true;
    std::this_thread::sleep_for(300ms); // slow, not a synchronisation
    returned = true;
  });
  ASSERT_TRUE(troupe::test::eventually([&] { return announced.load(); }));
  EXPECT_EQ(pool.shutdown(clock_type::now() + 20ms), 0U);
  EXPECT_TRUE(returned);
}

TEST(thread_pool, shutdown_reports_a_job_that_never_returns_by_its_deadline) {
  thread_pool pool{2, 1s};
  std::atomic<bool> release{false};
  std::atomic<bool> started{false};
  pool.submit([&release, &started] {
    started = true;
    while (!release)
      std::this_thread::sleep_for(1ms);
  });
  ASSERT_TRUE(troupe::test::eventually([&] { return started.load(); }));
  auto t0 = clock_type::now();
  EXPECT_EQ(pool.shutdown(t0 + 50ms), 1U);
  // Not held up by the allowance for jobs that are leaving.
  EXPECT_LT(clock_type::now() - t0, 5s);
  release = true;
  // The pool's core outlives it in the detached thread; let it leave
  // before `release` goes out of scope.
  EXPECT_TRUE(troupe::test::eventually([&] { return pool.busy() == 0; }));
}

} // namespace
