// Supervisors with OS-process children: crashes restart fresh OS processes
// under the same rules as thread children.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/troupe.hpp>

#include "isolate_entries.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::child_spec;
using troupe::entry;
using troupe::restart;
using troupe::strategy;
using troupe::test::deadline;
using troupe::test::eventually;

namespace sup_ready {

/// Appends `line` to the file at `path` (O_APPEND: whole lines).
void append(const std::string& path, const std::string& line) {
  std::ofstream{path, std::ios::app} << line << "\n" << std::flush;
}

/// Initialises until `second` appears in the log, or 300 ms; then logs
/// "first ready", says so, and waits to be stopped.
void first_child(std::string path) {
  auto until = std::chrono::steady_clock::now() + 300ms;
  while (std::chrono::steady_clock::now() < until) {
    bool second = false;
    std::ifstream in{path};
    for (std::string line; std::getline(in, line);)
      second = second || line == "second started";
    if (second)
      break;
    troupe::this_process::sleep_for(5ms);
  }
  append(path, "first ready");
  troupe::this_process::ready();
  (void)troupe::this_process::receive<int>();
}

void second_child(std::string path) {
  append(path, "second started");
  (void)troupe::this_process::receive<int>();
}

/// Ends before it is ready.
void quitter() {
  throw std::runtime_error("no config");
}

} // namespace sup_ready

TROUPE_ENTRY(sup_ready::first_child);
TROUPE_ENTRY(sup_ready::second_child);
TROUPE_ENTRY(sup_ready::quitter);

namespace {

/// The log file the workers of one test append to.
class worker_log {
public:
  worker_log()
    : path_((std::filesystem::temp_directory_path()
             / ("troupe-sup-" + std::to_string(::getpid()) + "-"
                + std::to_string(++counter)))
              .string()) {
    std::filesystem::remove(path_);
  }
  ~worker_log() {
    std::filesystem::remove(path_);
  }
  worker_log(const worker_log&) = delete;
  worker_log& operator=(const worker_log&) = delete;

  [[nodiscard]] const std::string& path() const {
    return path_;
  }

  [[nodiscard]] std::vector<std::string> lines() const {
    std::vector<std::string> out;
    std::ifstream in{path_};
    for (std::string line; std::getline(in, line);)
      out.push_back(line);
    return out;
  }

  /// How many "<verb> <id> ..." lines there are.
  [[nodiscard]] int count(const std::string& verb,
                          const std::string& id) const {
    int n = 0;
    for (const auto& line : lines())
      if (line.starts_with(verb + " " + id + " "))
        ++n;
    return n;
  }

  /// The OS pids "start <id>" lines name, in order.
  [[nodiscard]] std::vector<std::string> pids(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& line : lines())
      if (line.starts_with("start " + id + " "))
        out.push_back(line.substr(line.rfind(' ') + 1));
    return out;
  }

private:
  static inline int counter = 0;
  std::string path_;
};

child_spec os_worker(const worker_log& log, const std::string& id,
                     restart r = restart::permanent) {
  return child_spec{.id = id,
                    .start = troupe::start_os_process(
                      entry<isolate_test::logged_worker>, log.path(), id),
                    .restart = r};
}

troupe::process child_of(const troupe::supervisor& sup, const std::string& id) {
  for (auto& c : sup.which_children())
    if (c.id == id && c.handle)
      return *c.handle;
  throw std::runtime_error("no running child " + id);
}

} // namespace

/// Every test runs once per start method.
class os_process_supervised
  : public testing::TestWithParam<troupe::start_method> {
protected:
  void SetUp() override {
    troupe::set_start_method(GetParam());
  }
  void TearDown() override {
    troupe::set_start_method(troupe::start_method::spawn);
  }
};

INSTANTIATE_TEST_SUITE_P(
  by_start_method, os_process_supervised,
  testing::Values(troupe::start_method::spawn,
                  troupe::start_method::forkserver),
  [](const testing::TestParamInfo<troupe::start_method>& method) {
    return method.param == troupe::start_method::spawn ? "spawn" : "forkserver";
  });

TEST_P(os_process_supervised, one_for_one_restarts_a_crashed_child_afresh) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::one_for_one},
                         {os_worker(log, "a"), os_worker(log, "b")}};
  ASSERT_TRUE(eventually([&] { return log.count("start", "b") == 1; }));
  auto first = child_of(sup, "a");
  first.send(2); // segfault
  ASSERT_TRUE(first.join(deadline));
  EXPECT_EQ(first.exitcode(), -11);
  ASSERT_TRUE(eventually([&] { return log.count("start", "a") == 2; }));
  auto pids = log.pids("a");
  EXPECT_NE(pids[0], pids[1]) << "a restart must be a fresh OS process";
  EXPECT_EQ(log.count("start", "b"), 1) << "one_for_one restarted a sibling";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(log.count("stop", "a"), 1);
  EXPECT_EQ(log.count("stop", "b"), 1);
}

TEST_P(os_process_supervised, one_for_all_restarts_every_child) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::one_for_all},
                         {os_worker(log, "a"), os_worker(log, "b")}};
  ASSERT_TRUE(eventually([&] { return log.count("start", "b") == 1; }));
  child_of(sup, "a").send(1); // uncaught exception
  // Both start again (in their own OS processes, so the lines may come in
  // either order), after b was stopped.
  ASSERT_TRUE(eventually([&] {
    return log.count("start", "a") == 2 && log.count("start", "b") == 2;
  }));
  EXPECT_EQ(log.count("stop", "b"), 1) << "b was not stopped before restart";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST_P(os_process_supervised, a_transient_child_that_returns_is_not_restarted) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::one_for_one},
                         {os_worker(log, "t", restart::transient)}};
  ASSERT_TRUE(eventually([&] { return log.count("start", "t") == 1; }));
  auto t = child_of(sup, "t");
  t.send(3); // returns normally
  ASSERT_TRUE(t.join(deadline));
  EXPECT_EQ(t.exitcode(), 0);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(log.count("start", "t"), 1);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST_P(os_process_supervised, restart_intensity_ends_the_supervisor) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::one_for_one,
     .restarts = {.intensity = 1, .period = std::chrono::seconds{30}}},
    {os_worker(log, "a")}};
  for (int crash = 1; crash <= 2; ++crash) {
    ASSERT_TRUE(eventually([&] { return log.count("start", "a") == crash; }));
    auto a = child_of(sup, "a");
    a.send(2);
    ASSERT_TRUE(a.join(deadline));
  }
  ASSERT_TRUE(sup.join(deadline)) << "two crashes past an intensity of 1";
  EXPECT_NE(sup.exitcode(), 0);
  EXPECT_EQ(log.count("start", "a"), 2);
}

TEST_P(os_process_supervised, a_shutdown_grace_kills_a_child_ignoring_sigterm) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::one_for_one},
                         {child_spec{.id = "spinner",
                                     .start = troupe::start_os_process(
                                       entry<isolate_test::spins>, log.path()),
                                     .shutdown = 200ms}}};
  auto spinner = child_of(sup, "spinner");
  // Past its start-up: a SIGTERM before the child installed its handler
  // would end it at once (-15), as it ends a Python child.
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(log.path()); }));
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_EQ(spinner.exitcode(), -9);
}

TEST_P(os_process_supervised, simple_one_for_one_passes_start_child_arguments) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "w",
                .start = troupe::start_os_process<std::string>(
                  entry<isolate_test::logged_worker>, log.path()),
                .restart = restart::temporary}}};
  sup.start_child(std::string{"x"});
  sup.start_child(std::string{"y"});
  EXPECT_TRUE(eventually([&] {
    return log.count("start", "x") == 1 && log.count("start", "y") == 1;
  }));
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST(os_process_supervised_misuse,
     start_child_with_mismatched_arguments_names_the_types) {
  troupe::runtime rt;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "w",
                .start = troupe::start_os_process<std::string>(
                  entry<isolate_test::logged_worker>, "unused"),
                .restart = restart::temporary}}};
  try {
    sup.start_child(42);
    FAIL() << "start_child took an int for a std::string";
  } catch (const troupe::error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("takes extra arguments (std::tuple<std::"),
              std::string::npos)
      << what;
    EXPECT_NE(what.find("got (std::tuple<int>)"), std::string::npos) << what;
  }
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// A supervisor's synchronous start (OTP's init_ack) with OS-process
// children: the child's this_process::ready() reaches the parent.
TEST(os_process_supervised_ready,
     await_ready_the_next_child_starts_only_once_the_previous_one_is_ready) {
  troupe::runtime rt;
  worker_log log;
  troupe::supervisor sup{
    rt,
    {},
    {child_spec{.id = "first",
                .start = troupe::start_os_process(entry<sup_ready::first_child>,
                                                  log.path()),
                .await_ready = true},
     child_spec{.id = "second",
                .start = troupe::start_os_process(
                  entry<sup_ready::second_child>, log.path())}}};
  ASSERT_TRUE(eventually([&] { return log.lines().size() == 2; }));
  EXPECT_EQ(log.lines(),
            (std::vector<std::string>{"first ready", "second started"}));
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST(os_process_supervised_ready,
     await_ready_a_child_that_ends_before_it_is_ready_failed_to_start) {
  troupe::runtime rt;
  try {
    troupe::supervisor sup{
      rt,
      {},
      {child_spec{.id = "quitter",
                  .start = troupe::start_os_process(entry<sup_ready::quitter>),
                  .await_ready = true}}};
    FAIL() << "a child that never became ready counted as started";
  } catch (const troupe::supervisor_error& e) {
    EXPECT_EQ(e.code(), troupe::supervisor_errc::start_failed);
    EXPECT_NE(std::string{e.what()}.find("no config"), std::string::npos)
      << e.what();
  }
}
