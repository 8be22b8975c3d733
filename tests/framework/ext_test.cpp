// The extension surface modules build on (troupe/ext/): the ownership hook,
// stop callbacks, waits that wake on stop, and the wait for a process's end
// that does not.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <troupe/ext/describe.hpp>
#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/spin.hpp>
#include <troupe/ext/stop.hpp>
#include <troupe/ext/wait.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;
namespace ext = troupe::ext;

namespace {

/// A door a process's target waits at, deaf to stop requests (a thread in
/// code troupe cannot interrupt): only `open()` lets it through.
struct gate {
  std::mutex mtx;
  std::condition_variable cv;
  bool is_open = false;
  std::atomic<bool> waiting{false};
  std::atomic<bool> left{false};

  void pass() {
    waiting = true;
    std::unique_lock lk{mtx};
    cv.wait(lk, [this] { return is_open; });
  }

  void open() {
    {
      std::lock_guard guard{mtx};
      is_open = true;
    }
    cv.notify_all();
  }
};

/// What the exit hooks of one process saw.
struct hook_record {
  std::atomic<int> calls{0};
  std::atomic<int> code{99};
  std::mutex mtx;
  std::string reason;     // (mtx)
  std::thread::id thread; // (mtx)

  ext::exit_hook hook() {
    return [this](const ext::exit_info& info) {
      {
        std::lock_guard guard{mtx};
        reason = std::string{info.reason};
        thread = std::this_thread::get_id();
      }
      code = info.exitcode;
      ++calls;
    };
  }

  std::string seen_reason() {
    std::lock_guard guard{mtx};
    return reason;
  }
};

/// Blocks the calling process until it is asked to stop; throws
/// `terminated` then.
void wait_for_stop() {
  std::mutex mtx;
  std::condition_variable cv;
  std::unique_lock lk{mtx};
  ext::wait(lk, cv, [] { return false; });
}

caf::behavior quitter(caf::event_based_actor* self) {
  return {
    [=](int) { self->quit(); },
    [](const std::string& what) {
      throw std::runtime_error("asked to " + what);
    },
  };
}

caf::behavior stubborn(caf::event_based_actor* self) {
  self->set_exit_handler([](caf::exit_msg&) { /* traps terminate */ });
  return {[](int) {}};
}

// -- the ownership hook: processes ------------------------------------------

TEST(ext_on_exit, runs_once_when_a_process_returns) {
  troupe::runtime rt;
  hook_record rec;
  troupe::process p{rt, [] {}};
  ext::on_exit(p, rec.hook()); // before start: no end is missed
  p.start();
  ASSERT_TRUE(p.join(deadline));
  // Before join() returned, so what the hook releases is released by then.
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, 0);
  EXPECT_EQ(rec.seen_reason(), "");
}

TEST(ext_on_exit, runs_once_when_a_process_throws) {
  troupe::runtime rt;
  hook_record rec;
  troupe::process p{rt, [] { throw std::runtime_error("disk full"); }};
  ext::on_exit(p, rec.hook());
  testing::internal::CaptureStderr(); // the failure report
  p.start();
  ASSERT_TRUE(p.join(deadline));
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, 1);
  EXPECT_NE(rec.seen_reason().find("disk full"), std::string::npos)
    << rec.seen_reason();
}

TEST(ext_on_exit, runs_once_when_a_process_is_terminated) {
  troupe::runtime rt;
  hook_record rec;
  troupe::process p{rt, {.terminate_grace = 60s}, wait_for_stop};
  p.start();
  ext::on_exit(p, rec.hook()); // while it runs
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -15);
}

TEST(ext_on_exit, runs_once_when_a_process_is_killed_after_its_grace) {
  troupe::runtime rt;
  hook_record rec;
  auto door = std::make_shared<gate>();
  troupe::process p{rt, {.terminate_grace = 30ms}, [door] {
                      door->pass();
                      door->left = true;
                    }};
  ext::on_exit(p, rec.hook());
  p.start();
  ASSERT_TRUE(eventually([&] { return door->waiting.load(); }));
  p.terminate(); // ignored by the thread: killed when the grace runs out
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -9);
  EXPECT_NE(rec.seen_reason().find("grace"), std::string::npos)
    << rec.seen_reason();
  door->open();
  ASSERT_TRUE(eventually([&] { return door->left.load(); }));
  EXPECT_EQ(rec.calls, 1) << "the thread leaving runs no hook again";
}

TEST(ext_on_exit, runs_once_when_a_process_is_killed) {
  troupe::runtime rt;
  hook_record rec;
  auto door = std::make_shared<gate>();
  troupe::process p{rt, [door] {
                      door->pass();
                      door->left = true;
                    }};
  ext::on_exit(p, rec.hook());
  p.start();
  ASSERT_TRUE(eventually([&] { return door->waiting.load(); }));
  p.kill();
  // At once, on the killing thread: join() need not wait for the thread.
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -9);
  {
    std::lock_guard guard{rec.mtx};
    EXPECT_EQ(rec.thread, std::this_thread::get_id());
  }
  ASSERT_TRUE(p.join(deadline));
  door->open();
  ASSERT_TRUE(eventually([&] { return door->left.load(); }));
  EXPECT_EQ(rec.calls, 1);
}

TEST(ext_on_exit, a_hook_added_after_the_end_runs_at_once_on_the_caller) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::exit(3); }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  hook_record rec;
  ext::on_exit(p, rec.hook());
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, 3);
  std::lock_guard guard{rec.mtx};
  EXPECT_EQ(rec.thread, std::this_thread::get_id());
}

TEST(ext_on_exit,
     hooks_run_in_registration_order_and_a_throwing_one_is_reported) {
  troupe::runtime rt;
  troupe::process p{rt, {.name = "leaky"}, [] {}};
  std::mutex mtx;
  std::string order;
  ext::on_exit(p, [&](const ext::exit_info&) {
    std::lock_guard guard{mtx};
    order += "a";
    throw std::runtime_error("cannot release");
  });
  ext::on_exit(p, [&](const ext::exit_info&) {
    std::lock_guard guard{mtx};
    order += "b";
    throw 42; // not even a std::exception
  });
  ext::on_exit(p, [&](const ext::exit_info&) {
    std::lock_guard guard{mtx};
    order += "c";
  });
  testing::internal::CaptureStderr();
  p.start();
  ASSERT_TRUE(p.join(deadline));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(p.exitcode(), 0) << "a hook's failure is not the process's";
  std::lock_guard guard{mtx};
  EXPECT_EQ(order, "abc");
  EXPECT_NE(err.find("'leaky'"), std::string::npos) << err;
  EXPECT_NE(err.find("cannot release"), std::string::npos) << err;
  EXPECT_NE(err.find("unknown type"), std::string::npos) << err;
}

TEST(ext_on_exit, after_thread_left_waits_until_a_killed_thread_leaves) {
  troupe::runtime rt;
  hook_record at_end;
  hook_record left;
  std::atomic<std::thread::id> target_thread{};
  auto door = std::make_shared<gate>();
  troupe::process p{rt, [door, &target_thread] {
                      target_thread = std::this_thread::get_id();
                      door->pass();
                    }};
  ext::on_exit(p, at_end.hook());
  ext::on_exit(p, left.hook(), ext::hook_timing::after_thread_left);
  p.start();
  ASSERT_TRUE(eventually([&] { return door->waiting.load(); }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(at_end.calls, 1);
  EXPECT_EQ(left.calls, 0) << "its thread is still inside the target";
  door->open();
  ASSERT_TRUE(eventually([&] { return left.calls.load() == 1; }));
  EXPECT_EQ(left.code, -9);
  std::lock_guard guard{left.mtx};
  EXPECT_EQ(left.thread, target_thread.load()) << "run by the leaving thread";
}

TEST(ext_on_exit, after_thread_left_runs_at_the_end_when_no_thread_stays) {
  troupe::runtime rt;
  hook_record left;
  troupe::process p{rt, {.terminate_grace = 60s}, wait_for_stop};
  ext::on_exit(p, left.hook(), ext::hook_timing::after_thread_left);
  p.start();
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(left.calls, 1);
  EXPECT_EQ(left.code, -15);
}

// -- the ownership hook: actors ---------------------------------------------

TEST(ext_on_exit, runs_once_when_an_actor_quits) {
  troupe::runtime rt;
  hook_record rec;
  auto a = troupe::spawn(rt, quitter);
  ext::on_exit(a, rec.hook());
  a.send(1);
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, 0);
}

TEST(ext_on_exit, runs_once_when_an_actor_throws) {
  troupe::runtime rt;
  hook_record rec;
  auto a = troupe::spawn(rt, quitter);
  ext::on_exit(a, rec.hook());
  testing::internal::CaptureStderr();
  a.send(std::string{"fail"});
  ASSERT_TRUE(a.join(deadline));
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, 1);
}

TEST(ext_on_exit, runs_once_when_an_actor_is_terminated) {
  troupe::runtime rt;
  hook_record rec;
  auto a = troupe::spawn(rt, quitter);
  ext::on_exit(a, rec.hook());
  a.terminate();
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -15);
}

TEST(ext_on_exit, runs_once_when_an_actor_is_killed_after_its_grace) {
  troupe::runtime rt;
  hook_record rec;
  auto a = troupe::spawn(rt, {.terminate_grace = 30ms}, stubborn);
  ext::on_exit(a, rec.hook());
  a.terminate();
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -9);
}

TEST(ext_on_exit, runs_once_when_an_actor_is_killed) {
  troupe::runtime rt;
  hook_record rec;
  auto a = troupe::spawn(rt, stubborn);
  ext::on_exit(a, rec.hook());
  a.kill();
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(rec.calls, 1);
  EXPECT_EQ(rec.code, -9);
}

// -- stop callbacks -----------------------------------------------------------

TEST(ext_stop_callback, fires_once_though_terminate_is_followed_by_kill) {
  troupe::runtime rt;
  auto fired = std::make_shared<std::atomic<int>>(0);
  auto door = std::make_shared<gate>();
  troupe::process p{rt, {.terminate_grace = 60s}, [fired, door] {
                      ext::stop_callback cb{[fired] { ++*fired; }};
                      door->pass(); // deaf to the stop: stays registered
                      door->left = true;
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return door->waiting.load(); }));
  p.terminate(); // runs the callback on this thread before it returns
  EXPECT_EQ(*fired, 1);
  p.kill(); // asks again, harder
  EXPECT_EQ(*fired, 1);
  ASSERT_TRUE(p.join(deadline));
  door->open();
  ASSERT_TRUE(eventually([&] { return door->left.load(); }));
  EXPECT_EQ(*fired, 1);
}

TEST(ext_stop_callback, runs_at_once_when_the_stop_came_first) {
  troupe::runtime rt;
  auto fired = std::make_shared<std::atomic<int>>(0);
  auto same_thread = std::make_shared<std::atomic<bool>>(false);
  auto asked = std::make_shared<gate>();
  troupe::process p{rt, {.terminate_grace = 60s}, [=] {
                      asked->pass(); // opened once terminate() returned
                      EXPECT_TRUE(ext::stop_requested());
                      auto me = std::this_thread::get_id();
                      ext::stop_callback cb{[=] {
                        ++*fired;
                        *same_thread = std::this_thread::get_id() == me;
                      }};
                      EXPECT_EQ(*fired, 1) << "ran in the constructor";
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return asked->waiting.load(); }));
  p.terminate();
  asked->open();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_EQ(*fired, 1);
  EXPECT_TRUE(*same_thread);
}

TEST(ext_stop_callback, never_fires_once_destroyed) {
  troupe::runtime rt;
  auto fired = std::make_shared<std::atomic<int>>(0);
  auto door = std::make_shared<gate>();
  troupe::process p{rt, {.terminate_grace = 60s}, [fired, door] {
                      {
                        ext::stop_callback cb{[fired] { ++*fired; }};
                      }
                      door->pass();
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return door->waiting.load(); }));
  p.terminate();
  door->open();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(*fired, 0);
}

TEST(ext_stop_callback, does_nothing_on_the_main_process) {
  troupe::runtime rt;
  int fired = 0;
  {
    ext::stop_callback cb{[&] { ++fired; }};
    EXPECT_FALSE(ext::stop_requested());
  }
  EXPECT_EQ(fired, 0);
}

// -- waits that wake on stop --------------------------------------------------

TEST(ext_wait, wakes_on_terminate_and_throws_terminated_long_before_the_grace) {
  troupe::runtime rt;
  auto threw = std::make_shared<std::atomic<bool>>(false);
  auto waiting = std::make_shared<std::atomic<bool>>(false);
  troupe::process p{rt, {.terminate_grace = 60s}, [threw, waiting] {
                      std::mutex mtx;
                      std::condition_variable cv;
                      std::unique_lock lk{mtx};
                      *waiting = true;
                      try {
                        ext::wait(lk, cv, [] { return false; });
                      } catch (const troupe::terminated&) {
                        *threw = true;
                        EXPECT_TRUE(lk.owns_lock());
                        throw;
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return waiting->load(); }));
  auto t0 = std::chrono::steady_clock::now();
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(*threw);
  EXPECT_EQ(p.exitcode(), -15) << "woken, not killed after its grace";
  EXPECT_LT(took, 10s);
}

TEST(ext_wait, returns_when_its_condition_is_made_true_and_notified) {
  troupe::runtime rt;
  std::mutex mtx;
  std::condition_variable cv;
  bool ready = false;
  auto result = std::make_shared<std::atomic<int>>(0);
  troupe::process p{rt, [&, result] {
                      std::unique_lock lk{mtx};
                      ext::wait(lk, cv, [&] { return ready; });
                      *result = lk.owns_lock() ? 1 : 2;
                    }};
  p.start();
  {
    std::lock_guard guard{mtx};
    ready = true;
  }
  cv.notify_all();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(*result, 1);
}

TEST(ext_wait, returns_at_once_when_its_condition_holds_even_after_a_stop) {
  troupe::runtime rt;
  auto asked = std::make_shared<gate>();
  auto result = std::make_shared<std::atomic<int>>(0);
  troupe::process p{rt, {.terminate_grace = 60s}, [asked, result] {
                      asked->pass();
                      std::mutex mtx;
                      std::condition_variable cv;
                      std::unique_lock lk{mtx};
                      ext::wait(lk, cv, [] { return true; });
                      *result = 1;
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return asked->waiting.load(); }));
  p.terminate();
  asked->open();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(*result, 1);
}

TEST(ext_wait, wait_until_and_wait_for_give_up_at_their_deadline) {
  troupe::runtime rt; // on the main process: nobody can stop it
  std::mutex mtx;
  std::condition_variable cv;
  std::unique_lock lk{mtx};
  EXPECT_FALSE(ext::wait_until(lk, cv, std::chrono::steady_clock::now() + 5ms,
                               [] { return false; }));
  EXPECT_TRUE(lk.owns_lock());
  EXPECT_FALSE(ext::wait_for(lk, cv, 5ms, [] { return false; }));
  EXPECT_TRUE(
    ext::wait_for(lk, cv, std::chrono::hours::max(), [] { return true; }));
  EXPECT_TRUE(lk.owns_lock());
}

TEST(ext_wait, wait_for_in_a_process_wakes_on_kill_too) {
  troupe::runtime rt;
  auto threw = std::make_shared<std::atomic<bool>>(false);
  auto waiting = std::make_shared<std::atomic<bool>>(false);
  troupe::process p{rt, [threw, waiting] {
                      std::mutex mtx;
                      std::condition_variable cv;
                      std::unique_lock lk{mtx};
                      *waiting = true;
                      try {
                        static_cast<void>(
                          ext::wait_for(lk, cv, 1h, [] { return false; }));
                      } catch (const troupe::terminated&) {
                        *threw = true;
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return waiting->load(); }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  // Declared killed at once; its thread, woken, leaves soon after.
  ASSERT_TRUE(eventually([&] { return threw->load(); }));
}

// -- waiting for an end, deaf to stop -----------------------------------------

TEST(ext_await_end, is_not_woken_by_a_stop_request_of_the_waiter) {
  troupe::runtime rt;
  auto door = std::make_shared<gate>();
  troupe::process awaited{rt, [door] { door->pass(); }};
  awaited.start();
  auto entered = std::make_shared<std::atomic<bool>>(false);
  auto returned = std::make_shared<std::atomic<bool>>(false);
  troupe::process waiter{rt, {.terminate_grace = 60s}, [=] {
                           *entered = true;
                           ext::await_end(awaited);
                           *returned = true;
                           troupe::this_process::checkpoint(); // now it stops
                         }};
  waiter.start();
  ASSERT_TRUE(eventually([&] { return entered->load(); }));
  waiter.terminate();
  door->open();
  ASSERT_TRUE(waiter.join(deadline));
  EXPECT_TRUE(*returned) << "woken by the stop, it would have thrown";
  EXPECT_EQ(waiter.exitcode(), -15);
}

TEST(ext_await_end, until_gives_up_at_its_deadline_and_rejects_misuse) {
  troupe::runtime rt;
  auto door = std::make_shared<gate>();
  troupe::process p{rt, [door] { door->pass(); }};
  EXPECT_THROW(ext::await_end(p), troupe::state_error) << "never started";
  p.start();
  EXPECT_FALSE(ext::await_end_until(p, std::chrono::steady_clock::now() + 5ms));
  door->open();
  EXPECT_TRUE(
    ext::await_end_until(p, std::chrono::steady_clock::now() + deadline));
  auto self_wait = std::make_shared<std::atomic<bool>>(false);
  troupe::process q{rt, [self_wait] {
                      try {
                        ext::await_end(troupe::current_process());
                      } catch (const troupe::state_error&) {
                        *self_wait = true;
                      }
                    }};
  q.start();
  ASSERT_TRUE(q.join(deadline));
  EXPECT_TRUE(*self_wait);
}

// -- spinning -----------------------------------------------------------------

TEST(ext_spin, adapts_its_budget_to_how_long_waits_last) {
  ext::adaptive_spin<4, 64> spin;
  EXPECT_EQ(spin.budget(), 64);
  int polls = 0;
  EXPECT_FALSE(spin.spin([&] {
    ++polls;
    return false;
  }));
  EXPECT_EQ(polls, 65) << "the budget, then one last look";
  spin.parked_for(1ms); // long waits: spinning would not have helped
  EXPECT_EQ(spin.budget(), 32);
  spin.parked_for(1us); // short ones: it would have
  EXPECT_EQ(spin.budget(), 64);
  EXPECT_TRUE(spin.spin([] { return true; }));
}

} // namespace

namespace {

struct not_a_std_exception {};

class disk_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace

TEST(ext_describe, names_an_exception_by_its_dynamic_type_and_message) {
  const std::exception& e = disk_error{"disk full"};
  EXPECT_EQ(ext::describe_exception(e),
            "(anonymous namespace)::disk_error: disk full");
  EXPECT_EQ(ext::describe_exception(
              std::make_exception_ptr(std::out_of_range{"index 7"})),
            "std::out_of_range: index 7");
}

TEST(ext_describe, says_what_it_cannot_name) {
  EXPECT_EQ(ext::describe_exception(std::exception_ptr{}), "no exception");
  EXPECT_EQ(
    ext::describe_exception(std::make_exception_ptr(not_a_std_exception{})),
    "an exception of unknown type");
  EXPECT_EQ(ext::describe_current_exception(), "no exception");
  try {
    throw 42;
  } catch (...) {
    EXPECT_EQ(ext::describe_current_exception(),
              "an exception of unknown type");
  }
  try {
    throw std::invalid_argument{"bad size"};
  } catch (...) {
    EXPECT_EQ(ext::describe_current_exception(),
              "std::invalid_argument: bad size");
  }
}

TEST(ext_describe, names_types_the_same_way_from_many_threads) {
  // More distinct types than the cache keeps, from two threads at once: every
  // answer stays right while entries are replaced.
  auto names = [] {
    for (int i = 0; i < 200; ++i) {
      EXPECT_EQ(ext::type_name(typeid(int)), "int");
      EXPECT_EQ(ext::type_name(typeid(std::string)),
                "std::__cxx11::basic_string<char, "
                "std::char_traits<char>, "
                "std::allocator<char> >");
      EXPECT_EQ(ext::type_name(typeid(disk_error)),
                "(anonymous namespace)::disk_error");
      EXPECT_EQ(ext::type_name(typeid(double)), "double");
      EXPECT_EQ(ext::type_name(typeid(std::runtime_error)),
                "std::runtime_error");
      EXPECT_EQ(ext::type_name(typeid(std::logic_error)), "std::logic_error");
      EXPECT_EQ(ext::type_name(typeid(std::bad_alloc)), "std::bad_alloc");
      EXPECT_EQ(ext::type_name(typeid(std::out_of_range)), "std::out_of_range");
      EXPECT_EQ(ext::type_name(typeid(not_a_std_exception)),
                "(anonymous namespace)::not_a_std_exception");
    }
  };
  std::thread other{names};
  names();
  other.join();
}
