#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include <troupe/attach.hpp>
#include <troupe/detail/make_queue_state.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

/// Items as (producer, sequence number), as each consumer received them.
using traffic = std::vector<std::vector<std::pair<int, int>>>;

/// Runs `producers` threads putting (p, 0..per_producer-1) into `q` and
/// `consumers` threads getting until `q` is closed (after the last put);
/// every wait has the test's deadline. Returns what each consumer got.
traffic pass_through(troupe::queue<std::pair<int, int>>& q, int producers,
                     int consumers, int per_producer) {
  traffic seen(static_cast<std::size_t>(consumers));
  std::vector<std::thread> threads;
  for (int c = 0; c < consumers; ++c)
    threads.emplace_back([&, c] {
      try {
        for (;;)
          seen[static_cast<std::size_t>(c)].push_back(q.get(deadline));
      } catch (const troupe::closed&) {
      }
    });
  std::vector<std::thread> puts;
  for (int p = 0; p < producers; ++p)
    puts.emplace_back([&, p] {
      for (int i = 0; i < per_producer; ++i)
        q.put({p, i}, deadline);
    });
  for (auto& t : puts)
    t.join();
  q.close();
  for (auto& t : threads)
    t.join();
  return seen;
}

/// Whether every item of `pass_through` arrived exactly once, and each
/// consumer saw each producer's items in increasing order.
testing::AssertionResult
each_item_once_in_order(const traffic& seen, int producers, int per_producer) {
  std::vector<std::vector<bool>> got(
    static_cast<std::size_t>(producers),
    std::vector<bool>(static_cast<std::size_t>(per_producer)));
  std::size_t total = 0;
  for (auto& items : seen) {
    std::vector<int> last(static_cast<std::size_t>(producers), -1);
    for (auto [p, i] : items) {
      auto pp = static_cast<std::size_t>(p);
      auto ii = static_cast<std::size_t>(i);
      if (i <= last[pp])
        return testing::AssertionFailure()
               << "producer " << p << ": item " << i << " after " << last[pp];
      last[pp] = i;
      if (got[pp][ii])
        return testing::AssertionFailure()
               << "producer " << p << ": item " << i << " delivered twice";
      got[pp][ii] = true;
      ++total;
    }
  }
  auto expected = static_cast<std::size_t>(producers)
                  * static_cast<std::size_t>(per_producer);
  if (total != expected)
    return testing::AssertionFailure()
           << total << " items delivered, " << expected << " put";
  return testing::AssertionSuccess();
}

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
  troupe::process p{rt,
                    [](troupe::queue<std::vector<std::string>> q_in) {
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
  troupe::process p{rt,
                    [](troupe::queue<std::string> q_in) {
                      q_in.put(std::string(1000000, 'X'));
                    },
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
  auto seen = pass_through(q, producers, consumers, per_producer);
  EXPECT_TRUE(each_item_once_in_order(seen, producers, per_producer));
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

// -- bounded queues (lock-free ring) ------------------------------------------

// Counts its live instances in `*live`; its copy may throw (so a put of an
// lvalue copies before it claims a cell), its move may not.
struct tracked {
  std::atomic<int>* live = nullptr;
  int value = 0;

  tracked(std::atomic<int>& counter, int v) : live(&counter), value(v) {
    ++*live;
  }

  tracked(const tracked& other) : live(other.live), value(other.value) {
    ++*live;
  }

  tracked(tracked&& other) noexcept : live(other.live), value(other.value) {
    ++*live;
  }

  tracked& operator=(const tracked&) = default;
  tracked& operator=(tracked&&) noexcept = default;

  ~tracked() {
    --*live;
  }
};

TEST(queue, a_bounded_queue_of_odd_capacity_counts_exactly_across_wraparound) {
  troupe::runtime rt;
  troupe::queue<int> q{rt, {.capacity = 3}};
  int next_in = 0;
  int next_out = 0;
  for (int round = 0; round < 50; ++round) {
    while (q.try_put(next_in))
      ++next_in;
    EXPECT_EQ(q.qsize(), 3u);
    EXPECT_TRUE(q.full());
    EXPECT_THROW(q.put_nowait(-1), troupe::full);
    // Take one or two, so the positions wrap at every offset.
    for (int i = 0; i < 1 + round % 2; ++i)
      EXPECT_EQ(q.get_nowait(), next_out++);
    EXPECT_FALSE(q.full());
    EXPECT_EQ(q.qsize(), static_cast<std::size_t>(next_in - next_out));
  }
  while (auto x = q.try_get())
    EXPECT_EQ(*x, next_out++);
  EXPECT_EQ(next_out, next_in);
  EXPECT_TRUE(q.empty());
}

TEST(
  queue,
  a_bounded_queue_delivers_every_item_once_in_order_per_producer_under_contention) {
  troupe::runtime rt;
  constexpr int producers = 3;
  constexpr int consumers = 3;
  constexpr int per_producer = 20000;
  for (std::size_t capacity :
       {std::size_t{1}, std::size_t{7}, std::size_t{1024}}) {
    troupe::queue<std::pair<int, int>> q{rt, {.capacity = capacity}};
    auto seen = pass_through(q, producers, consumers, per_producer);
    EXPECT_TRUE(each_item_once_in_order(seen, producers, per_producer))
      << "capacity " << capacity;
    EXPECT_TRUE(q.empty());
  }
}

TEST(queue,
     close_racing_with_puts_on_a_bounded_queue_never_loses_an_accepted_item) {
  troupe::runtime rt;
  for (int round = 0; round < 300; ++round) {
    troupe::queue<std::int64_t> q{rt, {.capacity = 4}};
    std::atomic<std::int64_t> accepted{0}; // sum of the items put
    std::atomic<std::int64_t> taken{0};    // sum of the items got
    std::atomic<int> gets{0};
    std::atomic<bool> hung{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < 2; ++p)
      threads.emplace_back([&, p] {
        // One producer blocks when full, the other never waits.
        for (std::int64_t i = 1;; ++i) {
          if (p == 0) {
            try {
              q.put(i);
            } catch (const troupe::closed&) {
              return;
            }
          } else if (!q.try_put(i)) {
            if (q.is_closed())
              return;
            continue;
          }
          accepted += i;
        }
      });
    // Three getters, so that several are parked when the close comes.
    for (int c = 0; c < 3; ++c)
      threads.emplace_back([&] {
        try {
          for (;;) {
            taken += q.get(deadline);
            ++gets;
          }
        } catch (const troupe::closed&) {
        } catch (const troupe::empty&) {
          hung = true; // a lost wake-up
        }
      });
    // Close at a different moment each round, sometimes at once.
    if (round % 3 != 0) {
      ASSERT_TRUE(eventually([&] { return gets.load() > round; }));
    }
    q.close();
    for (auto& t : threads)
      t.join();
    ASSERT_FALSE(hung.load()) << "round " << round;
    ASSERT_EQ(accepted.load(), taken.load()) << "round " << round;
    EXPECT_TRUE(q.empty());
  }
}

TEST(queue, a_bounded_queue_carries_move_only_items_between_threads) {
  troupe::runtime rt;
  constexpr int n = 20000;
  troupe::queue<std::unique_ptr<int>> q{rt, {.capacity = 8}};
  std::thread producer{[&] {
    for (int i = 0; i < n; ++i)
      q.put(std::make_unique<int>(i), deadline);
  }};
  for (int i = 0; i < n; ++i) {
    auto p = q.get(deadline);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(*p, i);
  }
  producer.join();
  auto last = std::make_unique<int>(-1);
  q.close();
  EXPECT_FALSE(q.try_put(std::move(last)));
  EXPECT_NE(last, nullptr) << "a put refused by close must not consume";
}

TEST(queue, items_left_in_a_bounded_queue_are_destroyed_with_it) {
  std::atomic<int> live{0};
  {
    troupe::runtime rt;
    troupe::queue<tracked> q{rt, {.capacity = 5}};
    // Go round the ring a few times first, by copy and by move.
    for (int i = 0; i < 12; ++i) {
      tracked t{live, i};
      if (i % 2 == 0)
        q.put(t);
      else
        q.put(std::move(t));
      EXPECT_EQ(q.get().value, i);
    }
    EXPECT_EQ(live.load(), 0);
    for (int i = 0; i < 4; ++i)
      q.put(tracked{live, i});
    tracked refused{live, 99};
    EXPECT_TRUE(q.try_put(refused)); // the fifth slot
    EXPECT_FALSE(q.try_put(refused));
    EXPECT_EQ(live.load(), 6); // five queued, `refused` itself
    EXPECT_EQ(q.get().value, 0);
    EXPECT_EQ(live.load(), 5);
  }
  EXPECT_EQ(live.load(), 0) << "the queue must destroy the items it holds";
}

TEST(queue, blocked_puts_and_gets_on_a_bounded_queue_wake_on_close) {
  troupe::runtime rt;
  for (int round = 0; round < 20; ++round) {
    troupe::queue<int> empty_q{rt, {.capacity = 4}};
    troupe::queue<int> full_q{rt, {.capacity = 1}};
    full_q.put(0);
    std::atomic<int> entered{0};
    std::atomic<int> woke{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&] {
        ++entered;
        EXPECT_THROW(static_cast<void>(empty_q.get()), troupe::closed);
        ++woke;
      });
      threads.emplace_back([&] {
        ++entered;
        EXPECT_THROW(full_q.put(1), troupe::closed);
        ++woke;
      });
    }
    // Sometimes while they spin, mostly once they are parked.
    if (round % 4 != 0) {
      ASSERT_TRUE(eventually([&] { return entered.load() == 4; }));
    }
    empty_q.close();
    full_q.close();
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(woke.load(), 4);
    EXPECT_EQ(full_q.get(), 0); // what was queued is still drained
    EXPECT_THROW(static_cast<void>(full_q.get()), troupe::closed);
  }
}

TEST(queue, blocked_puts_and_gets_on_a_bounded_queue_throw_terminated) {
  troupe::runtime rt;
  troupe::queue<int> empty_q{rt, {.capacity = 4}};
  troupe::queue<int> full_q{rt, {.capacity = 1}};
  troupe::queue<int> started{rt};
  full_q.put(0);
  troupe::process getter{
    rt,
    [](troupe::queue<int> in, troupe::queue<int> started_in) {
      started_in.put(1);
      static_cast<void>(in.get());
    },
    empty_q, started};
  troupe::process putter{
    rt,
    [](troupe::queue<int> out, troupe::queue<int> started_in) {
      started_in.put(2);
      out.put(1);
    },
    full_q, started};
  getter.start();
  putter.start();
  EXPECT_EQ(started.get(deadline) + started.get(deadline), 3);
  getter.terminate();
  putter.terminate();
  ASSERT_TRUE(getter.join(deadline));
  ASSERT_TRUE(putter.join(deadline));
  EXPECT_EQ(getter.exitcode(), -15);
  EXPECT_EQ(putter.exitcode(), -15);
  EXPECT_EQ(putter.exit_reason(), "terminated");
  // Neither left anything behind: the queues still work.
  EXPECT_EQ(full_q.get_nowait(), 0);
  EXPECT_TRUE(empty_q.try_put(5));
  EXPECT_EQ(empty_q.get_nowait(), 5);
}

TEST(queue,
     a_full_bounded_queue_drops_or_refuses_exactly_the_items_it_did_not_store) {
  troupe::runtime rt;
  for (auto policy : {troupe::overflow::drop_newest, troupe::overflow::fail}) {
    constexpr int per_producer = 20000;
    troupe::queue<int> q{rt, {.capacity = 2, .overflow = policy}};
    std::atomic<int> stored{0};
    std::atomic<int> refused{0};
    std::atomic<int> taken{0};
    std::thread consumer{[&] {
      try {
        for (;;) {
          static_cast<void>(q.get());
          ++taken;
        }
      } catch (const troupe::closed&) {
      }
    }};
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p)
      producers.emplace_back([&] {
        for (int i = 0; i < per_producer; ++i) {
          if (policy == troupe::overflow::fail && i % 2 == 0) {
            try {
              q.put(i);
              ++stored;
            } catch (const troupe::full&) {
              ++refused;
            }
          } else if (q.try_put(i)) {
            ++stored;
          } else {
            ++refused;
          }
        }
      });
    for (auto& t : producers)
      t.join();
    q.close();
    consumer.join();
    EXPECT_EQ(stored.load() + refused.load(), 2 * per_producer);
    EXPECT_EQ(taken.load(), stored.load());
    if (policy == troupe::overflow::drop_newest)
      EXPECT_EQ(q.dropped(), static_cast<std::size_t>(refused.load()));
    else
      EXPECT_EQ(q.dropped(), 0u);
  }
}

TEST(queue, select_on_a_bounded_queue_wakes_for_a_put_that_takes_no_lock) {
  troupe::runtime rt;
  for (int round = 0; round < 200; ++round) {
    troupe::queue<int> other{rt, {.capacity = 2}};
    troupe::queue<int> q{rt, {.capacity = 2}};
    std::atomic<bool> selecting{false};
    std::thread producer{[&] {
      // Sometimes before select parks, mostly after.
      if (round % 4 != 0)
        while (!selecting.load())
          std::this_thread::yield();
      q.put(round);
    }};
    selecting = true;
    auto which = troupe::select(deadline, other, q);
    ASSERT_EQ(which, 1u) << "round " << round;
    EXPECT_EQ(q.get_nowait(), round);
    producer.join();
  }
  // The watcher was unregistered: puts take no lock again and still work.
  troupe::queue<int> q{rt, {.capacity = 2}};
  EXPECT_EQ(troupe::select(0ms, q), std::nullopt);
  q.put(1);
  EXPECT_EQ(troupe::select(0ms, q), 0u);
}

// Forwards every delivered item to `out`; quits on "quit".
caf::behavior forwarder(caf::event_based_actor* self, troupe::queue<int> out) {
  return {
    [out](troupe::delivery<int>& d) mutable { out.put(d.value()); },
    [self](const std::string&) { self->quit(); },
  };
}

TEST(queue, an_actor_attached_to_a_bounded_queue_receives_its_items_in_order) {
  troupe::runtime rt;
  constexpr int n = 20000;
  troupe::queue<int> in{rt, {.capacity = 8}};
  troupe::queue<int> out{rt};
  // The producer runs before and while the actor is attached: the items
  // put before (lock-free) and after must all arrive, in order.
  std::thread producer{[&] {
    for (int i = 0; i < n; ++i)
      in.put(i, deadline);
  }};
  ASSERT_TRUE(eventually([&] { return in.full(); }));
  auto a = troupe::spawn(rt, forwarder, out);
  auto link = troupe::attach(in, a, 3);
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(out.get(deadline), i);
  producer.join();
  EXPECT_TRUE(in.empty());
  link.detach();
  in.put(-1);
  EXPECT_EQ(in.get_nowait(), -1);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

} // namespace

// -- storage ------------------------------------------------------------------

namespace {

/// A type whose move may throw: it cannot live in a lock-free ring.
struct throwing_move {
  throwing_move() = default;
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&&) noexcept(false) {}
  throwing_move& operator=(const throwing_move&) = default;
};

/// Whether `st` is kept in storage `S`.
template <class S, class T>
bool kept_in(const std::shared_ptr<troupe::detail::queue_state<T>>& st) {
  return dynamic_cast<S*>(st.get()) != nullptr;
}

template <class T>
using ring = troupe::detail::ring_queue_state<T>;

template <class T>
using locked = troupe::detail::locked_queue_state<T, false>;

} // namespace

TEST(queue, the_storage_is_chosen_once_from_capacity_policy_and_type) {
  using troupe::overflow;
  using troupe::detail::make_queue_state;
  // Bounded, never evicting, nothrow moves: the lock-free ring.
  for (auto policy : {overflow::block, overflow::fail, overflow::drop_newest})
    EXPECT_TRUE(kept_in<ring<int>>(make_queue_state<int>(8, policy)));
  using move_only = std::unique_ptr<int>;
  EXPECT_TRUE(
    kept_in<ring<move_only>>(make_queue_state<move_only>(1, overflow::block)));
  // Everything else: the locked deque.
  EXPECT_TRUE(kept_in<locked<int>>(make_queue_state<int>(0, overflow::block)));
  EXPECT_TRUE(
    kept_in<locked<int>>(make_queue_state<int>(8, overflow::drop_oldest)));
  EXPECT_TRUE(kept_in<locked<throwing_move>>(
    make_queue_state<throwing_move>(8, overflow::block)));
}

TEST(queue, a_joinable_queue_is_a_queue) {
  troupe::runtime rt;
  troupe::joinable_queue<int> tasks{rt, {.capacity = 4}};
  troupe::queue<int> as_queue = tasks;
  as_queue.put(1);
  EXPECT_EQ(tasks.get(), 1);
  tasks.task_done();
  EXPECT_TRUE(tasks.join(0s));
  EXPECT_TRUE(as_queue == tasks);
  EXPECT_EQ(as_queue.capacity(), 4u);
}
