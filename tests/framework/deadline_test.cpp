// ext::deadline, the one limit every troupe wait carries, and ext::park,
// the one way a wait sleeps until it. The decisions are pure; the park
// tests sleep a few milliseconds at most.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <troupe/ext/deadline.hpp>
#include <troupe/troupe.hpp>

using namespace std::chrono_literals;
namespace ext = troupe::ext;
using clock_type = std::chrono::steady_clock;

TEST(deadline, forever_never_passes_and_has_all_the_time_left) {
  auto d = ext::deadline::forever();
  EXPECT_TRUE(d.is_forever());
  EXPECT_FALSE(d.is_poll());
  EXPECT_FALSE(d.is_timed());
  EXPECT_FALSE(d.passed());
  EXPECT_FALSE(d.passed(clock_type::time_point::max()));
  EXPECT_EQ(d.remaining(clock_type::now()), clock_type::duration::max());
  EXPECT_EQ(d, ext::deadline{});
}

TEST(deadline, poll_has_always_passed_and_has_no_time_left) {
  auto d = ext::deadline::poll();
  EXPECT_TRUE(d.is_poll());
  EXPECT_FALSE(d.is_forever());
  EXPECT_FALSE(d.is_timed());
  EXPECT_TRUE(d.passed());
  EXPECT_TRUE(d.passed(clock_type::time_point{}));
  EXPECT_EQ(d.remaining(clock_type::now()), clock_type::duration::zero());
}

TEST(deadline, at_a_time_point_passes_at_that_point) {
  auto t = clock_type::time_point{} + 10s;
  auto d = ext::deadline::at(t);
  EXPECT_TRUE(d.is_timed());
  EXPECT_EQ(d.when(), t);
  EXPECT_FALSE(d.passed(t - 1ns));
  EXPECT_TRUE(d.passed(t));
  EXPECT_EQ(d.remaining(t - 3s), clock_type::duration{3s});
  EXPECT_EQ(d.remaining(t + 3s), clock_type::duration::zero());
}

TEST(deadline, after_counts_from_now_and_zero_is_a_timed_deadline) {
  auto before = clock_type::now();
  auto d = ext::deadline::after(250ms);
  auto after = clock_type::now();
  EXPECT_TRUE(d.is_timed());
  EXPECT_GE(d.when(), before + 250ms);
  EXPECT_LE(d.when(), after + 250ms);
  // A zero timeout tries once and then reports a timeout, not "would block".
  auto z = ext::deadline::after(0s);
  EXPECT_TRUE(z.is_timed());
  EXPECT_TRUE(z.passed());
}

TEST(deadline, after_a_timeout_past_the_clocks_range_waits_forever) {
  EXPECT_TRUE(ext::deadline::after(std::chrono::hours::max()).is_forever());
  EXPECT_TRUE(
    ext::deadline::after(std::chrono::nanoseconds::max()).is_forever());
  EXPECT_TRUE(
    ext::deadline::after(std::chrono::duration<double>{1e300}).is_forever());
}

TEST(deadline, after_a_negative_timeout_is_a_value_error_naming_the_call) {
  try {
    static_cast<void>(ext::deadline::after(-1ms, "queue.get"));
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    EXPECT_STREQ(e.what(), "queue.get: timeout must not be negative");
  }
  try {
    static_cast<void>(ext::deadline::after(-1ns));
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    EXPECT_STREQ(e.what(), "timeout must not be negative");
  }
}

TEST(deadline, blocking_is_forever_or_poll_as_pythons_block_flag) {
  EXPECT_EQ(ext::deadline::blocking(true), ext::deadline::forever());
  EXPECT_EQ(ext::deadline::blocking(false), ext::deadline::poll());
}

TEST(deadline, min_is_the_earlier_one) {
  auto a = ext::deadline::at(clock_type::time_point{} + 1s);
  auto b = ext::deadline::at(clock_type::time_point{} + 2s);
  EXPECT_EQ(min(a, b), a);
  EXPECT_EQ(min(b, a), a);
  EXPECT_EQ(min(a, ext::deadline::forever()), a);
  EXPECT_EQ(min(ext::deadline::poll(), a), ext::deadline::poll());
}

TEST(deadline, park_does_not_sleep_for_poll_or_a_passed_deadline) {
  std::mutex mtx;
  std::condition_variable cv;
  std::unique_lock lk{mtx};
  auto t0 = clock_type::now();
  EXPECT_FALSE(ext::park(lk, cv, ext::deadline::poll()));
  EXPECT_FALSE(ext::park(lk, cv, ext::deadline::at(t0 - 1s)));
  EXPECT_TRUE(lk.owns_lock());
  EXPECT_LT(clock_type::now() - t0, 1s);
}

TEST(deadline, park_gives_up_at_a_timed_deadline) {
  std::mutex mtx;
  std::condition_variable cv;
  std::unique_lock lk{mtx};
  auto until = ext::deadline::after(5ms);
  // A spurious wake-up returns true; callers park again, as here.
  while (ext::park(lk, cv, until)) {
  }
  EXPECT_TRUE(until.passed());
  EXPECT_TRUE(lk.owns_lock());
}

TEST(deadline, park_forever_returns_when_notified) {
  std::mutex mtx;
  std::condition_variable cv;
  bool flag = false;
  std::thread notifier{[&] {
    std::lock_guard guard{mtx};
    flag = true;
    cv.notify_all();
  }};
  {
    std::unique_lock lk{mtx};
    while (!flag)
      EXPECT_TRUE(ext::park(lk, cv, ext::deadline::forever()));
  }
  notifier.join();
}

TEST(deadline, sleep_for_names_itself_when_the_timeout_is_negative) {
  try {
    troupe::this_process::sleep_for(-1ms);
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    EXPECT_STREQ(e.what(), "sleep_for: timeout must not be negative");
  }
}
