#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

TEST(semaphore, acquire_takes_permits_until_none_is_left) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 2};
  EXPECT_EQ(s.get_value(), 2u);
  EXPECT_TRUE(s.acquire());
  EXPECT_TRUE(s.acquire(false));
  EXPECT_EQ(s.held(), 2u);
  EXPECT_FALSE(s.acquire(false));
  EXPECT_FALSE(s.acquire(5ms));
  EXPECT_THROW(static_cast<void>(s.acquire(-1ms)), troupe::value_error);
  s.release(2);
  EXPECT_EQ(s.get_value(), 2u);
  EXPECT_EQ(s.held(), 0u);
}

TEST(semaphore, an_unbounded_semaphore_may_be_released_above_its_start) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 1};
  s.release();
  EXPECT_EQ(s.get_value(), 2u);
}

TEST(semaphore, over_releasing_a_bounded_semaphore_throws_value_error) {
  troupe::runtime rt;
  troupe::bounded_semaphore s{rt, 1, {.name = "pool"}};
  s.acquire();
  s.release();
  try {
    s.release();
    FAIL() << "over-release did not throw";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("bounded_semaphore 'pool' released "
                                         "too many times"),
              std::string::npos)
      << e.what();
  }
  EXPECT_EQ(s.get_value(), 1u);
}

TEST(semaphore, a_release_from_another_process_wakes_a_waiter) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 0};
  troupe::process waiter{rt, [s]() mutable { s.acquire(); }};
  waiter.start();
  EXPECT_FALSE(waiter.join(5ms));
  troupe::process signaller{rt, [s]() mutable { s.release(); }};
  signaller.start();
  ASSERT_TRUE(signaller.join(deadline));
  ASSERT_TRUE(waiter.join(deadline));
  // The waiter's permit was charged to the signal: its end returns nothing.
  EXPECT_EQ(s.get_value(), 0u);
}

TEST(semaphore, permits_of_a_killed_holder_return_and_the_next_taker_is_told) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 2};
  troupe::process p{rt, [s]() mutable {
                      s.acquire();
                      s.acquire();
                      troupe::this_process::receive<int>();
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return s.get_value() == 0; }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  // Returned once the killed thread left (at once here: kill() wakes its
  // receive).
  ASSERT_TRUE(eventually([&] { return s.get_value() == 2u; }));
  ASSERT_TRUE(s.acquire(false));
  EXPECT_TRUE(s.previous_owner_died());
  s.release();
}

TEST(semaphore, permits_of_a_holder_that_throws_or_is_terminated_return) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 2};
  troupe::process thrower{rt, [s]() mutable {
                            s.acquire();
                            throw std::runtime_error("oops");
                          }};
  troupe::process stopped{rt, [s]() mutable {
                            s.acquire();
                            troupe::this_process::receive<int>();
                          }};
  thrower.start();
  ASSERT_TRUE(thrower.join(deadline));
  stopped.start();
  ASSERT_TRUE(eventually([&] { return s.get_value() == 1; }));
  stopped.terminate();
  ASSERT_TRUE(stopped.join(deadline));
  EXPECT_EQ(s.get_value(), 2u);
}

TEST(semaphore, a_waiter_throws_terminated_when_stopped) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 0};
  troupe::process p{rt, [s]() mutable { s.acquire(); }};
  p.start();
  EXPECT_FALSE(p.join(5ms));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(semaphore, at_most_n_processes_are_inside_at_once) {
  troupe::runtime rt;
  troupe::bounded_semaphore s{rt, 2};
  std::atomic<int> inside{0};
  std::atomic<int> most{0};
  std::vector<troupe::process> ps;
  for (int i = 0; i < 6; ++i) {
    ps.emplace_back(rt, [s, &inside, &most]() mutable {
      for (int k = 0; k < 2000; ++k) {
        std::lock_guard guard{s};
        auto now = ++inside;
        auto prev = most.load();
        while (now > prev && !most.compare_exchange_weak(prev, now)) {
        }
        --inside;
      }
    });
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_LE(most, 2);
  EXPECT_EQ(s.get_value(), 2u);
}

TEST(semaphore, a_killed_holders_permit_returns_only_once_its_thread_left) {
  troupe::runtime rt;
  troupe::semaphore s{rt, 1, {.name = "slots", .warn_after = 20ms}};
  auto inside = std::make_shared<std::atomic<bool>>(false);
  auto go = std::make_shared<std::atomic<bool>>(false);
  troupe::process p{rt, {.name = "doomed"}, [s, inside, go]() mutable {
                      s.acquire(); // not released: its end returns it
                      *inside = true;
                      while (!*go) {
                        // no troupe call: kill() cannot stop this thread
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return inside->load(); }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(s.get_value(), 0u) << "its thread still uses the permit";
  testing::internal::CaptureStderr();
  EXPECT_FALSE(s.acquire(80ms));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("held by process 'doomed'"), std::string::npos) << err;
  *go = true;
  ASSERT_TRUE(s.acquire(deadline));
  EXPECT_TRUE(s.previous_owner_died());
  s.release();
}

} // namespace
