// Pools whose workers are OS processes (isolation::os_process): the thread
// pool's API and failure semantics, with tasks that are entry points and
// workers that may crash.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;

namespace pool_test {

int square(int x) {
  return x * x;
}

int add(int a, int b) {
  return a + b;
}

int os_pid(int /*unused*/) {
  return static_cast<int>(::getpid());
}

std::string shout(const std::string& s) {
  return s + "!";
}

double half(double x) {
  return x / 2;
}

int fails_on_three(int x) {
  if (x == 3)
    throw std::invalid_argument("three is not allowed");
  return x;
}

/// Crashes (SIGSEGV) when `x` is `bad`.
int crashes_on(int x, int bad) {
  if (x == bad)
    std::raise(SIGSEGV);
  return x;
}

/// Crashes the first time only: the marker file tells a retry it is one.
int crashes_once(int x, std::string marker) {
  if (!std::filesystem::exists(marker)) {
    std::ofstream{marker} << "crashed\n";
    std::abort();
  }
  return x * 10;
}

/// `x * x`, unless a random draw below `permille` / 1000 makes it crash
/// (SIGSEGV or abort(), alternately by draw).
int chaos_square(int x, int permille) {
  static thread_local std::minstd_rand rng{std::random_device{}()};
  auto draw = static_cast<int>(rng() % 2000);
  if (draw < permille)
    std::raise(SIGSEGV);
  if (draw >= 1000 && draw - 1000 < permille)
    std::abort();
  return x * x;
}

/// Set in each worker's OS process by the initializer (atomic: a thread
/// pool's workers all run it in this process).
std::atomic<int> configured{0};

void configure(int value) {
  configured = value;
}

int read_configured(int /*unused*/) {
  return configured.load();
}

void no_result(int /*unused*/) {}

/// Writes this OS process's pid to `path`, then sleeps (a troupe sleep,
/// which a stop interrupts) for `ms` milliseconds.
int sleeps_after_writing_pid(std::string path, int ms) {
  std::ofstream{path} << ::getpid() << '\n';
  troupe::this_process::sleep_for(std::chrono::milliseconds{ms});
  return ms;
}

} // namespace pool_test

TROUPE_ENTRY(pool_test::square);
TROUPE_ENTRY(pool_test::add);
TROUPE_ENTRY(pool_test::os_pid);
TROUPE_ENTRY(pool_test::shout);
TROUPE_ENTRY(pool_test::half);
TROUPE_ENTRY(pool_test::fails_on_three);
TROUPE_ENTRY(pool_test::crashes_on);
TROUPE_ENTRY(pool_test::crashes_once);
TROUPE_ENTRY(pool_test::chaos_square);
TROUPE_ENTRY(pool_test::configure);
TROUPE_ENTRY(pool_test::read_configured);
TROUPE_ENTRY(pool_test::no_result);
TROUPE_ENTRY(pool_test::sleeps_after_writing_pid);

namespace {

using troupe::entry;
using troupe::pool;

troupe::pool_options isolated(std::size_t n) {
  return {.processes = n, .isolation = troupe::isolation::os_process};
}

std::vector<int> range(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    v[static_cast<std::size_t>(i)] = i;
  return v;
}

/// Every test runs once per start method.
class isolated_pool : public testing::TestWithParam<troupe::start_method> {
protected:
  void SetUp() override {
    troupe::set_start_method(GetParam());
  }
  void TearDown() override {
    troupe::set_start_method(troupe::start_method::spawn);
  }
};

INSTANTIATE_TEST_SUITE_P(
  by_start_method, isolated_pool,
  testing::Values(troupe::start_method::spawn,
                  troupe::start_method::forkserver),
  [](const testing::TestParamInfo<troupe::start_method>& method) {
    return method.param == troupe::start_method::spawn ? "spawn" : "forkserver";
  });

TEST_P(isolated_pool, map_runs_entry_points_in_other_os_processes) {
  troupe::runtime rt;
  pool p{rt, isolated(2)};
  EXPECT_EQ(p.map(entry<pool_test::square>, range(100)),
            p.map(entry<pool_test::square>, range(100), 7));
  auto squares = p.map(entry<pool_test::square>, range(1000));
  ASSERT_EQ(squares.size(), 1000U);
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(squares[static_cast<std::size_t>(i)], i * i);
  // The tasks ran in processes other than this one.
  auto pids = p.map(entry<pool_test::os_pid>, range(64), 1);
  std::set<int> distinct(pids.begin(), pids.end());
  EXPECT_FALSE(distinct.contains(static_cast<int>(::getpid())));
  EXPECT_LE(distinct.size(), 2U);
  p.close();
  p.join();
}

TEST_P(isolated_pool, every_call_form_works) {
  troupe::runtime rt;
  pool p{rt, isolated(2)};
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(p.starmap(entry<pool_test::add>, pairs),
            (std::vector<int>{3, 7, 11}));
  std::vector<std::tuple<int, int>> tuples{{10, 1}, {20, 2}};
  EXPECT_EQ(p.starmap_async(entry<pool_test::add>, tuples).get(),
            (std::vector<int>{11, 22}));
  EXPECT_EQ(p.apply(entry<pool_test::shout>, "hey"), "hey!");
  EXPECT_EQ(p.apply_async(entry<pool_test::square>, 12).get(), 144);
  p.apply(entry<pool_test::no_result>, 1);
  EXPECT_EQ(p.map_async(entry<pool_test::square>, range(10)).get(),
            p.map(entry<pool_test::square>, range(10)));
  std::vector<int> ordered;
  for (int v : p.imap(entry<pool_test::square>, range(50)))
    ordered.push_back(v);
  EXPECT_EQ(ordered, p.map(entry<pool_test::square>, range(50)));
  std::multiset<int> unordered;
  for (int v : p.imap_unordered(entry<pool_test::square>, range(50), 4))
    unordered.insert(v);
  EXPECT_EQ(unordered, std::multiset<int>(ordered.begin(), ordered.end()));
  // Callbacks run on the pool's callback thread, as for thread workers.
  std::atomic<int> seen{0};
  auto r = p.apply_async(troupe::callback([&](int v) { seen = v; }),
                         entry<pool_test::square>, 9);
  r.wait();
  EXPECT_EQ(seen.load(), 81);
  p.close();
  p.join();
}

TEST_P(isolated_pool, doubles_cross_bit_exactly) {
  troupe::runtime rt;
  pool p{rt, isolated(1)};
  std::vector<double> in{-0.0, 1e-310, 3.0,
                         std::numeric_limits<double>::infinity()};
  auto out = p.map(entry<pool_test::half>, in);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto expected = in[i] / 2;
    EXPECT_EQ(std::memcmp(&out[i], &expected, sizeof(double)), 0) << i;
  }
}

TEST_P(isolated_pool, a_task_exception_is_its_result_and_names_its_type) {
  troupe::runtime rt;
  pool p{rt, isolated(2)};
  try {
    p.map(entry<pool_test::fails_on_three>, range(10));
    FAIL() << "map did not throw";
  } catch (const troupe::child_exception& e) {
    EXPECT_EQ(e.type_name(), "std::invalid_argument");
    EXPECT_EQ(e.message(), "three is not allowed");
    EXPECT_STREQ(e.what(), "std::invalid_argument: three is not allowed");
  }
  auto r = p.apply_async(entry<pool_test::fails_on_three>, 3);
  r.wait();
  EXPECT_FALSE(r.successful());
  EXPECT_THROW(r.get(), troupe::child_exception);
  // The workers did not die: the pool goes on.
  EXPECT_EQ(p.apply(entry<pool_test::fails_on_three>, 4), 4);
}

TEST_P(isolated_pool, a_crash_mid_task_fails_it_with_worker_lost) {
  troupe::runtime rt;
  pool p{rt, isolated(2)};
  auto r = p.apply_async(entry<pool_test::crashes_on>, 7, 7);
  r.wait();
  ASSERT_FALSE(r.successful());
  try {
    r.get();
    FAIL() << "get() did not throw";
  } catch (const troupe::worker_lost& e) {
    EXPECT_NE(e.reason().find("SIGSEGV"), std::string::npos) << e.reason();
    EXPECT_NE(e.reason().find("OS process"), std::string::npos) << e.reason();
  }
  // A fresh worker (a fresh OS process) takes its place.
  EXPECT_EQ(p.map(entry<pool_test::square>, range(20), 1)[19], 361);
  p.close();
  p.join();
}

TEST_P(isolated_pool, a_crashed_task_is_retried_on_a_fresh_process) {
  troupe::runtime rt;
  auto marker = (std::filesystem::temp_directory_path()
                 / ("troupe-pool-crash-" + std::to_string(::getpid()) + "-"
                    + std::to_string(static_cast<int>(GetParam()))))
                  .string();
  std::filesystem::remove(marker);
  auto opts = isolated(2);
  opts.max_retries = 1;
  pool p{rt, opts};
  EXPECT_EQ(p.apply(entry<pool_test::crashes_once>, 4, marker), 40);
  EXPECT_TRUE(std::filesystem::exists(marker));
  std::filesystem::remove(marker);
}

TEST_P(isolated_pool, a_killed_worker_takes_its_os_process_along) {
  troupe::runtime rt;
  auto pid_file = (std::filesystem::temp_directory_path()
                   / ("troupe-pool-pid-" + std::to_string(::getpid()) + "-"
                      + std::to_string(static_cast<int>(GetParam()))))
                    .string();
  std::filesystem::remove(pid_file);
  pool p{rt, isolated(1)};
  auto r = p.apply_async(entry<pool_test::sleeps_after_writing_pid>, pid_file,
                         60'000);
  ASSERT_TRUE(troupe::test::eventually(
    [&] {
      std::error_code ec;
      auto size = std::filesystem::file_size(pid_file, ec);
      return !ec && size > 0;
    },
    30s));
  int child = 0;
  std::ifstream{pid_file} >> child;
  ASSERT_GT(child, 0);
  auto workers = p.workers();
  ASSERT_EQ(workers.size(), 1U);
  auto t0 = std::chrono::steady_clock::now();
  workers[0].kill();
  ASSERT_TRUE(r.wait(30s));
  EXPECT_THROW(r.get(), troupe::worker_lost);
  // The task's OS process is gone, long before its sleep would have ended.
  EXPECT_TRUE(troupe::test::eventually(
    [&] { return !std::filesystem::exists("/proc/" + std::to_string(child)); },
    30s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  // And a fresh worker runs the next task.
  EXPECT_EQ(p.apply(entry<pool_test::square>, 5), 25);
  std::filesystem::remove(pid_file);
}

TEST_P(isolated_pool, an_idle_workers_os_process_killed_costs_no_task) {
  troupe::runtime rt;
  pool p{rt, isolated(1)}; // max_retries 0: a task blamed would fail
  auto first = p.apply(entry<pool_test::os_pid>, 0);
  auto worker = p.workers().at(0).pid();
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  // The worker ends with its OS process and the pool replaces it, before
  // any task comes.
  EXPECT_TRUE(troupe::test::eventually([&] {
    auto now = p.workers();
    return now.size() == 1 && now[0].pid() != worker;
  }));
  EXPECT_EQ(p.apply(entry<pool_test::square>, 6), 36);
  EXPECT_NE(p.apply(entry<pool_test::os_pid>, 0), first);
}

TEST_P(isolated_pool, maxtasksperchild_recycles_os_processes) {
  troupe::runtime rt;
  auto opts = isolated(1);
  opts.maxtasksperchild = 1;
  pool p{rt, opts};
  std::set<int> pids;
  for (int i = 0; i < 4; ++i)
    pids.insert(p.apply(entry<pool_test::os_pid>, i));
  EXPECT_EQ(pids.size(), 4U);
}

TEST_P(isolated_pool, the_initializer_runs_in_each_workers_os_process) {
  troupe::runtime rt;
  pool p{rt, isolated(2), entry<pool_test::configure>, 42};
  for (int v : p.map(entry<pool_test::read_configured>, range(20), 1))
    EXPECT_EQ(v, 42);
  // This process never ran it.
  EXPECT_EQ(pool_test::configured.load(), 0);
}

TEST(isolated_pool_misuse, lambdas_are_refused_with_a_message) {
  troupe::runtime rt;
  pool p{rt, isolated(1)};
  try {
    static_cast<void>(p.apply([] { return 1; }));
    FAIL() << "apply took a lambda";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("troupe::entry<f>"), std::string::npos)
      << e.what();
  }
  EXPECT_THROW(p.map([](int x) { return x; }, range(3)), troupe::value_error);
  EXPECT_THROW(p.imap([](int x) { return x; }, range(3)), troupe::value_error);
  auto opts = isolated(1);
  opts.initializer = [] {};
  EXPECT_THROW((pool{rt, opts}), troupe::value_error);
}

TEST(isolated_pool_misuse, a_thread_pool_runs_entry_points_in_process) {
  troupe::runtime rt;
  {
    pool p{rt, {.processes = 2}, entry<pool_test::configure>, 7};
    EXPECT_EQ(p.map(entry<pool_test::square>, range(5)),
              (std::vector<int>{0, 1, 4, 9, 16}));
    EXPECT_EQ(p.apply(entry<pool_test::os_pid>, 0),
              static_cast<int>(::getpid()));
    EXPECT_EQ(pool_test::configured.load(), 7);
    p.close();
    p.join(); // every worker ran the initializer
  }
  pool_test::configured = 0;
}

TEST_P(isolated_pool, ten_thousand_tasks_under_random_crashes) {
  troupe::runtime rt;
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // A sanitizer's child takes about a second to start: fewer crashes.
  constexpr int total = 2000;
  constexpr int permille = 2;
#else
  constexpr int total = 10000;
  constexpr int permille = 3;
#endif
  auto opts = isolated(2);
  opts.max_retries = 2;
  opts.restarts = troupe::restart_limit{.intensity = 10000, .period = 1s};
  pool p{rt, opts};
  std::vector<troupe::async_result<int>> results;
  results.reserve(total);
  for (int i = 0; i < total; ++i)
    results.push_back(
      p.apply_async(entry<pool_test::chaos_square>, i, permille));
  int ok = 0;
  int lost = 0;
  for (int i = 0; i < total; ++i) {
    auto& r = results[static_cast<std::size_t>(i)];
    ASSERT_TRUE(r.wait(120s)) << "task " << i << " has no outcome";
    if (r.successful()) {
      EXPECT_EQ(r.get(), i * i);
      ++ok;
    } else {
      EXPECT_THROW(r.get(), troupe::worker_lost) << "task " << i;
      ++lost;
    }
  }
  EXPECT_EQ(ok + lost, total);
  // Three crashes in a row for one task are rare; most tasks succeed.
  EXPECT_GT(ok, total * 9 / 10);
  p.close();
  p.join();
}

} // namespace
