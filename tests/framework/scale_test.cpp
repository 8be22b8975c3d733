#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
namespace tp = troupe::this_process;

namespace {

TEST(scale, a_thousand_blocking_processes_run_at_once_and_are_joined) {
  troupe::runtime rt;
  constexpr int n = 1000;
  std::atomic<int> sum{0};
  std::vector<troupe::process> ps;
  ps.reserve(n);
  for (int i = 0; i < n; ++i) {
    ps.emplace_back(rt, [&sum] { sum += tp::receive<int>(); });
    ps.back().start();
  }
  // All are alive at once, each waiting in its mailbox.
  EXPECT_EQ(rt.active_processes().size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    ps[i].send(i);
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(sum, n * (n - 1) / 2);
  for (auto& p : ps)
    EXPECT_EQ(p.exitcode(), 0);
}

TEST(scale, a_hundred_thousand_event_based_actors_spawn_and_finish) {
  troupe::runtime rt;
  constexpr int n = 100'000;
  std::atomic<int> ran{0};
  std::vector<troupe::actor> actors;
  actors.reserve(n);
  auto once = [&ran](caf::event_based_actor* self) -> caf::behavior {
    return {[self, &ran](int x) {
      ran += x;
      self->quit();
    }};
  };
  for (int i = 0; i < n; ++i) {
    actors.push_back(troupe::spawn(rt, once));
    actors.back().send(1);
  }
  for (auto& a : actors)
    ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(ran, n);
  EXPECT_TRUE(
    troupe::test::eventually([&] { return rt.active_processes().empty(); }));
}

} // namespace
