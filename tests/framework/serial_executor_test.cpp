// ext::serial_executor: commands from any thread, one at a time, in order;
// a caller runs its own command when the executor is idle.

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/ext/serial_executor.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
namespace ext = troupe::ext;

TEST(serial_executor, runs_queued_commands_oldest_first) {
  ext::serial_executor ex;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(ex.post([&order, i] { order.push_back(i); }));
  EXPECT_TRUE(ex.pending());
  while (ex.run_next()) {
  }
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_FALSE(ex.pending());
  EXPECT_FALSE(ex.run_next());
}

TEST(serial_executor, then_runs_after_the_executor_is_free_again) {
  ext::serial_executor ex;
  bool ran_here_in_then = false;
  ASSERT_TRUE(ex.post(ext::serial_executor::command{
    [] {}, {}, [&] { ran_here_in_then = ex.try_run_here([] {}); }}));
  EXPECT_TRUE(ex.run_next());
  EXPECT_TRUE(ran_here_in_then);
}

TEST(serial_executor, runs_here_only_when_idle) {
  ext::serial_executor ex;
  int ran = 0;
  EXPECT_TRUE(ex.try_run_here([&] { ++ran; }));
  EXPECT_EQ(ran, 1);
  // A queued command comes first: running here would overtake it.
  ASSERT_TRUE(ex.post([] {}));
  EXPECT_FALSE(ex.try_run_here([&] { ++ran; }));
  EXPECT_EQ(ran, 1);
  EXPECT_TRUE(ex.run_next());
  // Held (a drainer's start-up): nothing runs here.
  {
    auto held = ex.hold();
    std::thread other{[&] { EXPECT_FALSE(ex.try_run_here([&] { ++ran; })); }};
    other.join();
  }
  EXPECT_EQ(ran, 1);
  // A function that declines makes the call decline.
  EXPECT_FALSE(ex.try_run_here([] { return false; }));
  EXPECT_TRUE(ex.try_run_here([] { return true; }));
}

TEST(serial_executor, close_refuses_commands_and_cancels_the_queued_ones) {
  ext::serial_executor ex;
  int cancelled = 0;
  int ran = 0;
  ASSERT_TRUE(ex.post({[&] { ++ran; }, [&] { ++cancelled; }}));
  ASSERT_TRUE(ex.post({[&] { ++ran; }, [&] { ++cancelled; }}));
  ex.close();
  EXPECT_EQ(cancelled, 2);
  EXPECT_EQ(ran, 0);
  EXPECT_FALSE(ex.post({[&] { ++ran; }, [&] { ++cancelled; }}));
  EXPECT_EQ(cancelled, 2); // a refused command is dropped, not cancelled
  EXPECT_FALSE(ex.idle());
  EXPECT_FALSE(ex.try_run_here([&] { ++ran; }));
  ex.close(); // idempotent
  EXPECT_EQ(ran, 0);
}

TEST(serial_executor, refuse_keeps_the_queued_commands_for_the_drainer) {
  ext::serial_executor ex;
  int ran = 0;
  ASSERT_TRUE(ex.post([&] { ++ran; }));
  ex.refuse();
  EXPECT_FALSE(ex.post([&] { ++ran; }));
  while (ex.run_next()) {
  }
  EXPECT_EQ(ran, 1);
}

TEST(serial_executor, what_a_command_throws_reaches_the_drainer_and_frees_it) {
  ext::serial_executor ex;
  bool then_ran = false;
  ASSERT_TRUE(ex.post(ext::serial_executor::command{
    [] { throw std::runtime_error("boom"); }, {}, [&] { then_ran = true; }}));
  EXPECT_THROW(ex.run_next(), std::runtime_error);
  EXPECT_FALSE(then_ran);
  EXPECT_TRUE(ex.try_run_here([] {}));
}

TEST(serial_executor, await_returns_for_a_command_and_for_a_stop) {
  ext::serial_executor ex;
  std::atomic<bool> stop{false};
  std::thread poster{[&] { ex.post([] {}); }};
  EXPECT_TRUE(ex.await([&] { return stop.load(); }));
  poster.join();
  EXPECT_TRUE(ex.run_next());
  std::thread stopper{[&] {
    stop = true;
    ex.wake();
  }};
  EXPECT_FALSE(ex.await([&] { return stop.load(); }));
  stopper.join();
}

// Many threads post and run here while a drainer runs the queue: no two
// commands overlap, and each thread's commands run in the order it made
// them.
TEST(serial_executor, commands_never_overlap_and_keep_each_posters_order) {
  ext::serial_executor ex;
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::atomic<int> inside{0};
  std::atomic<bool> overlap{false};
  std::vector<int> last(threads, -1); // written only by running commands
  std::atomic<bool> out_of_order{false};
  std::atomic<int> done{0};
  auto body = [&](int t, int i) {
    if (inside.fetch_add(1) != 0)
      overlap = true;
    if (last[t] >= i)
      out_of_order = true;
    last[t] = i;
    inside.fetch_sub(1);
    done.fetch_add(1);
  };
  std::atomic<bool> stop{false};
  std::thread drainer{[&] {
    while (ex.await([&] { return stop.load(); }))
      while (ex.run_next()) {
      }
    while (ex.run_next()) {
    }
  }};
  std::vector<std::thread> posters;
  for (int t = 0; t < threads; ++t)
    posters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        // Runs here when idle; queues otherwise (so a later command of this
        // thread could overtake a queued one only if try_run_here ignored
        // the queue).
        if (!ex.try_run_here([&] { body(t, i); }))
          ex.post([&body, t, i] { body(t, i); });
      }
    });
  for (auto& p : posters)
    p.join();
  ASSERT_TRUE(troupe::test::eventually(
    [&] { return done.load() == threads * per_thread; }));
  stop = true;
  ex.wake();
  drainer.join();
  EXPECT_FALSE(overlap);
  EXPECT_FALSE(out_of_order);
}
