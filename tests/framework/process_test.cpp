#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/stop.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

TEST(process, start_then_join_runs_the_target_with_its_arguments) {
  troupe::runtime rt;
  std::atomic<int> seen{0};
  troupe::process p{rt, [&seen](int a, int b) { seen = a * b; }, 6, 7};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(seen, 42);
  EXPECT_EQ(p.exitcode(), 0);
  EXPECT_EQ(p.exit_reason(), "");
}

TEST(process, move_only_arguments_are_moved_into_the_target) {
  troupe::runtime rt;
  std::atomic<int> seen{0};
  auto box = std::make_unique<int>(5);
  troupe::process p{rt, [&seen](std::unique_ptr<int> x) { seen = *x; },
                    std::move(box)};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(seen, 5);
}

TEST(process, exitcode_is_empty_before_start_and_while_running) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::receive<int>(); }};
  EXPECT_EQ(p.exitcode(), std::nullopt);
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.pid(), 0u);
  p.start();
  EXPECT_TRUE(p.is_alive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  EXPECT_NE(p.pid(), 0u);
  p.send(1);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_FALSE(p.is_alive());
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(process, an_uncaught_exception_gives_exit_code_1_and_keeps_its_message) {
  troupe::runtime rt;
  troupe::process p{rt, [] { throw std::invalid_argument("no such file"); }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_EQ(p.exit_reason(), "std::invalid_argument: no such file");
}

TEST(process, an_exception_not_derived_from_std_exception_reads_as_unknown) {
  troupe::runtime rt;
  troupe::process p{rt, [] { throw 42; }};
  testing::internal::CaptureStderr(); // the runtime reports the failure
  p.start();
  ASSERT_TRUE(p.join(deadline));
  static_cast<void>(testing::internal::GetCapturedStderr());
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_EQ(p.exit_reason(), "an exception of unknown type");
}

/// A failure of its own type, one per `N`, for the test below.
template <int N>
struct failure : std::runtime_error {
  failure() : std::runtime_error("failure " + std::to_string(N)) {}
};

template <int N>
void fail() {
  throw failure<N>{};
}

TEST(process, exit_reasons_name_each_exception_type_however_many_there_are) {
  // More types than the names troupe remembers, in an order that makes it
  // forget and relearn them: each reason still names its own type.
  troupe::runtime rt;
  std::vector<std::pair<void (*)(), std::string>> kinds{
    {fail<0>, "failure<0>"}, {fail<1>, "failure<1>"}, {fail<2>, "failure<2>"},
    {fail<3>, "failure<3>"}, {fail<4>, "failure<4>"}, {fail<5>, "failure<5>"},
    {fail<6>, "failure<6>"}, {fail<7>, "failure<7>"}, {fail<8>, "failure<8>"},
    {fail<9>, "failure<9>"},
  };
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      auto& [throw_it, type] = kinds[(i * 7 + round) % kinds.size()];
      troupe::process p{rt, throw_it};
      p.start();
      ASSERT_TRUE(p.join(deadline));
      EXPECT_EQ(p.exitcode(), 1);
      auto n = type.substr(8, 1);
      EXPECT_EQ(p.exit_reason(),
                "(anonymous namespace)::" + type + ": failure " + n);
    }
  }
}

TEST(process, this_process_exit_sets_the_exit_code) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::exit(3); }};
  troupe::process q{rt, [] { troupe::this_process::exit(0); }};
  p.start();
  q.start();
  ASSERT_TRUE(p.join(deadline));
  ASSERT_TRUE(q.join(deadline));
  EXPECT_EQ(p.exitcode(), 3);
  EXPECT_EQ(p.exit_reason(), "exit(3)");
  EXPECT_EQ(q.exitcode(), 0);
}

// -- misuse
// ---------------------------------------------------------------------

TEST(process, starting_twice_throws_state_error) {
  troupe::runtime rt;
  troupe::process p{rt, {.name = "twice"}, [] {}};
  p.start();
  try {
    p.start();
    FAIL() << "second start() did not throw";
  } catch (const troupe::state_error& e) {
    EXPECT_NE(std::string{e.what()}.find("twice"), std::string::npos);
  }
  ASSERT_TRUE(p.join(deadline));
  EXPECT_THROW(p.start(), troupe::state_error);
}

TEST(process, joining_before_start_throws_state_error) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  EXPECT_THROW(p.join(), troupe::state_error);
  EXPECT_THROW(static_cast<void>(p.join(1ms)), troupe::state_error);
}

TEST(process, terminate_and_kill_before_start_throw_state_error) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  EXPECT_THROW(p.terminate(), troupe::state_error);
  EXPECT_THROW(p.kill(), troupe::state_error);
}

TEST(process, changing_daemon_after_start_throws_state_error) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  p.daemon(true);
  EXPECT_TRUE(p.daemon());
  p.daemon(false);
  p.start();
  EXPECT_THROW(p.daemon(true), troupe::state_error);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_THROW(p.daemon(true), troupe::state_error);
}

TEST(process, a_process_joining_itself_throws_state_error) {
  troupe::runtime rt;
  auto self = std::make_shared<std::optional<troupe::process>>();
  std::atomic<bool> threw{false};
  troupe::process p{rt, [self, &threw] {
                      troupe::this_process::receive<int>();
                      try {
                        self->value().join();
                      } catch (const troupe::state_error&) {
                        threw = true;
                      }
                    }};
  *self = p;
  p.start();
  p.send(1);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(threw);
  self->reset();
}

TEST(process, the_main_process_cannot_be_terminated_or_joined_by_itself) {
  troupe::runtime rt;
  auto main = troupe::current_process();
  EXPECT_THROW(main.terminate(), troupe::state_error);
  EXPECT_THROW(main.kill(), troupe::state_error);
  EXPECT_THROW(main.join(), troupe::state_error);
  EXPECT_THROW(main.start(), troupe::state_error);
}

TEST(process, a_negative_join_timeout_throws_value_error) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  p.start();
  EXPECT_THROW(static_cast<void>(p.join(-1ms)), troupe::value_error);
  ASSERT_TRUE(p.join(deadline));
}

// -- join with timeout
// ----------------------------------------------------------

TEST(process, join_with_timeout_says_whether_the_process_ended) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::receive<int>(); }};
  p.start();
  EXPECT_FALSE(p.join(10ms));
  EXPECT_TRUE(p.is_alive());
  p.send(0);
  EXPECT_TRUE(p.join(deadline));
  EXPECT_TRUE(p.join(0ms));
}

// -- terminate and kill
// ---------------------------------------------------------

struct set_on_destroy {
  std::atomic<bool>* flag;
  ~set_on_destroy() {
    *flag = true;
  }
};

TEST(process, terminate_during_a_receive_throws_terminated_and_unwinds) {
  troupe::runtime rt;
  std::atomic<bool> unwound{false};
  std::atomic<bool> saw_terminated{false};
  std::atomic<bool> receiving{false};
  troupe::process p{rt, [&] {
                      set_on_destroy guard{&unwound};
                      try {
                        receiving = true;
                        troupe::this_process::receive<int>();
                      } catch (const troupe::terminated&) {
                        saw_terminated = true;
                        throw;
                      }
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return receiving.load(); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(unwound);
  EXPECT_TRUE(saw_terminated);
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_EQ(p.exit_reason(), "terminated");
}

TEST(process, terminate_wakes_a_sleeping_process) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::sleep_for(60s); }};
  p.start();
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(process, checkpoint_throws_after_terminate_in_a_busy_loop) {
  troupe::runtime rt;
  std::atomic<long> spins{0};
  troupe::process p{rt, [&] {
                      for (;;) {
                        troupe::this_process::checkpoint();
                        ++spins;
                      }
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return spins > 0; }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(process, a_process_ignoring_terminate_is_declared_killed_after_its_grace) {
  troupe::runtime rt;
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  std::atomic<bool> thread_left{false};
  troupe::process p{rt, {.terminate_grace = 50ms}, [&] {
                      running = true;
                      while (
                        !release) // no checkpoint: cannot be stopped in-process
                        std::this_thread::yield();
                      thread_left = true;
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return running.load(); }));
  auto t0 = std::chrono::steady_clock::now();
  p.terminate();
  EXPECT_TRUE(p.is_alive()); // like Python: still alive right after
  ASSERT_TRUE(p.join(deadline));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_EQ(p.exit_reason(), "killed after a terminate grace of 50 ms");
  EXPECT_FALSE(thread_left);
  release = true; // let the thread go so the runtime can shut down cleanly
  ASSERT_TRUE(troupe::test::eventually([&] { return thread_left.load(); }));
}

TEST(process, terminate_right_after_start_is_never_lost) {
  // Whether terminate() arrives before the thread enters the target (which
  // then never runs) or after (the checkpoint throws), the process ends
  // with -15.
  troupe::runtime rt;
  std::vector<troupe::process> ps;
  for (int i = 0; i < 50; ++i) {
    ps.emplace_back(rt, [] {
      for (;;)
        troupe::this_process::checkpoint();
    });
    ps.back().start();
    ps.back().terminate();
  }
  for (auto& p : ps) {
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.exitcode(), -15);
  }
}

TEST(process, a_target_may_take_its_arguments_by_reference) {
  troupe::runtime rt;
  std::vector<int> mine{1, 2, 3};
  std::atomic<int> sum{0};
  troupe::process p{rt,
                    [&sum](std::vector<int>& v) {
                      v.push_back(4); // the process's own copy
                      for (int x : v)
                        sum += x;
                    },
                    mine};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(sum, 10);
  EXPECT_EQ(mine.size(), 3u);
}

TEST(process, a_stop_callback_wakes_a_blocking_wait_on_terminate) {
  // How channels and locks make their blocking calls interruptible.
  troupe::runtime rt;
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<bool> waiting{false};
  std::atomic<bool> callback_ran{false};
  troupe::process p{rt, [&] {
                      troupe::ext::stop_callback wake{[&] {
                        callback_ran = true;
                        std::lock_guard guard{mtx};
                        cv.notify_all();
                      }};
                      std::unique_lock guard{mtx};
                      waiting = true;
                      cv.wait(guard,
                              [] { return troupe::ext::stop_requested(); });
                      guard.unlock();
                      troupe::this_process::checkpoint(); // throws terminated
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return waiting.load(); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(callback_ran);
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(process, a_stop_callback_made_after_the_stop_runs_at_once) {
  troupe::runtime rt;
  std::atomic<bool> entered{false};
  std::atomic<bool> ran{false};
  std::atomic<bool> go{false};
  troupe::process p{rt, [&] {
                      entered = true;
                      while (!go)
                        std::this_thread::yield();
                      troupe::ext::stop_callback cb{[&] { ran = true; }};
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return entered.load(); }));
  p.terminate();
  go = true;
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(ran);
  EXPECT_EQ(p.exitcode(), -15); // returned after the stop request
}

TEST(process, kill_declares_the_process_killed_at_once) {
  troupe::runtime rt;
  std::atomic<bool> release{false};
  troupe::process p{rt, [&] {
                      while (!release)
                        std::this_thread::yield();
                    }};
  p.start();
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_EQ(p.exit_reason(), "killed");
  release = true;
}

TEST(process, terminate_and_kill_of_an_ended_process_do_nothing) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  p.terminate();
  p.kill();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(process, what_a_process_holds_is_released_however_it_ends) {
  // The ownership hook every held resource uses: it runs exactly once per
  // process, on return, exception, terminate, kill and grace expiry.
  troupe::runtime rt;
  std::atomic<bool> release{false};
  std::atomic<int> blocking{0};
  auto block = [&] {
    ++blocking;
    while (!release)
      std::this_thread::yield();
  };
  std::vector<troupe::process> ps{
    troupe::process{rt, [] {}},
    troupe::process{rt, [] { throw std::runtime_error("x"); }},
    troupe::process{rt, [] { troupe::this_process::receive<int>(); }},
    troupe::process{rt, block},
    troupe::process{rt, {.terminate_grace = 20ms}, block},
  };
  std::vector<std::shared_ptr<std::atomic<int>>> released;
  std::vector<std::shared_ptr<std::atomic<int>>> codes;
  for (auto& p : ps) {
    auto count = std::make_shared<std::atomic<int>>(0);
    auto code = std::make_shared<std::atomic<int>>(99);
    troupe::ext::on_exit(p, [count, code](const troupe::ext::exit_info& x) {
      ++*count;
      *code = x.exitcode;
    });
    released.push_back(count);
    codes.push_back(code);
    p.start();
  }
  ASSERT_TRUE(troupe::test::eventually([&] { return blocking == 2; }));
  ps[2].terminate();
  ps[3].kill();
  ps[4].terminate();
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  std::vector<int> expected{0, 1, -15, -9, -9};
  for (size_t i = 0; i < ps.size(); ++i) {
    EXPECT_EQ(*released[i], 1) << "process " << i;
    EXPECT_EQ(*codes[i], expected[i]) << "process " << i;
  }
  // A hook added after the end runs at once.
  std::atomic<int> late{0};
  troupe::ext::on_exit(ps[0], [&](const troupe::ext::exit_info&) { ++late; });
  EXPECT_EQ(late, 1);
  release = true;
}

// -- identity
// -------------------------------------------------------------------

TEST(process, the_main_process_has_pid_1_and_no_parent) {
  troupe::runtime rt;
  auto main = troupe::current_process();
  EXPECT_EQ(main.pid(), 1u);
  EXPECT_EQ(main.name(), "MainProcess");
  EXPECT_TRUE(main.is_alive());
  EXPECT_FALSE(troupe::parent_process().has_value());
}

TEST(process, current_and_parent_process_inside_a_child) {
  troupe::runtime rt;
  std::string child_name;
  troupe::pid_type child_pid = 0;
  troupe::pid_type parent_pid = 0;
  troupe::pid_type grandchild_parent = 0;
  troupe::process p{rt, {.name = "child"}, [&] {
                      auto me = troupe::current_process();
                      child_name = me.name();
                      child_pid = me.pid();
                      parent_pid = troupe::parent_process()->pid();
                      troupe::process g{rt, [&] {
                                          grandchild_parent
                                            = troupe::parent_process()->pid();
                                        }};
                      g.start();
                      g.join();
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(child_name, "child");
  EXPECT_EQ(child_pid, p.pid());
  EXPECT_EQ(parent_pid, 1u);
  EXPECT_EQ(grandchild_parent, p.pid());
}

TEST(process, a_process_created_inside_a_daemon_inherits_its_daemon_flag) {
  troupe::runtime rt;
  std::optional<bool> inherited;
  std::optional<bool> overridden;
  std::optional<bool> actor_inherited;
  std::optional<bool> grandchild;
  troupe::process p{rt, {.daemon = true}, [&] {
                      troupe::process c{rt, [] {}};
                      inherited = c.daemon();
                      troupe::process d{rt, {.daemon = false}, [&] {
                                          troupe::process g{rt, [] {}};
                                          grandchild = g.daemon();
                                        }};
                      overridden = d.daemon();
                      d.start();
                      d.join();
                      auto a = troupe::spawn(
                        rt, [](caf::event_based_actor* self) { self->quit(); });
                      actor_inherited = a.daemon();
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << p.exit_reason();
  EXPECT_EQ(inherited, true) << "Python: daemon=None takes the creator's flag";
  EXPECT_EQ(overridden, false) << "an explicit flag wins";
  EXPECT_EQ(grandchild, false) << "inherited from a non-daemon creator";
  EXPECT_EQ(actor_inherited, true);
  troupe::process top{rt, [] {}};
  EXPECT_FALSE(top.daemon()) << "the main process is not a daemon";
}

TEST(process, default_names_count_up_like_python) {
  troupe::runtime rt;
  troupe::process a{rt, [] {}};
  troupe::process b{rt, [] {}};
  EXPECT_EQ(a.name(), "Process-1");
  EXPECT_EQ(b.name(), "Process-2");
  b.name("renamed");
  EXPECT_EQ(b.name(), "renamed");
}

TEST(process, pids_are_unique_and_stable) {
  troupe::runtime rt;
  std::set<troupe::pid_type> pids;
  std::vector<troupe::process> ps;
  for (int i = 0; i < 50; ++i) {
    ps.emplace_back(rt, [] {});
    ps.back().start();
  }
  for (auto& p : ps) {
    auto pid = p.pid();
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.pid(), pid);
    pids.insert(pid);
  }
  EXPECT_EQ(pids.size(), ps.size());
  EXPECT_EQ(pids.count(1), 0u);
}

TEST(process, prints_like_pythons_repr) {
  troupe::runtime rt;
  troupe::process p{rt, {.name = "A", .daemon = true}, [] {
                      troupe::this_process::receive<int>();
                    }};
  auto repr = [&] {
    std::ostringstream out;
    out << p;
    return out.str();
  };
  EXPECT_EQ(repr(), "<process name='A' parent=1 initial daemon>");
  p.start();
  EXPECT_EQ(repr(), "<process name='A' pid=" + std::to_string(p.pid())
                      + " parent=1 started daemon>");
  p.send(1);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(repr(), "<process name='A' pid=" + std::to_string(p.pid())
                      + " parent=1 stopped exitcode=0 daemon>");
}

TEST(process, active_children_lists_running_children_of_the_caller) {
  troupe::runtime rt;
  troupe::process a{rt, [] { troupe::this_process::receive<int>(); }};
  troupe::process b{rt, [] {}};
  a.start();
  b.start();
  ASSERT_TRUE(b.join(deadline));
  auto kids = troupe::active_children();
  ASSERT_EQ(kids.size(), 1u);
  EXPECT_EQ(kids[0], a);
  a.send(1);
  ASSERT_TRUE(a.join(deadline));
  EXPECT_TRUE(troupe::active_children().empty());
}

// -- subclasses
// -----------------------------------------------------------------

class counter_process : public troupe::process_base<counter_process> {
public:
  counter_process(troupe::runtime& rt, int n, std::atomic<int>* out)
    : process_base(rt, {.name = "counter"}), n_(n), out_(out) {}

  void run() override {
    for (int i = 0; i < n_; ++i)
      ++runs_;
    *out_ = runs_;
    out_->fetch_add(troupe::current_process().name() == "counter" ? 1000 : 0);
  }

  [[nodiscard]] int runs() const {
    return runs_;
  }

private:
  int n_;
  std::atomic<int>* out_;
  int runs_ = 0;
};

TEST(process, a_subclass_runs_its_run_on_its_own_copy) {
  troupe::runtime rt;
  std::atomic<int> out{0};
  counter_process p{rt, 3, &out};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(out, 1003);
  EXPECT_EQ(p.runs(), 0); // as in Python: the child changed its own copy
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(process, a_subclass_object_may_be_destroyed_while_its_process_runs) {
  troupe::runtime rt;
  std::atomic<int> out{0};
  troupe::process handle{rt, [] {}};
  {
    counter_process p{rt, 2, &out};
    p.start();
    handle = p;
  }
  ASSERT_TRUE(handle.join(deadline));
  EXPECT_EQ(out, 1002);
}

TEST(process, starting_a_plain_copy_of_a_subclass_object_throws) {
  troupe::runtime rt;
  std::atomic<int> out{0};
  counter_process p{rt, 1, &out};
  troupe::process copy = p;
  EXPECT_THROW(copy.start(), troupe::state_error);
  p.start();
  ASSERT_TRUE(copy.join(deadline)); // same process
}

} // namespace
