#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

TEST(event, set_clear_and_is_set_follow_the_flag) {
  troupe::runtime rt;
  troupe::event ev{rt};
  EXPECT_FALSE(ev.is_set());
  ev.set();
  EXPECT_TRUE(ev.is_set());
  EXPECT_TRUE(ev.wait(0ms));
  ev.wait(); // returns at once
  ev.clear();
  EXPECT_FALSE(ev.is_set());
}

TEST(event, wait_with_a_timeout_returns_false_when_it_is_not_set) {
  troupe::runtime rt;
  troupe::event ev{rt};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(ev.wait(30ms));
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 2s);
  EXPECT_THROW(static_cast<void>(ev.wait(-1ms)), troupe::value_error);
}

TEST(event, set_wakes_every_waiting_process) {
  troupe::runtime rt;
  troupe::event ev{rt};
  troupe::queue<int> woke{rt};
  std::vector<troupe::process> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back(
      rt,
      [](troupe::event ev_in, troupe::queue<int> woke_in, int i_in) {
        ev_in.wait();
        woke_in.put(i_in);
      },
      ev, woke, i);
    waiters.back().start();
  }
  EXPECT_TRUE(woke.empty());
  ev.set();
  int sum = 0;
  for (int i = 0; i < 4; ++i)
    sum += woke.get(deadline);
  EXPECT_EQ(sum, 0 + 1 + 2 + 3);
  for (auto& p : waiters)
    ASSERT_TRUE(p.join(deadline));
}

TEST(event, a_waiting_process_that_is_terminated_ends_with_terminated) {
  troupe::runtime rt;
  troupe::event never{rt};
  troupe::event waiting{rt};
  troupe::process p{rt,
                    [](troupe::event never_in, troupe::event waiting_in) {
                      waiting_in.set();
                      never_in.wait();
                    },
                    never, waiting};
  p.start();
  ASSERT_TRUE(waiting.wait(deadline));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(event, a_set_from_another_thread_wakes_a_timed_wait) {
  troupe::runtime rt;
  troupe::event ev{rt};
  std::thread setter{[&] { ev.set(); }};
  EXPECT_TRUE(ev.wait(deadline));
  setter.join();
}

} // namespace
