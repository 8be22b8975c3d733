#include <atomic>
#include <chrono>
#include <mutex>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
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

bool message_has(const std::exception& e, const std::string& part) {
  return std::string{e.what()}.find(part) != std::string::npos;
}

TEST(pool_lifecycle, submissions_after_close_throw_pool_not_running) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  p.close();
  try {
    static_cast<void>(p.apply_async(square, 1));
    FAIL() << "apply_async after close must throw";
  } catch (const troupe::value_error& e) {
    EXPECT_STREQ(e.what(), "pool not running");
  }
  EXPECT_THROW(static_cast<void>(p.map(square, std::vector<int>{1})),
               troupe::value_error);
  EXPECT_THROW(static_cast<void>(p.imap(square, std::vector<int>{1})),
               troupe::value_error);
  p.close(); // idempotent
  p.join();
}

TEST(pool_lifecycle, submissions_after_terminate_throw_pool_not_running) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  p.terminate();
  EXPECT_THROW(static_cast<void>(p.apply(square, 1)), troupe::value_error);
  p.terminate(); // idempotent
  p.join();
  p.join();
}

TEST(pool_lifecycle, join_while_running_throws_value_error) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  try {
    p.join();
    FAIL() << "join() on a running pool must throw";
  } catch (const troupe::value_error& e) {
    EXPECT_TRUE(message_has(e, "still running")) << e.what();
  }
  EXPECT_EQ(p.apply(square, 3), 9) << "the failed join changed nothing";
}

TEST(pool_lifecycle, close_then_join_finishes_every_task_and_callback) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::atomic<int> callbacks{0};
  std::vector<troupe::async_result<int>> results;
  for (int i = 0; i < 50; ++i)
    results.push_back(p.apply_async(
      troupe::callback([&](int) { ++callbacks; }),
      [](int x) {
        troupe::this_process::sleep_for(100us);
        return x;
      },
      i));
  p.close();
  p.join();
  EXPECT_EQ(callbacks.load(), 50);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(results[static_cast<std::size_t>(i)].ready());
    EXPECT_EQ(results[static_cast<std::size_t>(i)].get(), i);
  }
  EXPECT_TRUE(p.workers().empty()) << "join() returns after the workers ended";
}

TEST(pool_lifecycle, an_imap_consumed_after_close_and_join_yields_everything) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto it = p.imap([](int x) { return x * 2; }, std::views::iota(0, 5000),
                   {.chunksize = 3, .window = 12});
  p.close();
  p.join(); // submits the rest of the imap's input and waits for it
  int expected = 0;
  for (int x : it) {
    ASSERT_EQ(x, 2 * expected);
    ++expected;
  }
  EXPECT_EQ(expected, 5000);
}

TEST(pool_lifecycle, an_imap_cut_short_by_terminate_ends_with_the_reason) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto it = p.imap([](int x) { return x; }, std::views::iota(0, 5000),
                   {.chunksize = 1, .window = 8});
  p.terminate();
  int values = 0;
  int errors = 0;
  std::string last;
  for (auto i = it.begin(); i != it.end(); ++i) {
    try {
      static_cast<void>(*i);
      ++values;
    } catch (const troupe::error& e) {
      ++errors;
      last = e.what();
    }
  }
  EXPECT_LE(values + errors, 9) << "nothing beyond the window was read";
  EXPECT_EQ(last, "pool not running");
  p.join();
}

TEST(pool_lifecycle,
     terminate_cancels_pending_results_and_stops_running_tasks) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1, .shutdown = 5s}};
  troupe::event started{rt};
  auto sleeper = p.apply_async([started]() mutable {
    started.set();
    troupe::this_process::sleep_for(60s); // wakes when asked to stop
    return 1;
  });
  auto queued = p.apply_async(square, 2);
  ASSERT_TRUE(started.wait(deadline));
  auto t0 = std::chrono::steady_clock::now();
  p.terminate();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s)
    << "the sleeping task was woken, not waited for";
  EXPECT_THROW(static_cast<void>(sleeper.get(deadline)), troupe::cancelled);
  EXPECT_THROW(static_cast<void>(queued.get(deadline)), troupe::cancelled);
  p.join();
}

TEST(pool_lifecycle, the_destructor_terminates_and_pending_results_fail) {
  troupe::runtime rt;
  troupe::async_result<int> r;
  troupe::event started{rt};
  {
    troupe::pool p{rt, {.processes = 1}};
    r = p.apply_async([started]() mutable {
      started.set();
      troupe::this_process::sleep_for(60s);
      return 1;
    });
    ASSERT_TRUE(started.wait(deadline));
  }
  EXPECT_THROW(static_cast<void>(r.get(deadline)), troupe::cancelled);
}

TEST(pool_lifecycle, a_task_cannot_join_or_terminate_its_own_pool) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  auto r = p.apply_async([&p] {
    std::string out;
    try {
      p.terminate();
    } catch (const troupe::state_error& e) {
      out += "terminate: state_error;";
    }
    try {
      p.join();
    } catch (const troupe::state_error& e) {
      out += " join: state_error";
    }
    return out;
  });
  EXPECT_EQ(r.get(deadline), "terminate: state_error; join: state_error");
}

TEST(pool_lifecycle, the_initializer_runs_once_in_every_worker) {
  troupe::runtime rt;
  std::mutex mtx;
  std::multiset<troupe::pid_type> inits;
  std::vector<std::string> tags;
  auto init = [&](const std::string& tag) {
    std::lock_guard guard{mtx};
    inits.insert(troupe::current_process().pid());
    tags.push_back(tag);
  };
  troupe::pool p{rt, {.processes = 3}, init, std::string{"hello"}};
  // Every worker has initialized before its first task.
  auto pids = p.map([](int) { return troupe::current_process().pid(); },
                    std::vector<int>(300, 0), 1);
  for (auto pid : pids) {
    std::lock_guard guard{mtx};
    EXPECT_EQ(inits.count(pid), 1U) << "worker " << pid;
  }
  ASSERT_TRUE(eventually([&] {
    std::lock_guard guard{mtx};
    return inits.size() == 3;
  }));
  std::lock_guard guard{mtx};
  for (auto& t : tags)
    EXPECT_EQ(t, "hello");
}

TEST(pool_lifecycle, maxtasksperchild_replaces_workers_and_keeps_the_size) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1, .maxtasksperchild = 2}};
  std::vector<troupe::pid_type> pids;
  for (int i = 0; i < 6; ++i)
    pids.push_back(p.apply([] { return troupe::current_process().pid(); }));
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_EQ(pids[4], pids[5]);
  EXPECT_NE(pids[0], pids[2]);
  EXPECT_NE(pids[2], pids[4]);
  EXPECT_TRUE(eventually([&] { return p.workers().size() == 1; }));
  p.close();
  p.join();
}

// GCC reports the deprecated fields at the end of the function that names
// them, so the whole test is excused.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST(pool_lifecycle, bad_options_are_value_errors) {
  troupe::runtime rt;
  EXPECT_THROW((troupe::pool{rt, {.processes = 1, .max_retries = -1}}),
               troupe::value_error);
  EXPECT_THROW(
    (troupe::pool{
      rt, {.processes = 1, .restarts = troupe::restart_limit{.period = 0ms}}}),
    troupe::value_error);
  try {
    troupe::pool bad{
      rt, {.processes = 1, .restarts = troupe::restart_limit{.intensity = -1}}};
    FAIL() << "a negative intensity was accepted";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(
      std::string{e.what()}.find("restart intensity must not be negative"),
      std::string::npos)
      << e.what();
  }
  // The deprecated spellings are checked as the fields they stand for.
  EXPECT_THROW((troupe::pool{rt, {.processes = 1, .period = 0ms}}),
               troupe::value_error);
  EXPECT_THROW((troupe::pool{rt, {.processes = 1, .intensity = -1}}),
               troupe::value_error);
  troupe::pool p{rt, {.processes = 1}};
  EXPECT_THROW(static_cast<void>(p.imap(square, std::vector<int>{1}, 0)),
               troupe::value_error);
  auto r = p.apply_async(square, 2);
  EXPECT_THROW(static_cast<void>(r.wait(-1ms)), troupe::value_error);
}
#pragma GCC diagnostic pop

TEST(pool_lifecycle, processes_defaults_to_the_number_of_cores) {
  troupe::runtime rt;
  troupe::pool p{rt};
  EXPECT_EQ(p.processes(), std::max(1U, std::thread::hardware_concurrency()));
  EXPECT_TRUE(eventually([&] { return p.workers().size() == p.processes(); }));
}

} // namespace
