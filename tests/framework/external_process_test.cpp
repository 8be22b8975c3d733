// ext::external_process: a process whose body runs elsewhere (an OS
// process, a node) has a process's lifecycle, exit hooks, stop requests,
// mailbox, supervision and shutdown; its module maps stops onto the body
// and reports its end.

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/external_process.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::eventually;
namespace ext = troupe::ext;

namespace {

/// What a module's stop function was asked, in order.
struct signals_seen {
  std::mutex mtx;
  std::vector<int> seen; // (mtx)

  ext::external_process::stop_fn stop() {
    return [this](int sig) {
      std::lock_guard guard{mtx};
      seen.push_back(sig);
    };
  }

  std::vector<int> get() {
    std::lock_guard guard{mtx};
    return seen;
  }
};

} // namespace

TEST(external_process, finish_ends_it_with_the_bodys_code_and_reason) {
  troupe::runtime rt;
  signals_seen sig;
  ext::external_process body{rt, {.name = "resize"}, sig.stop()};
  const auto& p = body.handle();
  EXPECT_TRUE(p.is_alive());
  EXPECT_NE(p.pid(), 0);
  EXPECT_EQ(p.name(), "resize");
  EXPECT_FALSE(p.exitcode());
  troupe::process copy = p;
  EXPECT_THROW(copy.start(), troupe::state_error); // started by its module
  std::atomic<int> hook_code{99};
  ext::on_exit(p,
               [&](const ext::exit_info& info) { hook_code = info.exitcode; });
  EXPECT_FALSE(p.join(20ms));
  EXPECT_TRUE(body.finish(-11, "killed by SIGSEGV (segmentation fault)"));
  p.join();
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), -11);
  EXPECT_EQ(p.exit_reason(), "killed by SIGSEGV (segmentation fault)");
  EXPECT_EQ(hook_code.load(), -11); // before join() returned
  EXPECT_FALSE(body.finish(0, "again")) << "an end is declared once";
  EXPECT_EQ(p.exitcode(), -11);
  EXPECT_TRUE(sig.get().empty());
}

TEST(external_process, its_parent_is_the_process_that_made_it) {
  troupe::runtime rt;
  std::optional<ext::external_process> body;
  troupe::process maker{
    rt, [&] { body.emplace(rt, troupe::process_options{}, [](int) {}); }};
  maker.start();
  maker.join();
  ASSERT_TRUE(body);
  std::ostringstream repr;
  repr << body->handle();
  EXPECT_NE(repr.str().find(" parent=" + std::to_string(maker.pid()) + " "),
            std::string::npos)
    << repr.str();
  body->finish(0, "");
}

TEST(external_process, terminate_asks_the_body_and_waits_for_its_end) {
  troupe::runtime rt;
  signals_seen sig;
  ext::external_process body{rt, {.terminate_grace = 10s}, sig.stop()};
  const auto& p = body.handle();
  p.terminate();
  EXPECT_EQ(sig.get(), std::vector<int>{15});
  EXPECT_FALSE(p.join(50ms)) << "ended before its body did";
  p.terminate(); // asked once
  EXPECT_EQ(sig.get(), std::vector<int>{15});
  EXPECT_TRUE(body.finish(-15, "terminated"));
  p.join();
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(external_process, a_body_deaf_to_terminate_is_killed_after_the_grace) {
  troupe::runtime rt;
  signals_seen sig;
  ext::external_process body{rt, {.terminate_grace = 50ms}, sig.stop()};
  const auto& p = body.handle();
  p.terminate();
  ASSERT_TRUE(p.join(troupe::test::deadline));
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_NE(p.exit_reason().find("grace of 50 ms"), std::string::npos)
    << p.exit_reason();
  // Declared killed first, then signalled (so that the reaper cannot
  // report the end before the declaration): the SIGKILL may follow join().
  EXPECT_TRUE(troupe::test::eventually(
    [&] {
      return sig.get() == std::vector<int>{15, 9};
    },
    5000ms))
    << sig.get().size() << " signal(s)";
  EXPECT_FALSE(body.finish(-9, "reaped")); // the module reaps it later
}

TEST(external_process, kill_declares_it_killed_at_once) {
  troupe::runtime rt;
  signals_seen sig;
  ext::external_process body{rt, {}, sig.stop()};
  const auto& p = body.handle();
  p.kill();
  EXPECT_EQ(p.exitcode(), -9); // without waiting for the body
  EXPECT_EQ(sig.get(), std::vector<int>{9});
  p.kill();
  p.terminate();
  EXPECT_EQ(sig.get(), std::vector<int>{9});
}

TEST(external_process, a_stop_function_that_throws_does_not_stop_the_end) {
  troupe::runtime rt;
  ext::external_process body{rt, {.terminate_grace = 20ms}, [](int) {
                               throw std::runtime_error("no such process");
                             }};
  const auto& p = body.handle();
  testing::internal::CaptureStderr();
  EXPECT_NO_THROW(p.terminate());
  ASSERT_TRUE(p.join(troupe::test::deadline));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_NE(err.find("no such process"), std::string::npos) << err;
}

TEST(external_process, messages_go_to_the_mailbox_the_module_set) {
  troupe::runtime rt;
  troupe::queue<int> got{rt};
  auto mailbox = troupe::spawn(rt, [got](caf::event_based_actor*) {
    return caf::behavior{[got](int x) mutable { got.put(x); }};
  });
  ext::external_process body{rt, {}, [](int) {}};
  const auto& p = body.handle();
  p.send(1); // no mailbox yet: dropped, as for an ended process
  body.set_mailbox(mailbox.handle());
  p.send(2);
  EXPECT_EQ(got.get(troupe::test::deadline), 2);
  body.finish(0, "");
  p.send(3); // ended: dropped
  EXPECT_FALSE(got.try_get(50ms));
  mailbox.kill();
}

TEST(external_process, a_supervisor_restarts_it_and_stops_it_by_its_spec) {
  troupe::runtime rt;
  std::mutex mtx;
  std::vector<std::shared_ptr<ext::external_process>> bodies; // (mtx)
  signals_seen sig;
  auto start = [&](troupe::runtime& r) {
    auto b = std::make_shared<ext::external_process>(
      r, troupe::process_options{}, sig.stop());
    std::lock_guard guard{mtx};
    bodies.push_back(b);
    return b->handle();
  };
  auto nth = [&](std::size_t i) {
    std::lock_guard guard{mtx};
    return i < bodies.size() ? bodies[i] : nullptr;
  };
  std::optional<troupe::supervisor> sup;
  sup.emplace(
    rt, troupe::supervisor_options{.restarts = {.intensity = 5}},
    std::vector<troupe::child_spec>{
      {.id = "body", .start = start, .shutdown = troupe::shutdown_spec{5s}}});
  ASSERT_TRUE(nth(0));
  // The body crashed: a fresh one takes its place.
  nth(0)->finish(-11, "killed by SIGSEGV (segmentation fault)");
  ASSERT_TRUE(eventually([&] { return nth(1) != nullptr; }));
  EXPECT_TRUE(eventually([&] { return sup->restarts() == 1; }));
  // Shutdown: asked to stop, and ended when its body ends.
  std::thread module{[&] {
    ASSERT_TRUE(eventually([&] { return !sig.get().empty(); }));
    nth(1)->finish(-15, "terminated");
  }};
  sup->terminate();
  sup->join();
  module.join();
  EXPECT_EQ(sig.get(), std::vector<int>{15});
  EXPECT_EQ(nth(1)->handle().exitcode(), -15);
}

TEST(external_process, the_runtime_waits_for_it_or_terminates_a_daemon) {
  signals_seen daemon_sig;
  std::optional<ext::external_process> worker;
  std::optional<ext::external_process> daemon;
  std::thread module;
  {
    troupe::runtime rt;
    worker.emplace(rt, troupe::process_options{}, [](int) {});
    daemon.emplace(
      rt, troupe::process_options{.daemon = true, .terminate_grace = 10s},
      daemon_sig.stop());
    module = std::thread{[&] {
      std::this_thread::sleep_for(50ms);
      worker->finish(0, ""); // the non-daemon ends on its own
      ASSERT_TRUE(eventually([&] { return !daemon_sig.get().empty(); }));
      daemon->finish(-15, "terminated");
    }};
  } // ~runtime: waits for the worker, then terminates the daemon
  module.join();
  EXPECT_EQ(worker->handle().exitcode(), 0);
  EXPECT_EQ(daemon->handle().exitcode(), -15);
  EXPECT_EQ(daemon_sig.get(), std::vector<int>{15});
}
