// os_process across the OS-process boundary: orphans, the starting thread,
// reaping, the runtime's shutdown.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/troupe.hpp>

#include "isolate_entries.hpp"
#include "test_util.hpp"

extern char** environ; // NOLINT(readability-redundant-declaration)

using namespace std::chrono_literals;
using troupe::entry;
using troupe::os_process;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

/// Whether `pid` is gone: no such process, or a zombie nobody reaped yet
/// (it runs no more code).
bool gone(pid_t pid) {
  std::ifstream stat{"/proc/" + std::to_string(pid) + "/stat"};
  if (!stat)
    return true;
  std::string line;
  std::getline(stat, line);
  auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size()
         || line[close_paren + 2] == 'Z' || line[close_paren + 2] == 'X';
}

/// Child processes of this process that are zombies.
int zombie_children() {
  int count = 0;
  for (const auto& e : std::filesystem::directory_iterator{"/proc"}) {
    std::ifstream stat{e.path() / "stat"};
    std::string line;
    if (!stat || !std::getline(stat, line))
      continue;
    auto close_paren = line.rfind(')');
    if (close_paren == std::string::npos)
      continue;
    std::istringstream rest{line.substr(close_paren + 2)};
    char state = 0;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == ::getpid() && state == 'Z')
      ++count;
  }
  return count;
}

} // namespace

/// Starts this binary as a parent (see isolate_main.cpp) whose os_process
/// starts a grandchild, SIGKILLs that parent and checks that both
/// descendants are gone within a second.
void check_no_descendant_survives(bool forkserver) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-orphans-" + std::to_string(::getpid())
                + (forkserver ? "-fs" : ""));
  std::filesystem::create_directories(dir);
  auto flag = "--orphan-parent=" + dir.string();
  std::string self = "/proc/self/exe";
  std::string method = "--forkserver";
  std::vector<char*> argv{self.data(), flag.data(), nullptr, nullptr};
  if (forkserver)
    argv[2] = method.data();
  pid_t parent = 0;
  ASSERT_EQ(::posix_spawn(&parent, "/proc/self/exe", nullptr, nullptr,
                          argv.data(), environ),
            0);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(dir / "pids"); }))
    << "the os_process never started its grandchild";
  pid_t child = 0;
  pid_t grandchild = 0;
  std::ifstream{dir / "pids"} >> child >> grandchild;
  ASSERT_GT(child, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_FALSE(gone(child));
  EXPECT_FALSE(gone(grandchild));
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  EXPECT_TRUE(eventually([&] { return gone(child); }, 1000ms))
    << "the os_process outlived its SIGKILLed parent";
  EXPECT_TRUE(eventually([&] { return gone(grandchild); }, 1000ms))
    << "the os_process's own child outlived the parent";
  ::kill(child, SIGKILL); // no leftovers whatever happened
  ::kill(grandchild, SIGKILL);
  std::filesystem::remove_all(dir);
}

TEST(os_process_lifecycle, a_killed_parent_leaves_no_descendant) {
  check_no_descendant_survives(false);
}

TEST(os_process_lifecycle, a_killed_parent_leaves_no_forkserver_descendant) {
  check_no_descendant_survives(true);
}

TEST(os_process_lifecycle, a_thread_that_started_it_may_end_first) {
  troupe::runtime rt;
  std::optional<os_process> started;
  std::mutex mtx;
  troupe::process starter{
    rt, [&] {
      os_process p{rt, entry<isolate_test::sleeps_for>, 300};
      p.start();
      std::lock_guard guard{mtx};
      started = p;
    }};
  starter.start();
  ASSERT_TRUE(starter.join(deadline));
  std::this_thread::sleep_for(50ms); // the starting thread is gone now
  std::lock_guard guard{mtx};
  ASSERT_TRUE(started);
  ASSERT_TRUE(started->join(deadline));
  EXPECT_EQ(started->exitcode(), 0) << started->exit_reason();
}

TEST(os_process_lifecycle, a_thousand_starts_and_joins_leave_no_zombie) {
  troupe::runtime rt;
#if defined(__SANITIZE_THREAD__)
  // A sanitizer's child takes about a second to start (mapping its shadow
  // memory): fewer starts keep the test within its time limit.
  constexpr int total = 104;
#elif defined(__SANITIZE_ADDRESS__)
  constexpr int total = 248;
#else
  constexpr int total = 1000;
#endif
  constexpr int at_once = 8;
  int failed = 0;
  for (int done = 0; done < total; done += at_once) {
    std::vector<os_process> batch;
    for (int i = 0; i < at_once; ++i) {
      batch.emplace_back(rt, entry<isolate_test::sleeps_for>, 0);
      batch.back().start();
    }
    for (auto& p : batch) {
      ASSERT_TRUE(p.join(deadline));
      failed += p.exitcode() == 0 ? 0 : 1;
    }
  }
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(eventually([] { return zombie_children() == 0; }, 2000ms))
    << zombie_children() << " zombies";
}

TEST(os_process_lifecycle, shutdown_waits_for_children_and_stops_daemons) {
  pid_t worker = 0;
  pid_t daemon = 0;
  std::optional<os_process> w;
  std::optional<os_process> d;
  auto ready = troupe::test::temp_path("troupe-daemon-spinning");
  auto t0 = std::chrono::steady_clock::now();
  {
    troupe::runtime rt{{.terminate_grace = 100ms}};
    w.emplace(rt, entry<isolate_test::sleeps_for>, 300);
    d.emplace(rt, troupe::os_process_options{.daemon = true},
              entry<isolate_test::spins>, ready);
    w->start();
    d->start();
    worker = *w->os_pid();
    daemon = *d->os_pid();
    // Until its entry runs, the child has not replaced SIGTERM's default
    // action (a sanitizer's child takes about a second to get there), and
    // a SIGTERM then is -15, not the kill after the grace judged here.
    ASSERT_TRUE(
      eventually([&] { return std::filesystem::exists(ready); }, 5000ms));
    std::filesystem::remove(ready);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 250ms)
    << "the runtime did not wait for its non-daemon child";
  EXPECT_EQ(w->exitcode(), 0);
  EXPECT_EQ(d->exitcode(), -9); // ignored SIGTERM, killed after its grace
  EXPECT_TRUE(gone(worker));
  EXPECT_TRUE(gone(daemon)) << "the runtime returned while a child lived";
}
