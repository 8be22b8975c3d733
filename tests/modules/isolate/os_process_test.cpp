// os_process: lifecycle and exit codes of real child OS processes.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/this_process.hpp>
#include <troupe/troupe.hpp>

#include "isolate_entries.hpp"
#include "test_util.hpp"

namespace tp = troupe::this_process;
using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace isolate_test {

void returns() {}

void throws(std::string message) {
  throw std::invalid_argument(message);
}

void exits_with(int code) {
  tp::exit(code);
}

void segfaults() {
  std::raise(SIGSEGV);
}

void aborts() {
  std::abort();
}

/// Creates `<path>.ready`, then sleeps in troupe's checkpointed sleep until
/// stopped; the destructor of a local writes `path` as the stop unwinds
/// the stack.
void sleeps_until_stopped(std::string path) {
  struct mark_on_unwind {
    std::string path;
    explicit mark_on_unwind(std::string p) : path(std::move(p)) {}
    mark_on_unwind(const mark_on_unwind&) = delete;
    mark_on_unwind& operator=(const mark_on_unwind&) = delete;
    ~mark_on_unwind() {
      std::ofstream{path} << "unwound";
    }
  } mark{path};
  std::ofstream{path + ".ready"} << "running\n";
  for (;;)
    tp::sleep_for(10ms);
}

/// Allocates and touches `mib` MiB.
void allocates(int mib) {
  std::vector<char> block(static_cast<std::size_t>(mib) << 20U);
  for (std::size_t i = 0; i < block.size(); i += 4096)
    block[i] = 1;
}

/// Exits 0 if the environment variable has `expected` (or is unset when
/// `expected` is "<unset>"), else 3.
void env_is(std::string key, std::string expected) {
  const char* value = std::getenv(key.c_str());
  auto actual = value == nullptr ? std::string{"<unset>"} : std::string{value};
  tp::exit(actual == expected ? 0 : 3);
}

void cwd_is(std::string expected) {
  tp::exit(std::filesystem::current_path() == expected ? 0 : 3);
}

/// Exits 0 if no descriptor of this process refers to `path`, else the
/// number that do (they leaked from the parent).
void holds_no_descriptor_of(std::string path) {
  int leaked = 0;
  for (const auto& fd : std::filesystem::directory_iterator{"/proc/self/fd"}) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(fd.path(), ec);
    if (!ec && target == path)
      ++leaked;
  }
  tp::exit(leaked);
}

/// Exits 0 if the name it runs under is `expected`.
void named(std::string expected) {
  tp::exit(troupe::current_process().name() == expected ? 0 : 3);
}

/// Echoes ints (plus one) to their sender until it gets a negative one.
void echo() {
  for (;;) {
    auto x = tp::receive<int>();
    if (x < 0)
      return;
    tp::reply(x + 1);
  }
}

/// Exits 0 if every double arrives with the bits the parent sent.
void doubles_are(std::vector<double> xs, std::vector<std::uint64_t> bits) {
  if (xs.size() != bits.size())
    tp::exit(3);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    std::uint64_t b = 0;
    std::memcpy(&b, &xs[i], sizeof(b));
    if (b != bits[i])
      tp::exit(4);
  }
}

/// Writes two lines to standard output and one, without a newline, to
/// standard error.
void writes_lines() {
  std::cout << "first line\nsecond";
  std::cout << " line" << std::endl;
  std::cerr << "to stderr" << std::flush;
}

/// Exits 0 if `data` has `size` bytes whose sum is `sum`.
void checks_sum(std::vector<std::uint8_t> data, std::uint64_t size,
                std::uint64_t sum) {
  std::uint64_t actual = 0;
  for (auto b : data)
    actual += b;
  tp::exit(data.size() == size && actual == sum ? 0 : 3);
}

double twice(double x) {
  return 2 * x;
}

} // namespace isolate_test

TROUPE_ENTRY(isolate_test::returns);
TROUPE_ENTRY(isolate_test::throws);
TROUPE_ENTRY(isolate_test::exits_with);
TROUPE_ENTRY(isolate_test::segfaults);
TROUPE_ENTRY(isolate_test::aborts);
TROUPE_ENTRY(isolate_test::sleeps_until_stopped);
TROUPE_ENTRY(isolate_test::allocates);
TROUPE_ENTRY(isolate_test::env_is);
TROUPE_ENTRY(isolate_test::cwd_is);
TROUPE_ENTRY(isolate_test::holds_no_descriptor_of);
TROUPE_ENTRY(isolate_test::named);
TROUPE_ENTRY(isolate_test::echo);
TROUPE_ENTRY(isolate_test::doubles_are);
TROUPE_ENTRY(isolate_test::twice);
TROUPE_ENTRY(isolate_test::checks_sum);
TROUPE_ENTRY(isolate_test::writes_lines);

namespace {

using namespace isolate_test;
using troupe::entry;
using troupe::os_process;
using troupe::test::temp_path;

} // namespace

/// Every test runs once per start method.
class os_process_run : public testing::TestWithParam<troupe::start_method> {
protected:
  void SetUp() override {
    troupe::set_start_method(GetParam());
  }
  void TearDown() override {
    troupe::set_start_method(troupe::start_method::spawn);
  }
};

INSTANTIATE_TEST_SUITE_P(
  by_start_method, os_process_run,
  testing::Values(troupe::start_method::spawn,
                  troupe::start_method::forkserver),
  [](const testing::TestParamInfo<troupe::start_method>& method) {
    return method.param == troupe::start_method::spawn ? "spawn" : "forkserver";
  });

TEST_P(os_process_run, a_normal_return_is_exit_code_0) {
  troupe::runtime rt;
  os_process p{rt, entry<returns>};
  EXPECT_FALSE(p.exitcode());
  EXPECT_EQ(p.pid(), 0U);
  p.start();
  ASSERT_TRUE(p.os_pid());
  EXPECT_NE(*p.os_pid(), ::getpid());
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(p.exit_reason(), "");
  EXPECT_FALSE(p.is_alive());
}

TEST_P(os_process_run, an_uncaught_exception_is_1_with_its_type_and_message) {
  troupe::runtime rt;
  os_process p{rt, {.name = "thrower"}, entry<throws>, "bad input"};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(p.exit_reason().find("invalid_argument"), std::string::npos)
    << p.exit_reason();
  EXPECT_NE(p.exit_reason().find("bad input"), std::string::npos)
    << p.exit_reason();
}

TEST_P(os_process_run, this_process_exit_n_is_n) {
  troupe::runtime rt;
  for (int code : {0, 3, 255, 1000}) {
    os_process p{rt, entry<exits_with>, code};
    p.start();
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.exitcode(), code);
  }
}

TEST_P(os_process_run, a_segfault_is_minus_11_named_and_harms_no_one_else) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  os_process p{rt, entry<segfaults>};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -SIGSEGV);
  EXPECT_EQ(p.exit_reason(), "killed by SIGSEGV (segmentation fault)");
  q.put(7); // the parent and its queue carry on
  EXPECT_EQ(q.get(), 7);
}

TEST_P(os_process_run, abort_is_minus_6) {
  troupe::runtime rt;
  os_process p{rt, entry<aborts>};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -SIGABRT);
  EXPECT_EQ(p.exit_reason(), "killed by SIGABRT (aborted)");
}

TEST_P(os_process_run, terminate_is_a_cooperative_stop_that_unwinds_the_child) {
  troupe::runtime rt;
  auto path = temp_path("troupe-unwind");
  os_process p{rt, {.terminate_grace = 10s}, entry<sleeps_until_stopped>, path};
  p.start();
  ASSERT_TRUE(eventually([&] { return p.is_alive(); }));
  ASSERT_TRUE(
    eventually([&] { return std::filesystem::exists(path + ".ready"); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_EQ(p.exit_reason(), "terminated");
  std::ifstream in{path};
  std::string text;
  in >> text;
  EXPECT_EQ(text, "unwound") << "the child's destructors did not run";
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".ready");
}

TEST_P(os_process_run, a_child_ignoring_terminate_is_killed_after_its_grace) {
  troupe::runtime rt;
  auto ready = temp_path("troupe-spinning");
  os_process p{rt, {.terminate_grace = 200ms}, entry<spins>, ready};
  p.start();
  auto pid = *p.os_pid();
  // Past its start-up: a SIGTERM before the child installed its handler
  // ends it at once (-15), as it ends a Python child.
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }));
  std::filesystem::remove(ready);
  auto t0 = std::chrono::steady_clock::now();
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_EQ(p.exitcode(), -9);
  // Really gone, not merely declared killed.
  EXPECT_TRUE(eventually([&] {
    return ::kill(pid, 0) != 0
           || !std::filesystem::exists("/proc/" + std::to_string(pid) + "/exe");
  }));
}

TEST_P(os_process_run, kill_really_stops_a_spinning_child_at_once) {
  troupe::runtime rt;
  auto ready = temp_path("troupe-spinning");
  os_process p{rt, entry<spins>, ready};
  p.start();
  auto pid = *p.os_pid();
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }));
  std::filesystem::remove(ready);
  p.kill();
  ASSERT_TRUE(p.join(1s));
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_TRUE(eventually([&] {
    return !std::filesystem::exists("/proc/" + std::to_string(pid) + "/exe");
  }));
}

TEST_P(os_process_run, an_address_space_limit_ends_only_the_child) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's shadow memory needs terabytes of address "
                  "space: RLIMIT_AS cannot apply under it";
#endif
  troupe::runtime rt;
  os_process p{rt,
               {.limits = {.address_space = std::uint64_t{1} << 30}},
               entry<allocates>,
               2048};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_NE(p.exit_reason().find("bad_alloc"), std::string::npos)
    << p.exit_reason();
  os_process fine{rt, entry<allocates>, 16};
  fine.start();
  ASSERT_TRUE(fine.join(deadline));
  EXPECT_EQ(fine.exitcode(), 0);
}

TEST_P(os_process_run, environment_and_working_directory_options_apply) {
  troupe::runtime rt;
  ::setenv("TROUPE_TEST_DROPPED", "x", 1);
  os_process added{rt,
                   {.env = {{"TROUPE_TEST_ADDED", "yes"}}},
                   entry<env_is>,
                   "TROUPE_TEST_ADDED",
                   "yes"};
  os_process dropped{rt,
                     {.unset_env = {"TROUPE_TEST_DROPPED"}},
                     entry<env_is>,
                     "TROUPE_TEST_DROPPED",
                     "<unset>"};
  os_process kept{rt, entry<env_is>, "TROUPE_TEST_DROPPED", "x"};
  os_process in_tmp{rt, {.working_directory = "/tmp"}, entry<cwd_is>, "/tmp"};
  for (auto* p : {&added, &dropped, &kept, &in_tmp}) {
    p->start();
    ASSERT_TRUE(p->join(deadline));
    EXPECT_EQ(p->exitcode(), 0);
  }
  ::unsetenv("TROUPE_TEST_DROPPED");
}

TEST_P(os_process_run,
       a_missing_working_directory_fails_start_with_the_reason) {
  troupe::runtime rt;
  os_process p{rt, {.working_directory = "/no/such/dir"}, entry<returns>};
  try {
    p.start();
    FAIL() << "start() succeeded";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string{e.what()}.find("/no/such/dir"), std::string::npos)
      << e.what();
  }
}

TEST_P(os_process_run,
       the_child_inherits_no_descriptor_but_its_control_socket) {
  troupe::runtime rt;
  auto path = temp_path("troupe-fds");
  std::ofstream{path} << "x";
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i)
    fds.push_back(::open(path.c_str(), O_RDONLY)); // inheritable: no CLOEXEC
  os_process p{rt, entry<holds_no_descriptor_of>, path};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << "descriptors leaked into the child";
  for (int fd : fds)
    ::close(fd);
  std::filesystem::remove(path);
}

TEST_P(os_process_run, the_child_runs_under_the_process_name) {
  troupe::runtime rt;
  os_process p{rt, {.name = "resizer"}, entry<named>, "resizer"};
  EXPECT_EQ(p.name(), "resizer");
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(os_process_run, messages_reach_the_child_and_replies_come_back) {
  troupe::runtime rt;
  os_process p{rt, entry<echo>};
  p.start();
  int total = 0;
  for (int i = 0; i < 50; ++i) {
    p.send(i);
    total += tp::receive<int>(deadline);
  }
  EXPECT_EQ(total, 50 * 51 / 2);
  p.send(-1);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST_P(os_process_run, doubles_cross_bit_exactly) {
  troupe::runtime rt;
  std::vector<double> xs{std::numeric_limits<double>::quiet_NaN(),
                         -0.0,
                         1e-310,
                         std::numeric_limits<double>::infinity(),
                         -std::numeric_limits<double>::infinity(),
                         std::numeric_limits<double>::denorm_min(),
                         0.1};
  std::vector<std::uint64_t> bits;
  for (double x : xs) {
    std::uint64_t b = 0;
    std::memcpy(&b, &x, sizeof(b));
    bits.push_back(b);
  }
  os_process p{rt, entry<doubles_are>, xs, bits};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
  // A result travels the same way.
  for (double x : xs) {
    auto out = troupe::isolate::detail::invoke<&twice>(
      {troupe::serialization::to_bytes(x)});
    auto y = troupe::serialization::from_bytes<double>(out);
    auto want = twice(x);
    EXPECT_EQ(std::memcmp(&y, &want, sizeof(y)), 0) << x;
  }
}

TEST_P(os_process_run, start_twice_and_use_before_start_are_reported) {
  troupe::runtime rt;
  os_process p{rt, entry<returns>};
  p.send(1); // dropped, as for any process not started
  EXPECT_THROW(p.terminate(), troupe::state_error);
  EXPECT_THROW(p.join(), troupe::state_error);
  p.start();
  EXPECT_THROW(p.start(), troupe::state_error);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_THROW(p.daemon(true), troupe::state_error);
}

TEST_P(os_process_run,
       output_lines_are_forwarded_with_the_name_before_the_end) {
  troupe::runtime rt;
  os_process p{rt,
               {.name = "talker", .output = troupe::child_output::lines},
               entry<writes_lines>};
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  p.start();
  ASSERT_TRUE(p.join(deadline));
  auto out = testing::internal::GetCapturedStdout();
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(out, "talker: first line\ntalker: second line\n");
  EXPECT_EQ(err, "talker: to stderr\n");
}

TEST_P(os_process_run, large_arguments_arrive_whole) {
  troupe::runtime rt;
  // Far more than a socket buffer: the parent writes while the child reads.
  std::vector<std::uint8_t> data(8U << 20U);
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::uint8_t>(i * 131U);
    sum += data[i];
  }
  os_process p{rt, entry<checks_sum>, data, std::uint64_t{data.size()}, sum};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << p.exit_reason();
}

TEST_P(os_process_run, messages_to_an_ended_child_are_dropped) {
  troupe::runtime rt;
  os_process p{rt, entry<returns>};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  p.send(1); // no effect, no error, as for any ended process
  EXPECT_EQ(p.exitcode(), 0);
}

// multiprocessing.connection.wait over a set known at run time: an OS
// process's end is one of the things waited for (Python's sentinel).
TEST_P(os_process_run, wait_sees_its_end_among_channels) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  auto ready = temp_path("troupe-wait-spinning");
  os_process p{rt, entry<spins>, ready};
  EXPECT_THROW(troupe::waitable{p}, troupe::state_error);
  p.start();
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(ready); }));
  std::filesystem::remove(ready);
  std::vector<troupe::waitable> xs{q, p};
  EXPECT_TRUE(troupe::wait(xs, 0ms).empty());
  std::thread killer{[&] {
    std::this_thread::sleep_for(50ms);
    ::kill(*p.os_pid(), SIGKILL);
  }};
  auto ready_ones = troupe::wait(xs, deadline);
  killer.join();
  EXPECT_EQ(ready_ones, std::vector<std::size_t>{1});
  EXPECT_EQ(p.exitcode(), -9);
}
