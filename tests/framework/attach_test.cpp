#include <memory>
#include <string>
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

// Keeps delivered items (and so their credit) until told "release".
caf::behavior hoarder(caf::event_based_actor* self, troupe::queue<int> out) {
  auto kept = std::make_shared<std::vector<troupe::delivery<int>>>();
  return {
    [out, kept](troupe::delivery<int>& d) mutable {
      out.put(d.value());
      kept->push_back(std::move(d));
    },
    [self, kept](const std::string& what) {
      kept->clear(); // gives the credit back
      if (what == "quit")
        self->quit();
    },
  };
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

TEST(attach, no_more_than_the_credit_is_in_flight_so_a_slow_actor_backpressures) {
  troupe::runtime rt;
  troupe::queue<int> in{rt, {.capacity = 5}};
  troupe::queue<int> out{rt};
  auto a = troupe::spawn(rt, hoarder, out);
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

} // namespace
