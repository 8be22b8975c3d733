#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/pec.hpp>
#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
namespace tp = troupe::this_process;

namespace {

caf::behavior adder(caf::event_based_actor* self, int base) {
  return {
    [=](int x) -> int {
      if (x < 0)
        self->quit();
      return base + x;
    },
    [=](const std::string& what) -> int {
      if (what == "throw")
        throw std::runtime_error("asked to throw");
      return 0;
    },
  };
}

TEST(actor, spawn_runs_a_behavior_that_answers_processes) {
  troupe::runtime rt;
  auto a = troupe::spawn(rt, adder, 100);
  EXPECT_TRUE(a.is_alive());
  EXPECT_EQ(a.name(), "Actor-1");
  a.send(5);
  EXPECT_EQ(tp::receive<int>(deadline), 105);
  a.send(-1);
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_FALSE(a.is_alive());
}

TEST(actor, every_function_form_caf_accepts_spawns_with_its_arguments) {
  // With and without a self pointer, returning a behavior or nothing, and
  // a move-only argument moved into the call.
  troupe::runtime rt;
  troupe::queue<int> out{rt};
  auto with_self = troupe::spawn(
    rt,
    [](caf::event_based_actor* self, std::unique_ptr<int> base,
       troupe::queue<int> q) -> caf::behavior {
      return {[self, b = *base, q](int x) mutable {
        q.put(b + x);
        self->quit();
      }};
    },
    std::make_unique<int>(40), out);
  auto without_self = troupe::spawn(
    rt,
    [](troupe::queue<int> q) -> caf::behavior {
      return {[q](int x) mutable { q.put(x * 2); }};
    },
    out);
  auto nothing = troupe::spawn(
    rt,
    [](caf::event_based_actor* self, troupe::queue<int> q) {
      q.put(7);
      self->quit();
    },
    out);
  EXPECT_EQ(out.get(deadline), 7);
  with_self.send(2);
  EXPECT_EQ(out.get(deadline), 42);
  without_self.send(21);
  EXPECT_EQ(out.get(deadline), 42);
  without_self.kill();
  ASSERT_TRUE(with_self.join(deadline));
  ASSERT_TRUE(without_self.join(deadline));
  ASSERT_TRUE(nothing.join(deadline));
  EXPECT_EQ(nothing.exitcode(), 0);
}

TEST(actor, terminate_gives_minus_15_and_kill_minus_9) {
  troupe::runtime rt;
  auto a = troupe::spawn(rt, {.name = "t"}, adder, 0);
  auto b = troupe::spawn(rt, {.name = "k"}, adder, 0);
  a.terminate();
  b.kill();
  ASSERT_TRUE(a.join(deadline));
  ASSERT_TRUE(b.join(deadline));
  EXPECT_EQ(a.exitcode(), -15);
  EXPECT_EQ(b.exitcode(), -9);
}

TEST(actor, an_exception_in_a_handler_gives_exit_code_1_with_a_reason) {
  troupe::runtime rt;
  auto a = troupe::spawn(rt, adder, 0);
  a.send(std::string{"throw"});
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(a.exitcode(), 1);
  EXPECT_FALSE(a.exit_reason().empty());
}

TEST(actor, an_actor_quitting_with_an_error_reports_it_as_caf_prints_it) {
  troupe::runtime rt;
  auto quits_with
    = [](caf::event_based_actor* self, caf::error err) -> caf::behavior {
    self->quit(std::move(err));
    return {};
  };
  // The common codes take a short path; every form must read as CAF's own
  // to_string, context and other categories included.
  std::vector<caf::error> errors{
    caf::make_error(caf::sec::runtime_error),
    caf::make_error(caf::sec::request_timeout),
    caf::make_error(caf::exit_reason::out_of_workers),
    caf::make_error(caf::exit_reason::unknown),
    caf::make_error(caf::sec::runtime_error, "boom", 3),
    caf::make_error(caf::pec::unexpected_character),
  };
  for (auto& err : errors) {
    auto a = troupe::spawn(rt, quits_with, err);
    ASSERT_TRUE(a.join(deadline));
    EXPECT_EQ(a.exitcode(), 1);
    EXPECT_EQ(a.exit_reason(), caf::to_string(err));
  }
  EXPECT_EQ(caf::to_string(errors.front()), "system_error(runtime_error)");
}
TEST(actor, an_actor_trapping_terminate_is_killed_after_its_grace) {
  troupe::runtime rt;
  auto stubborn = [](caf::event_based_actor* self) -> caf::behavior {
    self->set_exit_handler([](caf::exit_msg&) { /* ignore */ });
    return {[](int) {}};
  };
  auto a = troupe::spawn(rt, {.terminate_grace = 30ms}, stubborn);
  a.terminate();
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(a.exitcode(), -9);
}

TEST(actor, start_on_a_spawned_actor_throws_state_error) {
  troupe::runtime rt;
  auto a = troupe::spawn(rt, adder, 0);
  EXPECT_THROW(a.start(), troupe::state_error);
  a.send(-1);
  ASSERT_TRUE(a.join(deadline));
}

TEST(actor, prints_as_an_actor_with_pid_and_parent) {
  troupe::runtime rt;
  auto a = troupe::spawn(rt, {.name = "calc"}, adder, 0);
  std::ostringstream out;
  out << a;
  EXPECT_EQ(out.str(), "<actor name='calc' pid=" + std::to_string(a.pid())
                         + " parent=1 started>");
  a.send(-1);
  ASSERT_TRUE(a.join(deadline));
}

class doubler : public caf::event_based_actor {
public:
  using caf::event_based_actor::event_based_actor;

  caf::behavior make_behavior() override {
    return {[this](int x) {
      quit();
      return 2 * x;
    }};
  }
};

TEST(actor, class_based_actors_spawn_too) {
  troupe::runtime rt;
  auto a = troupe::spawn<doubler>(rt);
  a.send(21);
  EXPECT_EQ(tp::receive<int>(deadline), 42);
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(a.exitcode(), 0);
}

} // namespace
