#include <atomic>
#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>

#include <troupe/ext/exit_hook.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
namespace tp = troupe::this_process;

namespace {

TEST(runtime, shutdown_waits_for_non_daemon_processes) {
  std::atomic<bool> finished{false};
  {
    troupe::runtime rt;
    troupe::process p{rt, [&] {
                        tp::sleep_for(50ms);
                        finished = true;
                      }};
    p.start();
  }
  EXPECT_TRUE(finished);
}

TEST(runtime, shutdown_terminates_daemon_processes_and_actors) {
  std::optional<troupe::process> daemon;
  std::optional<troupe::actor> actor;
  std::optional<troupe::process> worker;
  std::atomic<bool> worker_done{false};
  {
    troupe::runtime rt;
    daemon.emplace(rt, troupe::process_options{.daemon = true},
                   [] { tp::receive<int>(); });
    daemon->start();
    actor.emplace(troupe::spawn(
      rt, {.daemon = true},
      [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; }));
    worker.emplace(rt, [&] {
      tp::sleep_for(20ms);
      worker_done = true;
    });
    worker->start();
  }
  EXPECT_TRUE(worker_done);
  EXPECT_EQ(worker->exitcode(), 0);
  EXPECT_EQ(daemon->exitcode(), -15);
  EXPECT_EQ(actor->exitcode(), -15);
}

TEST(runtime, shutdown_reports_processes_past_its_deadline_then_stops_them) {
  std::optional<troupe::process> p;
  testing::internal::CaptureStderr();
  {
    troupe::runtime rt{{.shutdown_timeout = 50ms, .terminate_grace = 50ms}};
    p.emplace(rt, troupe::process_options{.name = "stuck"},
              [] { tp::receive<int>(); });
    p->start();
  }
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("still running: 'stuck' (pid 2)"), std::string::npos)
    << err;
  EXPECT_EQ(p->exitcode(), -15);
}

std::atomic<bool> release_stuck_thread{false};

TEST(runtime, a_thread_that_never_returns_is_abandoned_not_waited_for) {
  std::optional<troupe::process> p;
  std::atomic<bool> left{false};
  testing::internal::CaptureStderr();
  auto t0 = std::chrono::steady_clock::now();
  {
    troupe::runtime rt{{.shutdown_timeout = 50ms, .terminate_grace = 50ms}};
    p.emplace(rt, troupe::process_options{.name = "loop"}, [&] {
      while (!release_stuck_thread)
        std::this_thread::yield();
      left = true;
    });
    p->start();
  }
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
  EXPECT_NE(err.find("abandoning"), std::string::npos) << err;
  EXPECT_EQ(p->exitcode(), -9);
  release_stuck_thread = true;
  EXPECT_TRUE(troupe::test::eventually([&] { return left.load(); }));
}

TEST(runtime,
     a_thread_still_running_its_exit_hooks_is_waited_for_not_abandoned) {
  // A daemon stopped at shutdown leaves slowly: its exit hook outlasts the
  // runtime's wait for stopped processes (the grace plus 500 ms) and its
  // wait for killed threads (as unwinding does on a loaded or instrumented
  // machine). It is leaving, not stuck. The grace leaves a terminate time
  // to unwind under TSan on a busy machine, so the exit code is -15.
  std::optional<troupe::process> p;
  std::atomic<bool> hook_done{false};
  testing::internal::CaptureStderr();
  {
    troupe::runtime rt{{.terminate_grace = 1s}};
    p.emplace(rt, troupe::process_options{.name = "slow-exit", .daemon = true},
              [] { tp::receive<int>(); });
    troupe::ext::on_exit(*p, [&](const troupe::ext::exit_info&) {
      std::this_thread::sleep_for(2s); // slow work, not a synchronisation
      hook_done = true;
    });
    p->start();
  }
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(hook_done);
  EXPECT_EQ(err.find("abandoning"), std::string::npos) << err;
  EXPECT_EQ(p->exitcode(), -15);
}

TEST(runtime, handles_that_outlive_the_runtime_report_state_error) {
  std::optional<troupe::process> p;
  {
    troupe::runtime rt;
    p.emplace(rt, [] {});
  }
  EXPECT_THROW(p->start(), troupe::state_error);
  EXPECT_EQ(p->exitcode(), std::nullopt);
}

TEST(runtime, reads_troupe_and_caf_options_from_the_command_line) {
  std::vector<std::string> args{"prog", "--troupe.shutdown-timeout=2s",
                                "--troupe.terminate-grace=250ms",
                                "--scheduler.max-threads=3", "input.txt"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  troupe::runtime rt{static_cast<int>(argv.size()), argv.data()};
  EXPECT_EQ(rt.options().shutdown_timeout, 2s);
  EXPECT_EQ(rt.options().terminate_grace, 250ms);
  EXPECT_EQ(rt.options().scheduler_threads, 3u);
  EXPECT_EQ(
    caf::get_or(rt.system().config(), "scheduler.max-threads", size_t{0}), 3u);
  ASSERT_EQ(rt.args().size(), 1u);
  EXPECT_EQ(rt.args()[0], "input.txt");
}

TEST(runtime, leaves_the_programs_own_options_in_args_as_parse_known_args) {
  std::vector<std::string> args{
    "prog",  "--workers=4", "-v",     "--troupe.terminate-grace=5ms",
    "input", "--",          "--x.y=1"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  troupe::runtime rt{static_cast<int>(argv.size()), argv.data()};
  EXPECT_EQ(rt.options().terminate_grace, 5ms);
  EXPECT_EQ(rt.args(), (std::vector<std::string>{"--workers=4", "-v", "input",
                                                 "--x.y=1"}));
}

TEST(runtime, the_command_line_overrides_given_defaults) {
  std::vector<std::string> args{"prog", "--troupe.terminate-grace=5ms"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  troupe::runtime rt{static_cast<int>(argv.size()),
                     argv.data(),
                     {.shutdown_timeout = 7s, .terminate_grace = 9s}};
  EXPECT_EQ(rt.options().shutdown_timeout, 7s);
  EXPECT_EQ(rt.options().terminate_grace, 5ms);
}

TEST(runtime, a_malformed_option_exits_with_status_2_naming_it) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<std::string> args{"prog", "--troupe.terminate-grace=soon"};
  std::vector<char*> argv;
  for (auto& arg : args)
    argv.push_back(arg.data());
  EXPECT_EXIT(troupe::runtime(static_cast<int>(argv.size()), argv.data()),
              testing::ExitedWithCode(2),
              "invalid command line.*terminate-grace");
}

TEST(runtime, negative_durations_are_rejected) {
  EXPECT_THROW(troupe::runtime({.terminate_grace = -1ms}), troupe::value_error);
}

TEST(runtime, current_process_outside_any_runtime_throws) {
  EXPECT_THROW(static_cast<void>(troupe::current_process()),
               troupe::state_error);
}

TEST(runtime, active_processes_lists_what_runs_in_start_order) {
  troupe::runtime rt;
  troupe::process a{rt, [] { tp::receive<int>(); }};
  troupe::process b{rt, [] { tp::receive<int>(); }};
  a.start();
  b.start();
  auto running = rt.active_processes();
  ASSERT_EQ(running.size(), 2u);
  EXPECT_EQ(running[0], a);
  EXPECT_EQ(running[1], b);
  a.send(1);
  b.send(1);
  ASSERT_TRUE(a.join(deadline));
  ASSERT_TRUE(b.join(deadline));
  EXPECT_TRUE(
    troupe::test::eventually([&] { return rt.active_processes().empty(); }));
}

} // namespace
