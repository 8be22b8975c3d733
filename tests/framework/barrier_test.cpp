#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(barrier, all_parties_pass_together_and_the_last_runs_the_action) {
  troupe::runtime rt;
  std::atomic<int> actions{0};
  troupe::barrier b{rt, 3, [&actions] { ++actions; }};
  EXPECT_EQ(b.parties(), 3u);
  std::atomic<int> before{0};
  std::atomic<bool> early{false};
  std::mutex mtx;
  std::multiset<std::size_t> indices;
  std::vector<troupe::process> ps;
  for (int i = 0; i < 3; ++i) {
    ps.emplace_back(rt, [b, &before, &early, &mtx, &indices]() mutable {
      for (int round = 0; round < 50; ++round) {
        ++before;
        auto index = b.wait();
        if (before < 3 * (round + 1))
          early = true;
        {
          std::lock_guard guard{mtx};
          indices.insert(index);
        }
        b.wait(); // keep rounds apart
      }
    });
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_FALSE(early);
  EXPECT_EQ(actions, 100);
  EXPECT_EQ(indices.count(0), 50u);
  EXPECT_EQ(indices.count(2), 50u);
  EXPECT_FALSE(b.broken());
}

TEST(barrier, a_timeout_breaks_it_for_every_waiter_until_reset) {
  troupe::runtime rt;
  troupe::barrier b{rt, 3};
  std::string other;
  troupe::process p{rt, [b, &other]() mutable {
                      try {
                        b.wait();
                      } catch (const troupe::broken_barrier& e) {
                        other = e.what();
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return b.n_waiting() == 1; }));
  try {
    b.wait(5ms);
    FAIL() << "wait(5ms) passed a barrier of 3";
  } catch (const troupe::broken_barrier& e) {
    EXPECT_TRUE(contains(e.what(), "timed out")) << e.what();
  }
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(contains(other, "timed out")) << other;
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(b.wait(), troupe::broken_barrier);
  b.reset();
  EXPECT_FALSE(b.broken());
  EXPECT_EQ(b.n_waiting(), 0u);
}

TEST(barrier, abort_and_reset_break_the_current_waiters) {
  troupe::runtime rt;
  troupe::barrier b{rt, 2};
  std::atomic<int> broken{0};
  auto waiter = [b, &broken]() mutable {
    try {
      b.wait();
    } catch (const troupe::broken_barrier&) {
      ++broken;
    }
  };
  troupe::process p{rt, waiter};
  p.start();
  ASSERT_TRUE(eventually([&] { return b.n_waiting() == 1; }));
  b.abort();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(broken, 1);
  b.reset();
  troupe::process q{rt, waiter};
  q.start();
  ASSERT_TRUE(eventually([&] { return b.n_waiting() == 1; }));
  b.reset();
  ASSERT_TRUE(q.join(deadline));
  EXPECT_EQ(broken, 2);
  EXPECT_FALSE(b.broken());
}

TEST(barrier, a_party_that_ends_breaks_it_instead_of_leaving_others_waiting) {
  troupe::runtime rt;
  troupe::barrier b{rt, 3};
  std::string seen;
  troupe::process quitter{rt, {.name = "quitter"}, [b]() mutable {
                            b.wait(); // round 1 with the others
                            troupe::this_process::receive<int>();
                          }};
  troupe::process stayer{rt, [b, &seen]() mutable {
                           b.wait();
                           try {
                             b.wait(); // round 2: the quitter never comes
                           } catch (const troupe::broken_barrier& e) {
                             seen = e.what();
                           }
                         }};
  quitter.start();
  stayer.start();
  b.wait();
  ASSERT_TRUE(eventually([&] { return b.n_waiting() == 1; }));
  quitter.kill();
  ASSERT_TRUE(stayer.join(deadline));
  EXPECT_TRUE(contains(seen, "party process 'quitter'")) << seen;
  EXPECT_TRUE(b.broken());
}

TEST(barrier, a_throwing_action_breaks_it_and_reaches_its_caller) {
  troupe::runtime rt;
  troupe::barrier b{rt, 1, [] { throw std::runtime_error("action failed"); }};
  EXPECT_THROW(b.wait(), std::runtime_error);
  EXPECT_TRUE(b.broken());
  EXPECT_THROW(troupe::barrier(rt, 0), troupe::value_error);
}

TEST(barrier, a_waiter_asked_to_stop_throws_terminated_and_breaks_it) {
  troupe::runtime rt;
  troupe::barrier b{rt, 2};
  troupe::process p{rt, [b]() mutable { b.wait(); }};
  p.start();
  ASSERT_TRUE(eventually([&] { return b.n_waiting() == 1; }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_TRUE(b.broken());
}

} // namespace
