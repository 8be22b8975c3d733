#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

int square(int x) {
  return x * x;
}

TEST(pool_apply, apply_returns_the_value_computed_on_a_worker) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  EXPECT_EQ(p.apply(square, 7), 49);
  auto me = troupe::current_process().pid();
  auto there = p.apply([] { return troupe::current_process().pid(); });
  EXPECT_NE(there, me);
  auto names = p.apply([] { return troupe::current_process().name(); });
  EXPECT_EQ(names.rfind("PoolWorker-", 0), 0U) << names;
}

TEST(pool_apply, apply_async_get_returns_the_value) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto r = p.apply_async(square, 20);
  EXPECT_EQ(r.get(deadline), 400);
  EXPECT_TRUE(r.ready());
  EXPECT_TRUE(r.successful());
  EXPECT_EQ(r.get(), 400) << "get() may be called again";
}

TEST(pool_apply, apply_async_of_a_void_function_completes) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  std::atomic<int> hits{0};
  auto r = p.apply_async([&hits] { ++hits; });
  r.get(deadline);
  EXPECT_EQ(hits.load(), 1);
}

TEST(pool_apply,
     a_task_exception_is_rethrown_by_get_with_its_type_and_message) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto r = p.apply_async(
    [](int x) -> int {
      throw std::invalid_argument("bad input " + std::to_string(x));
    },
    3);
  try {
    static_cast<void>(r.get(deadline));
    FAIL() << "get() must rethrow";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad input 3");
  }
  EXPECT_FALSE(r.successful());
  EXPECT_THROW(p.apply([] { throw std::out_of_range("oops"); }),
               std::out_of_range);
  auto description = troupe::ext::describe_exception(r.exception());
  EXPECT_EQ(description, "std::invalid_argument: bad input 3");
}

TEST(pool_apply, get_with_a_timeout_throws_timeout_error_while_the_task_runs) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  troupe::event go{rt};
  auto r = p.apply_async([go]() mutable {
    go.wait();
    return 5;
  });
  EXPECT_THROW(static_cast<void>(r.get(10ms)), troupe::timeout_error);
  EXPECT_FALSE(r.ready());
  EXPECT_FALSE(r.wait(1ms));
  go.set();
  EXPECT_EQ(r.get(deadline), 5);
}

TEST(pool_apply, successful_throws_value_error_before_the_result_is_ready) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  troupe::event go{rt};
  auto r = p.apply_async([go]() mutable { go.wait(); });
  EXPECT_THROW(static_cast<void>(r.successful()), troupe::value_error);
  go.set();
  r.wait();
  EXPECT_TRUE(r.successful());
  troupe::async_result<int> none;
  EXPECT_FALSE(none.valid());
  EXPECT_THROW(static_cast<void>(none.ready()), troupe::state_error);
}

TEST(pool_callbacks,
     callbacks_run_on_one_thread_that_is_no_worker_and_before_ready) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::mutex mtx;
  std::vector<std::thread::id> threads;
  std::vector<int> values;
  std::vector<troupe::async_result<std::thread::id>> results;
  for (int i = 0; i < 20; ++i)
    results.push_back(
      p.apply_async(troupe::callback([&](const std::thread::id&) {
                      std::lock_guard guard{mtx};
                      threads.push_back(std::this_thread::get_id());
                      values.push_back(static_cast<int>(values.size()));
                    }),
                    [] { return std::this_thread::get_id(); }));
  for (auto& r : results) {
    auto worker_thread = r.get(deadline);
    std::lock_guard guard{mtx};
    // ready() only after the callback ran, as in Python.
    EXPECT_FALSE(threads.empty());
    for (auto id : threads) {
      EXPECT_NE(id, worker_thread) << "a callback ran on a worker";
      EXPECT_NE(id, std::this_thread::get_id());
    }
  }
  std::lock_guard guard{mtx};
  ASSERT_EQ(threads.size(), 20U);
  for (auto id : threads)
    EXPECT_EQ(id, threads.front()) << "callbacks share one thread";
}

TEST(pool_callbacks, error_callback_gets_the_task_exception) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  std::string seen;
  auto r = p.apply_async(
    troupe::error_callback([&](const std::exception& e) { seen = e.what(); }),
    [] { throw std::runtime_error("disk full"); });
  r.wait();
  EXPECT_EQ(seen, "disk full");
  std::exception_ptr ptr;
  auto r2 = p.apply_async(
    troupe::callback([](int) {}, [&](std::exception_ptr e) { ptr = e; }),
    [](int x) -> int {
      if (x > 0)
        throw std::logic_error("no");
      return x;
    },
    1);
  r2.wait();
  ASSERT_TRUE(ptr);
  EXPECT_THROW(std::rethrow_exception(ptr), std::logic_error);
}

TEST(pool_callbacks,
     a_throwing_callback_is_reported_and_the_result_still_completes) {
  troupe::runtime rt;
  std::mutex mtx;
  std::vector<std::string> reports;
  troupe::pool p{
    rt, {.processes = 1, .on_callback_error = [&](std::exception_ptr e) {
           std::lock_guard guard{mtx};
           reports.push_back(troupe::ext::describe_exception(e));
         }}};
  auto r = p.apply_async(
    troupe::callback([](int) { throw std::runtime_error("callback broke"); }),
    square, 3);
  EXPECT_EQ(r.get(deadline), 9);
  std::lock_guard guard{mtx};
  ASSERT_EQ(reports.size(), 1U);
  EXPECT_EQ(reports[0], "std::runtime_error: callback broke");
}

TEST(pool_callbacks, a_slow_callback_does_not_stall_the_workers) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  troupe::event release{rt};
  auto slow = p.apply_async(
    troupe::callback([release](int) mutable { release.wait(); }), square, 2);
  // The callback thread is stuck; the worker still runs more tasks.
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(p.apply(square, i), i * i);
  EXPECT_FALSE(slow.ready());
  release.set();
  EXPECT_EQ(slow.get(deadline), 4);
}

} // namespace
