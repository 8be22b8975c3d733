// ext::mpsc_stack: pushes from any thread, taken whole, oldest first.

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/ext/mpsc_stack.hpp>

namespace {

struct node {
  int producer = 0;
  int seq = 0;
  node* next = nullptr;
};

} // namespace

TEST(mpsc_stack, takes_everything_oldest_first_and_is_then_empty) {
  troupe::ext::mpsc_stack<node> s;
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.take_all(), nullptr);
  std::vector<node> nodes(4);
  for (int i = 0; i < 4; ++i) {
    nodes[i].seq = i;
    s.push(&nodes[i]);
  }
  EXPECT_FALSE(s.empty());
  std::vector<int> seen;
  for (auto* p = s.take_all(); p != nullptr; p = p->next)
    seen.push_back(p->seq);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.take_all(), nullptr);
}

// Producers push while the consumer takes: nothing is lost or duplicated,
// and each producer's nodes come out in the order it pushed them.
TEST(mpsc_stack, concurrent_pushes_lose_nothing_and_keep_each_producers_order) {
  troupe::ext::mpsc_stack<node> s;
  constexpr int producers = 3;
  constexpr int per_producer = 20000;
  std::vector<std::vector<node>> nodes(producers,
                                       std::vector<node>(per_producer));
  std::vector<std::thread> threads;
  for (int t = 0; t < producers; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_producer; ++i) {
        nodes[t][i].producer = t;
        nodes[t][i].seq = i;
        s.push(&nodes[t][i]);
      }
    });
  std::vector<int> next(producers, 0);
  int taken = 0;
  bool ordered = true;
  while (taken < producers * per_producer) {
    for (auto* p = s.take_all(); p != nullptr; p = p->next) {
      ordered = ordered && p->seq == next[p->producer];
      next[p->producer] = p->seq + 1;
      ++taken;
    }
    std::this_thread::yield();
  }
  for (auto& th : threads)
    th.join();
  EXPECT_TRUE(ordered);
  EXPECT_EQ(taken, producers * per_producer);
  EXPECT_TRUE(s.empty());
}
