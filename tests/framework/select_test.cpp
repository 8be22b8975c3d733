#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

TEST(select, returns_the_index_of_the_first_ready_channel) {
  troupe::runtime rt;
  troupe::queue<int> q1{rt};
  troupe::queue<std::string> q2{rt};
  troupe::event ev{rt};
  q2.put("x");
  EXPECT_EQ(troupe::select(q1, q2, ev), 1u);
  ev.set();
  EXPECT_EQ(troupe::select(q1, ev, q2), 1u);
  q1.put(1);
  EXPECT_EQ(troupe::select(q1, ev, q2), 0u);
}

TEST(select, gives_up_after_the_timeout) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  auto [a, b] = troupe::pipe<int>{rt};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(troupe::select(30ms, q, a), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_THROW(static_cast<void>(troupe::select(-1ms, q)),
               troupe::value_error);
}

TEST(select, wakes_when_an_item_arrives_on_any_channel) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::simple_queue<int> sq{rt};
  auto [a, b] = troupe::pipe<int>{rt};
  troupe::process p{rt, [](troupe::connection<int, int> c) { c.send(9); }, b};
  p.start();
  auto which = troupe::select(deadline, q, sq, a);
  ASSERT_EQ(which, 2u);
  EXPECT_EQ(a.recv(), 9);
  ASSERT_TRUE(p.join(deadline));
  // The child ended, so its end closed: `a` now reads end of file, which
  // counts as ready too.
  EXPECT_EQ(troupe::select(0ms, q, sq, a), 2u);
  std::thread t{[&] { sq.put(4); }};
  EXPECT_EQ(troupe::select(deadline, q, sq), 1u);
  EXPECT_EQ(sq.get(), 4);
  t.join();
}

TEST(select, a_closed_queue_counts_as_ready) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::event ev{rt};
  std::thread closer{[&] { q.close(); }};
  EXPECT_EQ(troupe::select(deadline, ev, q), 1u);
  closer.join();
  EXPECT_THROW(static_cast<void>(q.get()), troupe::closed);
}

} // namespace
