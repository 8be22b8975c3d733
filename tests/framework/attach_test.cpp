#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include <troupe/attach.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

// Forwards every delivered item to `out`; quits on "quit".
caf::behavior forwarder(caf::event_based_actor* self, troupe::queue<int> out) {
  return {
    [out](troupe::delivery<int>& d) mutable { out.put(d.value()); },
    [self](const std::string&) { self->quit(); },
  };
}

// Keeps delivered items (and so their credit) until told "release"; with
// `ack`, answers each "release" with -1 in `out` once the credit went back.
caf::behavior hoarder(caf::event_based_actor* self, troupe::queue<int> out,
                      bool ack) {
  auto kept = std::make_shared<std::vector<troupe::delivery<int>>>();
  return {
    [out, kept](troupe::delivery<int>& d) mutable {
      out.put(d.value());
      kept->push_back(std::move(d));
    },
    [self, out, kept, ack](const std::string& what) mutable {
      kept->clear(); // gives the credit back
      if (ack)
        out.put(-1);
      if (what == "quit")
        self->quit();
    },
  };
}

// Forwards every item of each batch to `out`, and each batch's size to
// `sizes`; quits on "quit".
caf::behavior batch_forwarder(caf::event_based_actor* self,
                              troupe::queue<int> out,
                              troupe::queue<std::size_t> sizes) {
  return {
    [out, sizes](troupe::deliveries<int>& xs) mutable {
      sizes.put(xs.size());
      for (int x : xs)
        out.put(x);
    },
    [self](const std::string&) { self->quit(); },
  };
}

// Keeps delivered batches (and so their credit) until told "release".
caf::behavior batch_hoarder(caf::event_based_actor* self,
                            troupe::queue<int> out) {
  auto kept = std::make_shared<std::vector<troupe::deliveries<int>>>();
  return {
    [out, kept](troupe::deliveries<int>& xs) mutable {
      for (int x : xs)
        out.put(x);
      kept->push_back(std::move(xs));
    },
    [self, kept](const std::string& what) {
      kept->clear(); // gives the credit back
      if (what == "quit")
        self->quit();
    },
  };
}

// Forwards `{producer, sequence}` items; counts them in `n`.
caf::behavior pair_forwarder(caf::event_based_actor* self,
                             troupe::queue<std::pair<int, int>> out) {
  return {
    [out](troupe::delivery<std::pair<int, int>>& d) mutable {
      out.put(d.value());
    },
    [out](troupe::deliveries<std::pair<int, int>>& xs) mutable {
      for (auto& x : xs)
        out.put(x);
    },
    [self](const std::string&) { self->quit(); },
  };
}

/// Runs `producers` threads putting `per_producer` items each into `in`
/// (attached to an actor forwarding them to `out`) and checks that each
/// item arrives exactly once, in order per producer.
void expect_each_item_once_in_order(troupe::queue<std::pair<int, int>>& in,
                                    troupe::queue<std::pair<int, int>>& out,
                                    int producers, int per_producer) {
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&in, p, per_producer] {
      for (int i = 0; i < per_producer; ++i)
        in.put({p, i}, deadline);
    });
  std::vector<int> next(static_cast<std::size_t>(producers), 0);
  for (int k = 0; k < producers * per_producer; ++k) {
    auto [p, i] = out.get(deadline);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, producers);
    auto& expected = next[static_cast<std::size_t>(p)];
    ASSERT_EQ(i, expected) << "producer " << p << ": out of order or twice";
    ++expected;
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(out.try_get(), std::nullopt) << "an item arrived twice";
}

TEST(attach, an_attached_actor_receives_every_item_in_queue_order) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, forwarder, out);
  troupe::attach(in, a, 4);
  for (int i = 0; i < 1000; ++i)
    in.put(i);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(out.get(deadline), i);
  EXPECT_TRUE(in.empty());
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, items_queued_before_attaching_are_delivered_too) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  in.put(1);
  in.put(2);
  auto a = troupe::spawn(rt, forwarder, out);
  troupe::attach(in, a);
  EXPECT_EQ(out.get(deadline), 1);
  EXPECT_EQ(out.get(deadline), 2);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach,
     no_more_than_the_credit_is_in_flight_so_a_slow_actor_backpressures) {
  troupe::runtime rt;
  troupe::queue<int> in{rt, {.capacity = 5}};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, hoarder, out, false);
  troupe::attach(in, a, 3);
  for (int i = 0; i < 8; ++i)
    in.put(i); // 3 go to the actor, 5 fill the queue
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(out.get(deadline), i);
  EXPECT_EQ(in.qsize(), 5u);
  EXPECT_TRUE(in.full());
  EXPECT_FALSE(in.try_put(99)) << "the producer is held back";
  EXPECT_EQ(out.try_get(), std::nullopt) << "no fourth item in flight";
  a.send(std::string{"release"});
  for (int i = 3; i < 6; ++i)
    EXPECT_EQ(out.get(deadline), i);
  a.send(std::string{"release"});
  for (int i = 6; i < 8; ++i)
    EXPECT_EQ(out.get(deadline), i);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, after_detach_items_stay_in_the_queue) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, forwarder, out);
  auto link = troupe::attach(in, a);
  in.put(1);
  EXPECT_EQ(out.get(deadline), 1);
  link.detach();
  in.put(2);
  EXPECT_EQ(in.get(deadline), 2);
  EXPECT_EQ(out.try_get(), std::nullopt);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, when_the_actor_ends_later_items_stay_in_the_queue) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, forwarder, out);
  troupe::attach(in, a);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
  ASSERT_TRUE(eventually([&] {
    // The end is noticed at once or by the first delivery that bounces.
    in.put(7);
    return in.qsize() > 0;
  }));
  EXPECT_GE(in.get(deadline), 7);
}

TEST(attach, invalid_arguments_throw_value_error) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  EXPECT_THROW(troupe::attach(in, caf::actor{}), troupe::value_error);
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, forwarder, out);
  EXPECT_THROW(troupe::attach(in, a, 0), troupe::value_error);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, producers_racing_the_actor_deliver_each_item_once_in_order) {
  troupe::runtime rt;
  for (bool batched : {false, true}) {
    for (std::size_t capacity : {std::size_t{0}, std::size_t{16}}) {
      // 0: unbounded (a deque, pumped under the lock); 16: the lock-free
      // ring, whose pump whichever thread asks first runs.
      SCOPED_TRACE(testing::Message()
                   << "batched " << batched << ", capacity " << capacity);
      troupe::queue<std::pair<int, int>> in{rt, {.capacity = capacity}};
      troupe::queue<std::pair<int, int>> out{rt};
      auto a = troupe::spawn(rt, pair_forwarder, out);
      auto link
        = batched ? troupe::attach_batched(in, a, {.credit = 8, .max_batch = 3})
                  : troupe::attach(in, a, 3);
      expect_each_item_once_in_order(in, out, 4, 5000);
      link.detach();
      a.send(std::string{"quit"});
      ASSERT_TRUE(a.join(deadline));
    }
  }
}

TEST(attach, batches_carry_what_is_queued_up_to_max_batch_in_order) {
  troupe::runtime rt;
  for (std::size_t capacity : {std::size_t{0}, std::size_t{64}}) {
    troupe::queue<int> in{rt, {.capacity = capacity}};
    troupe::queue<int> out{rt};
    troupe::queue<std::size_t> sizes{rt};
    for (int i = 0; i < 50; ++i)
      in.put(i); // queued before attaching: sent as full batches
    auto a = troupe::spawn(rt, batch_forwarder, out, sizes);
    troupe::attach_batched(in, a, {.credit = 1000, .max_batch = 8});
    for (int i = 50; i < 1000; ++i)
      in.put(i);
    for (int i = 0; i < 1000; ++i)
      ASSERT_EQ(out.get(deadline), i);
    std::size_t total = 0;
    std::size_t first = sizes.get(deadline);
    EXPECT_EQ(first, 8u) << "items already queued fill a batch";
    total += first;
    while (auto n = sizes.try_get()) {
      EXPECT_GE(*n, 1u);
      EXPECT_LE(*n, 8u);
      total += *n;
    }
    EXPECT_EQ(total, 1000u);
    a.send(std::string{"quit"});
    ASSERT_TRUE(a.join(deadline));
  }
}

TEST(attach, batched_credit_counts_items_so_a_slow_actor_backpressures) {
  troupe::runtime rt;
  troupe::queue<int> in{rt, {.capacity = 4}};
  troupe::queue<int> out{rt};
  for (int i = 0; i < 4; ++i)
    in.put(i);
  auto a = troupe::spawn(rt, batch_hoarder, out);
  // [0, 1] and [2] go to the actor (the credit, 3, cuts the second batch)
  troupe::attach_batched(in, a, {.credit = 3, .max_batch = 2});
  for (int i = 4; i < 7; ++i)
    in.put(i, deadline); // 3, 4, 5, 6 fill the queue
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(out.get(deadline), i);
  EXPECT_TRUE(in.full());
  EXPECT_FALSE(in.try_put(99)) << "the producer is held back";
  EXPECT_EQ(out.try_get(), std::nullopt) << "no fourth item in flight";
  a.send(std::string{"release"});
  for (int i = 3; i < 6; ++i)
    EXPECT_EQ(out.get(deadline), i);
  a.send(std::string{"release"});
  EXPECT_EQ(out.get(deadline), 6);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, at_most_two_batches_are_in_flight_whatever_the_credit) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, batch_hoarder, out);
  troupe::attach_batched(in, a, {.credit = 100, .max_batch = 1});
  for (int i = 0; i < 5; ++i)
    in.put(i);
  EXPECT_EQ(out.get(deadline), 0);
  EXPECT_EQ(out.get(deadline), 1);
  EXPECT_THROW((void)out.get(50ms), troupe::empty)
    << "a third batch waits until one of two is handled";
  EXPECT_EQ(in.qsize(), 3u);
  a.send(std::string{"release"});
  EXPECT_EQ(out.get(deadline), 2);
  EXPECT_EQ(out.get(deadline), 3);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

TEST(attach, a_new_attachment_replaces_the_old_and_ignores_its_late_credit) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> first_out{rt};
  troupe::queue<int> second_out{rt};
  auto first = troupe::spawn(rt, hoarder, first_out, true);
  auto second = troupe::spawn(rt, hoarder, second_out, true);
  troupe::attach(in, first, 2);
  in.put(0);
  in.put(1);
  EXPECT_EQ(first_out.get(deadline), 0);
  EXPECT_EQ(first_out.get(deadline), 1);
  troupe::attach(in, second, 1);
  // The first actor hands back its two credits after the switch: they
  // must neither bring it more items nor widen the second one's credit.
  first.send(std::string{"release"});
  EXPECT_EQ(first_out.get(deadline), -1);
  for (int i = 2; i < 5; ++i)
    in.put(i);
  EXPECT_EQ(second_out.get(deadline), 2);
  EXPECT_THROW((void)second_out.get(50ms), troupe::empty)
    << "one credit: one item in flight";
  EXPECT_EQ(in.qsize(), 2u);
  EXPECT_EQ(first_out.try_get(), std::nullopt);
  second.send(std::string{"release"});
  EXPECT_EQ(second_out.get(deadline), -1);
  EXPECT_EQ(second_out.get(deadline), 3);
  first.send(std::string{"quit"});
  second.send(std::string{"quit"});
  ASSERT_TRUE(first.join(deadline));
  ASSERT_TRUE(second.join(deadline));
}

TEST(attach, once_detach_returns_no_item_is_sent_even_with_producers_racing) {
  troupe::runtime rt;
  for (std::size_t capacity : {std::size_t{0}, std::size_t{32}}) {
    troupe::queue<int> in{rt, {.capacity = capacity}};
    troupe::queue<int> out{rt};
    auto a = troupe::spawn(rt, forwarder, out);
    auto link = troupe::attach(in, a, 4);
    std::atomic<bool> stop{false};
    std::atomic<int> put{0};
    std::thread producer{[&] {
      for (int i = 0; !stop.load();) {
        if (in.try_put(i)) {
          ++i;
          put.fetch_add(1);
        } else {
          std::this_thread::yield();
        }
      }
    }};
    ASSERT_TRUE(eventually([&] { return put.load() > 1000; }));
    link.detach();
    stop.store(true);
    producer.join();
    // Everything put was delivered before the detach or is still queued:
    // the actor's items and the queue's together are each item once.
    a.send(std::string{"quit"});
    ASSERT_TRUE(a.join(deadline));
    std::vector<int> seen;
    while (auto x = out.try_get())
      seen.push_back(*x);
    while (auto x = in.try_get())
      seen.push_back(*x);
    ASSERT_EQ(static_cast<int>(seen.size()), put.load());
    for (int i = 0; i < put.load(); ++i)
      ASSERT_EQ(seen[static_cast<std::size_t>(i)], i);
  }
}

TEST(attach, attach_batched_rejects_a_zero_credit_or_batch) {
  troupe::runtime rt;
  troupe::queue<int> in{rt};
  troupe::queue<int> out{rt};
  troupe::queue<std::size_t> sizes{rt};
  auto a = troupe::spawn(rt, batch_forwarder, out, sizes);
  EXPECT_THROW(troupe::attach_batched(in, a, {.credit = 0}),
               troupe::value_error);
  EXPECT_THROW(troupe::attach_batched(in, a, {.max_batch = 0}),
               troupe::value_error);
  EXPECT_THROW(troupe::attach_batched(in, caf::actor{}), troupe::value_error);
  a.send(std::string{"quit"});
  ASSERT_TRUE(a.join(deadline));
}

} // namespace
