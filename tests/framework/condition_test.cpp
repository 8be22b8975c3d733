#include <atomic>
#include <deque>
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

TEST(condition, wait_without_holding_the_lock_throws_state_error) {
  troupe::runtime rt;
  troupe::condition c{rt};
  EXPECT_THROW(c.wait(), troupe::state_error);
  EXPECT_THROW(c.notify(), troupe::state_error);
}

TEST(condition, wait_with_a_timeout_returns_false_and_holds_the_lock_again) {
  troupe::runtime rt;
  troupe::lock l{rt};
  troupe::condition c{rt, l};
  std::unique_lock guard{c};
  EXPECT_FALSE(c.wait(5ms));
  EXPECT_TRUE(l.locked());
  EXPECT_EQ(l.owner()->pid(), 1u);
  EXPECT_THROW(static_cast<void>(c.wait(-1ms)), troupe::value_error);
}

TEST(condition, wait_for_returns_the_predicate_after_a_timeout) {
  troupe::runtime rt;
  troupe::condition c{rt};
  std::lock_guard guard{c};
  EXPECT_FALSE(c.wait_for([] { return false; }, 5ms));
  EXPECT_TRUE(c.wait_for([] { return true; }, 0ms));
}

TEST(condition, producers_and_consumers_hand_over_every_item) {
  troupe::runtime rt;
  troupe::condition c{rt};
  std::deque<int> items; // guarded by c's lock
  long sum = 0;          // guarded by c's lock
  constexpr int n = 2000;
  troupe::process consumer{
    rt, [c, &items, &sum]() mutable {
      for (int k = 0; k < 2 * n; ++k) {
        std::lock_guard guard{c};
        EXPECT_TRUE(c.wait_for([&] { return !items.empty(); }, deadline));
        sum += items.front();
        items.pop_front();
      }
    }};
  auto produce = [c, &items]() mutable {
    for (int k = 1; k <= n; ++k) {
      std::lock_guard guard{c};
      items.push_back(k);
      c.notify();
    }
  };
  troupe::process p1{rt, produce};
  troupe::process p2{rt, produce};
  consumer.start();
  p1.start();
  p2.start();
  ASSERT_TRUE(p1.join(deadline));
  ASSERT_TRUE(p2.join(deadline));
  ASSERT_TRUE(consumer.join(deadline));
  EXPECT_EQ(sum, 2L * n * (n + 1) / 2);
}

TEST(condition, notify_n_wakes_that_many_and_notify_all_the_rest) {
  troupe::runtime rt;
  troupe::condition c{rt};
  int ready = 0; // guarded by c's lock
  int woken = 0; // guarded by c's lock
  std::vector<troupe::process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.emplace_back(rt, [c, &ready, &woken]() mutable {
      std::lock_guard guard{c};
      ++ready; // the lock is released only inside wait()
      c.wait();
      ++woken;
    });
    ps.back().start();
  }
  auto locked_read = [&](int& x) {
    std::lock_guard guard{c};
    return x;
  };
  ASSERT_TRUE(eventually([&] { return locked_read(ready) == 3; }));
  {
    std::lock_guard guard{c};
    c.notify(2);
  }
  ASSERT_TRUE(eventually([&] { return locked_read(woken) == 2; }));
  EXPECT_FALSE(ps[0].join(1ms) && ps[1].join(1ms) && ps[2].join(1ms));
  EXPECT_EQ(locked_read(woken), 2);
  {
    std::lock_guard guard{c};
    c.notify_all();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(locked_read(woken), 3);
}

TEST(condition, a_waiter_asked_to_stop_leaves_without_the_lock) {
  troupe::runtime rt;
  troupe::lock l{rt};
  troupe::condition c{rt, l};
  std::atomic<bool> waiting{false};
  troupe::process p{rt, [c, &waiting]() mutable {
                      std::lock_guard guard{c};
                      waiting = true;
                      c.wait();
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return waiting && !l.locked(); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_FALSE(l.locked());
  ASSERT_TRUE(l.acquire(false));
  EXPECT_FALSE(l.previous_owner_died());
  l.release();
}

TEST(condition, an_rlock_held_twice_is_released_fully_while_waiting) {
  troupe::runtime rt;
  troupe::rlock r{rt};
  troupe::condition c{rt, r};
  r.acquire();
  r.acquire();
  std::atomic<bool> saw_free{false};
  troupe::process p{rt, [c, r, &saw_free]() mutable {
                      std::lock_guard guard{c};
                      saw_free = true;
                      c.notify();
                    }};
  p.start();
  EXPECT_TRUE(c.wait_for([&] { return saw_free.load(); }, deadline));
  EXPECT_EQ(r.depth(), 2u);
  r.release();
  r.release();
  ASSERT_TRUE(p.join(deadline));
}

} // namespace
