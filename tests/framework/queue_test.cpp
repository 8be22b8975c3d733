#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

TEST(queue, items_come_out_in_the_order_they_were_put) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  for (int i = 0; i < 5; ++i)
    q.put(i);
  EXPECT_EQ(q.qsize(), 5u);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(q.get(), i);
  EXPECT_TRUE(q.empty());
}

TEST(queue, a_process_puts_and_the_parent_gets) {
  troupe::runtime rt;
  troupe::queue<std::vector<std::string>> q{rt};
  troupe::process p{rt, [](troupe::queue<std::vector<std::string>> q_in) {
                      q_in.put({"42", "None", "hello"});
                    },
                    q};
  p.start();
  auto got = q.get(deadline);
  EXPECT_EQ(got, (std::vector<std::string>{"42", "None", "hello"}));
  ASSERT_TRUE(p.join(deadline));
}

TEST(queue, joining_a_child_before_getting_its_large_item_does_not_deadlock) {
  // Seed 000's "joining processes that use queues": Python deadlocks here
  // because the child's feeder thread cannot flush 1 MB into the pipe.
  troupe::runtime rt;
  troupe::queue<std::string> q{rt};
  troupe::process p{
    rt, [](troupe::queue<std::string> q_in) { q_in.put(std::string(1000000, 'X')); },
    q};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(q.get(deadline).size(), 1000000u);
}

TEST(queue, move_only_items_work) {
  troupe::runtime rt;
  troupe::queue<std::unique_ptr<int>> q{rt, {.capacity = 1}};
  q.put(std::make_unique<int>(7));
  auto extra = std::make_unique<int>(8);
  EXPECT_FALSE(q.try_put(std::move(extra)));
  ASSERT_NE(extra, nullptr) << "a failed try_put must not consume its item";
  EXPECT_EQ(*q.get(), 7);
  EXPECT_TRUE(q.try_put(std::move(extra)));
  EXPECT_EQ(*q.try_get().value(), 8);
}

TEST(queue, put_blocks_when_full_until_a_get_frees_a_slot) {
  troupe::runtime rt;
  troupe::queue<int> q{rt, {.capacity = 2}};
  q.put(1);
  q.put(2);
  EXPECT_TRUE(q.full());
  std::atomic<bool> put_done{false};
  std::thread producer{[&] {
    q.put(3);
    put_done = true;
  }};
  // The producer is blocked: the queue stays full until we get.
  EXPECT_FALSE(q.try_put(4));
  EXPECT_FALSE(put_done.load());
  EXPECT_EQ(q.get(), 1);
  producer.join();
  EXPECT_TRUE(put_done.load());
  EXPECT_EQ(q.get(), 2);
  EXPECT_EQ(q.get(), 3);
}

TEST(queue, get_blocks_until_an_item_arrives) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  std::thread producer{[&] { q.put(5); }};
  EXPECT_EQ(q.get(deadline), 5);
  producer.join();
}

TEST(queue, nowait_calls_throw_full_and_empty) {
  troupe::runtime rt;
  troupe::queue<int> q{rt, {.capacity = 1}};
  EXPECT_THROW(static_cast<void>(q.get_nowait()), troupe::empty);
  q.put_nowait(1);
  EXPECT_THROW(q.put_nowait(2), troupe::full);
  EXPECT_EQ(q.get_nowait(), 1);
  EXPECT_EQ(q.try_get(), std::nullopt);
}

TEST(queue, timeouts_are_honoured_within_tolerance) {
  troupe::runtime rt;
  troupe::queue<int> q{rt, {.capacity = 1}};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(static_cast<void>(q.get(30ms)), troupe::empty);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 2s);
  q.put(1);
  t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(q.put(2, 30ms), troupe::full);
  waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, 2s);
  EXPECT_FALSE(q.try_put(2, 5ms));
  EXPECT_EQ(q.try_get(5ms), 1);
  EXPECT_EQ(q.try_get(5ms), std::nullopt);
  EXPECT_THROW(static_cast<void>(q.get(-1ms)), troupe::value_error);
  EXPECT_THROW(q.put(1, -1ms), troupe::value_error);
}

TEST(queue, the_fail_policy_throws_full_at_once) {
  troupe::runtime rt;
  troupe::queue<int> q{rt, {.capacity = 1, .overflow = troupe::overflow::fail}};
  q.put(1);
  EXPECT_THROW(q.put(2), troupe::full);
  EXPECT_THROW(q.put(2, 10s), troupe::full); // does not wait
  EXPECT_FALSE(q.try_put(2));
  EXPECT_EQ(q.get(), 1);
}

TEST(queue, the_drop_newest_policy_discards_the_new_item) {
  troupe::runtime rt;
  troupe::queue<int> q{
    rt, {.capacity = 2, .overflow = troupe::overflow::drop_newest}};
  for (int i = 1; i <= 4; ++i)
    q.put(i);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  EXPECT_TRUE(q.empty());
}

TEST(queue, the_drop_oldest_policy_discards_the_oldest_item) {
  troupe::runtime rt;
  troupe::queue<int> q{
    rt, {.capacity = 2, .overflow = troupe::overflow::drop_oldest}};
  for (int i = 1; i <= 4; ++i)
    q.put(i);
  EXPECT_EQ(q.dropped(), 2u);
  EXPECT_EQ(q.get(), 3);
  EXPECT_EQ(q.get(), 4);
  EXPECT_TRUE(q.empty());
}

TEST(queue, after_close_put_throws_and_get_drains_then_throws_closed) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  q.put(1);
  q.put(2);
  q.close();
  EXPECT_TRUE(q.is_closed());
  EXPECT_THROW(q.put(3), troupe::closed);
  EXPECT_FALSE(q.try_put(3));
  EXPECT_EQ(q.get(), 1);
  EXPECT_EQ(q.get(), 2);
  EXPECT_THROW(static_cast<void>(q.get()), troupe::closed);
  EXPECT_THROW(static_cast<void>(q.get_nowait()), troupe::closed);
  EXPECT_EQ(q.try_get(), std::nullopt);
}

TEST(queue, close_wakes_every_blocked_getter_and_putter) {
  troupe::runtime rt;
  troupe::queue<int> empty_q{rt};
  troupe::queue<int> full_q{rt, {.capacity = 1}};
  full_q.put(0);
  std::atomic<int> woke{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      EXPECT_THROW(static_cast<void>(empty_q.get()), troupe::closed);
      ++woke;
    });
    threads.emplace_back([&] {
      EXPECT_THROW(full_q.put(1), troupe::closed);
      ++woke;
    });
  }
  empty_q.close();
  full_q.close();
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(woke.load(), 6);
  EXPECT_EQ(full_q.get(), 0); // what was queued is still drained
}

TEST(queue, n_producers_and_m_consumers_deliver_each_item_once_in_order) {
  troupe::runtime rt;
  constexpr int producers = 4;
  constexpr int consumers = 3;
  constexpr int per_producer = 20000;
  troupe::queue<std::pair<int, int>> q{rt, {.capacity = 64}};
  std::vector<std::vector<std::pair<int, int>>> seen(consumers);
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      try {
        for (;;)
          seen[c].push_back(q.get());
      } catch (const troupe::closed&) {
      }
    });
  std::vector<std::thread> puts;
  for (int p = 0; p < producers; ++p)
    puts.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        q.put({p, i});
    });
  for (auto& t : puts)
    t.join();
  q.close();
  for (auto& t : threads)
    t.join();
  std::vector<std::vector<bool>> got(producers,
                                     std::vector<bool>(per_producer));
  std::size_t total = 0;
  for (auto& items : seen) {
    // Each consumer sees each producer's items in increasing order.
    std::vector<int> last(producers, -1);
    for (auto [p, i] : items) {
      EXPECT_GT(i, last[p]);
      last[p] = i;
      EXPECT_FALSE(got[p][i]) << "item delivered twice";
      got[p][i] = true;
      ++total;
    }
  }
  EXPECT_EQ(total, std::size_t{producers} * per_producer);
}

TEST(queue, close_under_contention_loses_no_accepted_item) {
  troupe::runtime rt;
  for (int round = 0; round < 20; ++round) {
    troupe::queue<int> q{rt, {.capacity = 8}};
    std::atomic<int> accepted{0};
    std::atomic<int> taken{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < 2; ++p)
      threads.emplace_back([&] {
        try {
          for (int i = 0;; ++i) {
            q.put(i);
            ++accepted;
          }
        } catch (const troupe::closed&) {
        }
      });
    for (int c = 0; c < 2; ++c)
      threads.emplace_back([&] {
        try {
          for (;;) {
            static_cast<void>(q.get());
            ++taken;
          }
        } catch (const troupe::closed&) {
        }
      });
    ASSERT_TRUE(eventually([&] { return taken.load() > 100; }));
    q.close();
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(accepted.load(), taken.load());
  }
}

TEST(queue, a_blocked_get_throws_terminated_when_its_process_is_terminated) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::queue<int> started{rt};
  troupe::process p{rt,
                    [](troupe::queue<int> q_in, troupe::queue<int> started_in) {
                      started_in.put(1);
                      static_cast<void>(q_in.get());
                    },
                    q, started};
  p.start();
  EXPECT_EQ(started.get(deadline), 1);
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_EQ(p.exit_reason(), "terminated");
}

TEST(queue, handles_are_copies_of_one_queue) {
  troupe::runtime rt;
  troupe::queue<int> a{rt};
  auto b = a;
  a.put(1);
  EXPECT_EQ(b.get(), 1);
  EXPECT_TRUE(a == b);
}

} // namespace
