#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
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

TEST(joinable_queue, join_returns_once_every_item_was_marked_done) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  for (int i = 0; i < 3; ++i)
    q.put(i);
  EXPECT_FALSE(q.join(5ms));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(q.get(), i);
    EXPECT_FALSE(q.join(1ms)) << "item " << i << " is not done yet";
    q.task_done();
  }
  EXPECT_TRUE(q.join(deadline));
  q.join();
}

TEST(joinable_queue, task_done_called_too_often_throws_value_error) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  q.put(1);
  try {
    q.task_done();
    FAIL() << "task_done() before any get() must throw";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("task_done() called too many times"),
              std::string::npos);
  }
  EXPECT_EQ(q.get(), 1);
  q.task_done();
  EXPECT_THROW(q.task_done(), troupe::value_error);
}

TEST(joinable_queue, workers_process_every_task_and_join_returns) {
  troupe::runtime rt;
  troupe::joinable_queue<int> tasks{rt};
  troupe::queue<int> results{rt};
  auto worker
    = [](troupe::joinable_queue<int> tasks_in, troupe::queue<int> results_in) {
        try {
          for (;;) {
            auto x = tasks_in.get();
            results_in.put(x * x);
            tasks_in.task_done();
          }
        } catch (const troupe::closed&) {
        }
      };
  std::vector<troupe::process> workers;
  for (int i = 0; i < 3; ++i) {
    workers.emplace_back(rt, worker, tasks, results);
    workers.back().start();
  }
  long expected = 0;
  for (int i = 0; i < 1000; ++i) {
    tasks.put(i);
    expected += long{i} * i;
  }
  ASSERT_TRUE(tasks.join(deadline));
  EXPECT_EQ(results.qsize(), 1000u);
  long sum = 0;
  while (auto r = results.try_get())
    sum += *r;
  EXPECT_EQ(sum, expected);
  tasks.close();
  for (auto& w : workers)
    ASSERT_TRUE(w.join(deadline));
}

TEST(joinable_queue, an_item_held_by_a_consumer_that_fails_is_redelivered) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  q.put(1);
  q.put(2);
  troupe::process failing{rt,
                          [](troupe::joinable_queue<int> q_in) {
                            static_cast<void>(q_in.get());
                            throw std::runtime_error{"consumer crashed"};
                          },
                          q};
  failing.start();
  ASSERT_TRUE(failing.join(deadline));
  EXPECT_EQ(failing.exitcode(), 1);
  // Item 1 went back to the front of the queue.
  EXPECT_EQ(q.qsize(), 2u);
  EXPECT_EQ(q.get(), 1);
  q.task_done();
  EXPECT_EQ(q.get(), 2);
  q.task_done();
  EXPECT_TRUE(q.join(deadline));
}

TEST(joinable_queue, an_item_held_by_a_consumer_that_returns_is_redelivered) {
  troupe::runtime rt;
  troupe::joinable_queue<std::string> q{rt};
  q.put("job");
  troupe::process forgetful{rt,
                            [](troupe::joinable_queue<std::string> q_in) {
                              static_cast<void>(q_in.get());
                            },
                            q};
  forgetful.start();
  ASSERT_TRUE(forgetful.join(deadline));
  EXPECT_EQ(q.get(deadline), "job");
  q.task_done();
  EXPECT_TRUE(q.join(deadline));
}

TEST(joinable_queue, an_item_held_by_a_killed_consumer_is_redelivered) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  troupe::event took{rt};
  q.put(7);
  troupe::process stuck{
    rt,
    [](troupe::joinable_queue<int> q_in, troupe::event took_in) {
      static_cast<void>(q_in.get());
      took_in.set();
      troupe::this_process::sleep_for(1h);
    },
    q, took};
  stuck.start();
  ASSERT_TRUE(took.wait(deadline));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.join(1ms));
  stuck.kill();
  ASSERT_TRUE(stuck.join(deadline));
  EXPECT_EQ(q.get(deadline), 7);
  q.task_done();
  EXPECT_TRUE(q.join(deadline));
}

TEST(joinable_queue, the_report_policy_counts_the_item_done_and_keeps_it) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{
    rt, {.on_consumer_exit = troupe::consumer_exit_policy::report}};
  q.put(42);
  troupe::process p{rt,
                    [](troupe::joinable_queue<int> q_in) {
                      static_cast<void>(q_in.get());
                      throw std::runtime_error{"boom"};
                    },
                    q};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(q.join(deadline)) << "join() must not hang on a dead consumer";
  EXPECT_EQ(q.take_failed(), std::vector<int>{42});
  EXPECT_TRUE(q.empty());
}

TEST(joinable_queue, join_in_another_thread_wakes_when_the_last_task_is_done) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  q.put(1);
  std::atomic<bool> joined{false};
  std::thread joiner{[&] {
    q.join();
    joined = true;
  }};
  EXPECT_EQ(q.get(), 1);
  EXPECT_FALSE(joined.load());
  q.task_done();
  joiner.join();
  EXPECT_TRUE(joined.load());
}

/// An item whose copy throws while `copies_throw` is set (its move never
/// does).
struct fragile {
  static inline std::atomic<bool> copies_throw{false};
  int value = 0;

  fragile() = default;
  explicit fragile(int v) : value(v) {}
  fragile(const fragile& other) : value(other.value) {
    if (copies_throw)
      throw std::runtime_error{"fragile: cannot copy"};
  }
  fragile(fragile&& other) noexcept = default;
  fragile& operator=(const fragile&) = default;
  fragile& operator=(fragile&&) noexcept = default;
};

TEST(joinable_queue,
     a_get_whose_copy_for_redelivery_throws_leaves_the_item_queued) {
  troupe::runtime rt;
  troupe::joinable_queue<fragile> q{rt};
  q.put(fragile{7});
  fragile::copies_throw = true;
  EXPECT_THROW(static_cast<void>(q.get()), std::runtime_error);
  fragile::copies_throw = false;
  EXPECT_EQ(q.qsize(), 1u) << "the item must not be lost";
  EXPECT_FALSE(q.join(1ms));
  EXPECT_EQ(q.get().value, 7);
  q.task_done();
  EXPECT_TRUE(q.join(deadline)) << "join() must return once it is done";
}

TEST(joinable_queue,
     a_killed_consumers_item_is_redelivered_only_once_its_thread_left) {
  troupe::runtime rt;
  troupe::joinable_queue<int> q{rt};
  auto took = std::make_shared<std::atomic<bool>>(false);
  auto go = std::make_shared<std::atomic<bool>>(false);
  q.put(5);
  troupe::process p{rt, [q, took, go]() mutable {
                      static_cast<void>(q.get());
                      *took = true;
                      while (!*go) {
                        // no troupe call: kill() cannot stop this thread
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return took->load(); }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(q.try_get(30ms), std::nullopt)
    << "redelivered while the killed consumer still processes it";
  *go = true;
  EXPECT_EQ(q.get(deadline), 5) << "redelivered once its thread left";
  q.task_done();
  EXPECT_TRUE(q.join(deadline));
}

} // namespace
