// What Python's Pool cannot do: a worker that dies mid-task. The task is
// retried or fails with worker_lost; too many failures break the pool;
// nobody waits forever.

#include <atomic>
#include <chrono>
#include <memory>
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

bool message_has(const std::exception& e, const std::string& part) {
  return std::string{e.what()}.find(part) != std::string::npos;
}

troupe::process worker_with_pid(const troupe::pool& p, troupe::pid_type pid) {
  for (auto& w : p.workers())
    if (w.pid() == pid)
      return w;
  throw std::runtime_error("no worker with pid " + std::to_string(pid));
}

/// A task that, on its first run, reports its worker's pid and sleeps
/// (until its worker is stopped); later runs return 42.
struct sleepy_first_run {
  mutable troupe::queue<troupe::pid_type> running;
  std::shared_ptr<std::atomic<int>> runs;

  int operator()() const {
    if (runs->fetch_add(1) == 0) {
      running.put(troupe::current_process().pid());
      troupe::this_process::sleep_for(60s);
    }
    return 42;
  }
};

TEST(pool_supervision, a_task_whose_worker_is_killed_is_retried) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2, .max_retries = 1}};
  troupe::queue<troupe::pid_type> running{rt};
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto r = p.apply_async(sleepy_first_run{running, runs});
  auto pid = running.get(deadline);
  worker_with_pid(p, pid).kill();
  EXPECT_EQ(r.get(deadline), 42);
  EXPECT_EQ(runs->load(), 2);
  // The dead worker was replaced: the pool keeps its size.
  EXPECT_TRUE(eventually([&] {
    auto ws = p.workers();
    return ws.size() == 2 && ws[0].pid() != pid && ws[1].pid() != pid;
  }));
  EXPECT_EQ(p.apply([] { return 7; }), 7);
}

/// A task that, on its first run, reports its worker's pid and then
/// ignores requests to stop (no troupe call, no checkpoint) until released;
/// later runs return 42.
struct stubborn_first_run {
  mutable troupe::queue<troupe::pid_type> running;
  std::shared_ptr<std::atomic<bool>> release;
  std::shared_ptr<std::atomic<int>> runs;

  int operator()() const {
    if (runs->fetch_add(1) == 0) {
      running.put(troupe::current_process().pid());
      while (!release->load())
        std::this_thread::sleep_for(1ms);
    }
    return 42;
  }
};

TEST(pool_supervision, a_terminated_worker_killed_after_its_grace_is_replaced) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2, .max_retries = 1, .shutdown = 100ms}};
  troupe::queue<troupe::pid_type> running{rt};
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto r = p.apply_async(stubborn_first_run{running, release, runs});
  auto pid = running.get(deadline);
  auto victim = worker_with_pid(p, pid);
  victim.terminate(); // through the pool's supervisor: killed after 100 ms
  ASSERT_TRUE(victim.join(deadline));
  EXPECT_EQ(victim.exitcode(), -9);
  // Stopped by request, so its supervisor does not restart it: the pool
  // replaces it and keeps its size.
  EXPECT_TRUE(eventually([&] {
    auto ws = p.workers();
    return ws.size() == 2 && ws[0].pid() != pid && ws[1].pid() != pid;
  }));
  EXPECT_EQ(p.apply([] { return 7; }), 7);
  release->store(true);
  EXPECT_EQ(r.get(deadline), 42);
}

TEST(pool_supervision, a_task_whose_worker_is_killed_fails_with_worker_lost) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  troupe::queue<troupe::pid_type> running{rt};
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto r = p.apply_async(sleepy_first_run{running, runs});
  auto pid = running.get(deadline);
  auto victim = worker_with_pid(p, pid);
  victim.kill();
  try {
    static_cast<void>(r.get(deadline));
    FAIL() << "get() must throw worker_lost";
  } catch (const troupe::worker_lost& e) {
    EXPECT_EQ(e.worker_pid(), pid);
    EXPECT_EQ(e.worker(), victim.name());
    EXPECT_EQ(e.reason(), "killed");
    EXPECT_TRUE(message_has(e, "task " + std::to_string(e.task()))) << e.what();
    EXPECT_TRUE(message_has(e, victim.name())) << e.what();
    EXPECT_TRUE(message_has(e, "killed")) << e.what();
  }
  EXPECT_EQ(runs->load(), 1);
  EXPECT_EQ(p.apply([] { return 7; }), 7) << "the pool still works";
}

TEST(pool_supervision,
     a_worker_terminated_mid_task_is_replaced_and_the_task_reported) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  troupe::queue<troupe::pid_type> running{rt};
  auto runs = std::make_shared<std::atomic<int>>(0);
  auto r = p.apply_async(sleepy_first_run{running, runs});
  auto pid = running.get(deadline);
  worker_with_pid(p, pid).terminate();
  try {
    static_cast<void>(r.get(deadline));
    FAIL() << "get() must throw worker_lost";
  } catch (const troupe::worker_lost& e) {
    EXPECT_EQ(e.reason(), "terminated") << e.what();
  }
  EXPECT_TRUE(eventually([&] {
    auto ws = p.workers();
    return ws.size() == 2 && ws[0].pid() != pid && ws[1].pid() != pid;
  }));
}

TEST(pool_supervision, an_exit_escaping_a_task_kills_only_its_worker) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto r = p.apply_async([]() -> int { troupe::this_process::exit(3); });
  try {
    static_cast<void>(r.get(deadline));
    FAIL() << "get() must throw worker_lost";
  } catch (const troupe::worker_lost& e) {
    EXPECT_EQ(e.reason(), "exit(3)") << e.what();
  }
  EXPECT_EQ(p.apply([] { return 1; }), 1);
  EXPECT_TRUE(eventually([&] { return p.workers().size() == 2; }));
}

TEST(pool_supervision, a_map_chunk_lost_with_its_worker_is_retried) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2, .max_retries = 2}};
  troupe::queue<troupe::pid_type> running{rt};
  auto runs = std::make_shared<std::atomic<int>>(0);
  std::vector<int> in(40);
  for (int i = 0; i < 40; ++i)
    in[static_cast<std::size_t>(i)] = i;
  auto r = p.map_async(
    [running, runs](int x) {
      if (x == 17 && runs->fetch_add(1) == 0) {
        auto q = running;
        q.put(troupe::current_process().pid());
        troupe::this_process::sleep_for(60s);
      }
      return x + 1;
    },
    in, 5);
  worker_with_pid(p, running.get(deadline)).kill();
  auto& out = r.get(deadline);
  ASSERT_EQ(out.size(), 40U);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(out[static_cast<std::size_t>(i)], i + 1);
}

TEST(pool_supervision, a_failing_initializer_breaks_the_pool_and_nobody_hangs) {
  troupe::runtime rt;
  std::atomic<int> attempts{0};
  std::vector<std::string> events;
  troupe::pool p{rt,
                 {.processes = 2,
                  .initializer =
                    [&attempts] {
                      ++attempts;
                      throw std::runtime_error("no database");
                    },
                  .restarts = troupe::restart_limit{.intensity = 3},
                  .on_event = [](const troupe::supervisor_event&) {}}};
  std::vector<troupe::async_result<int>> results;
  for (int i = 0; i < 10; ++i) {
    try {
      results.push_back(p.apply_async([i] { return i; }));
    } catch (const troupe::pool_broken&) {
      break; // already broken: submissions fail at once
    }
  }
  for (auto& r : results) {
    try {
      static_cast<void>(r.get(deadline));
      FAIL() << "no task can succeed without an initialized worker";
    } catch (const troupe::pool_broken& e) {
      EXPECT_TRUE(message_has(e, "no database")) << e.what();
    }
  }
  ASSERT_TRUE(eventually([&] { return p.broken(); }));
  EXPECT_GE(attempts.load(), 4) << "initializer failures count toward the "
                                   "intensity (3)";
  EXPECT_THROW(static_cast<void>(p.apply_async([] { return 1; })),
               troupe::pool_broken);
  p.join(); // a broken pool joins at once
}

TEST(pool_supervision, killing_workers_over_and_over_breaks_the_pool) {
  troupe::runtime rt;
  troupe::pool p{
    rt,
    {.processes = 1,
     .restarts = troupe::restart_limit{.intensity = 2, .period = 60s},
     .on_event = [](const troupe::supervisor_event&) {}}};
  troupe::queue<troupe::pid_type> running{rt};
  auto pending = p.apply_async([] {
    troupe::this_process::sleep_for(60s);
    return 0;
  });
  for (int kill = 0; kill < 3 && !p.broken(); ++kill) {
    auto ws = std::vector<troupe::process>{};
    ASSERT_TRUE(eventually([&] {
      ws = p.workers();
      return !ws.empty() || p.broken();
    }));
    if (!ws.empty())
      ws.front().kill();
  }
  EXPECT_TRUE(eventually([&] { return p.broken(); }));
  EXPECT_THROW(static_cast<void>(pending.get(deadline)), std::exception);
}

} // namespace
