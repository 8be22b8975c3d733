// White-box tests of troupe's scheduler (framework/src/detail/scheduler.hpp):
// the clock that skips CAF's timer thread for actors without timeouts, and
// end-to-end checks that every kind of CAF timeout still works on it.

#include <atomic>
#include <future>
#include <string>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "detail/scheduler.hpp"
#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

/// Counts what reaches the "real" clock; never runs a timer thread.
class counting_clock : public caf::detail::thread_safe_actor_clock {
public:
  void set_ordinary_timeout(time_point, caf::abstract_actor*, caf::atom_value,
                            uint64_t) override {
    ++set;
  }
  void set_request_timeout(time_point, caf::abstract_actor*,
                           caf::message_id) override {
    ++set;
  }
  void set_multi_timeout(time_point, caf::abstract_actor*, caf::atom_value,
                         uint64_t) override {
    ++set;
  }
  void cancel_timeouts(caf::abstract_actor*) override {
    ++cancelled;
  }
  std::atomic<int> set{0};
  std::atomic<int> cancelled{0};
};

caf::abstract_actor* raw(const troupe::actor& a) {
  return caf::actor_cast<caf::abstract_actor*>(a.handle());
}

TEST(scheduler,
     the_clock_forwards_a_cancellation_only_for_actors_that_armed_a_timeout) {
  troupe::runtime rt;
  auto idle
    = [](caf::event_based_actor*) -> caf::behavior { return {[](int) {}}; };
  auto a = troupe::spawn(rt, idle);
  auto b = troupe::spawn(rt, idle);
  counting_clock base;
  troupe::detail::lazy_cancel_clock clock{base};
  // Never armed: nothing reaches the timer thread.
  clock.cancel_timeouts(raw(a));
  EXPECT_EQ(base.cancelled, 0);
  // Armed (any kind): the first cancellation goes through, once.
  clock.set_ordinary_timeout(clock.now() + 1h, raw(a), caf::atom("t"), 1);
  clock.set_request_timeout(clock.now() + 1h, raw(b), caf::make_message_id());
  EXPECT_EQ(base.set, 2);
  clock.cancel_timeouts(raw(a));
  clock.cancel_timeouts(raw(b));
  EXPECT_EQ(base.cancelled, 2);
  clock.cancel_timeouts(raw(a));
  EXPECT_EQ(base.cancelled, 2);
  // Re-armed after a cancellation: forwarded again.
  clock.set_multi_timeout(clock.now() + 1h, raw(a), caf::atom("t"), 2);
  clock.cancel_timeouts(raw(a));
  EXPECT_EQ(base.cancelled, 3);
  a.kill();
  b.kill();
}

TEST(scheduler, the_runtime_uses_it_unless_another_policy_is_asked_for) {
  {
    troupe::runtime rt;
    EXPECT_TRUE(troupe::detail::uses_troupe_scheduler(rt.system()));
  }
  std::vector<std::string> args{"prog", "--scheduler.policy=sharing"};
  std::vector<char*> argv;
  for (auto& x : args)
    argv.push_back(x.data());
  troupe::runtime rt{static_cast<int>(argv.size()), argv.data()};
  EXPECT_FALSE(troupe::detail::uses_troupe_scheduler(rt.system()));
  // And actors run there as well.
  auto a
    = troupe::spawn(rt, [](caf::event_based_actor* self) { self->quit(); });
  EXPECT_TRUE(a.join(deadline));
}

using ping_atom = caf::atom_constant<caf::atom("ping")>;

TEST(scheduler, idle_timeouts_fire_and_end_with_their_actor) {
  troupe::runtime rt;
  std::promise<void> fired;
  // Fires after 10 ms of silence, then quits.
  auto a
    = troupe::spawn(rt, [&](caf::event_based_actor* self) -> caf::behavior {
        return {[](int) {}, caf::after(10ms) >>
                              [&, self] {
                                fired.set_value();
                                self->quit();
                              }};
      });
  EXPECT_EQ(fired.get_future().wait_for(deadline), std::future_status::ready);
  EXPECT_TRUE(a.join(deadline));
  // Armed, then ended before it fired: nothing is delivered to the dead
  // actor and the runtime shuts down cleanly.
  std::vector<troupe::actor> short_lived;
  for (int i = 0; i < 100; ++i)
    short_lived.push_back(
      troupe::spawn(rt, [](caf::event_based_actor* self) -> caf::behavior {
        self->quit();
        return {[](int) {}, caf::after(std::chrono::seconds{3600}) >> [] {}};
      }));
  for (auto& x : short_lived)
    EXPECT_TRUE(x.join(deadline));
}

TEST(scheduler, request_timeouts_and_delayed_messages_still_arrive) {
  troupe::runtime rt;
  std::promise<std::string> result;
  // Never answers.
  auto mute = troupe::spawn(rt, [](caf::event_based_actor*) -> caf::behavior {
    return {
      [](ping_atom) -> caf::result<int> { return caf::delegated<int>{}; }};
  });
  auto asker = troupe::spawn(
    rt, [&, mute = mute.handle()](caf::event_based_actor* self) {
      self->request(mute, 20ms, ping_atom::value)
        .then([&](int) { result.set_value("answered"); },
              [&, self](caf::error& err) {
                result.set_value(caf::to_string(err));
                self->quit();
              });
    });
  auto fut = result.get_future();
  ASSERT_EQ(fut.wait_for(deadline), std::future_status::ready);
  EXPECT_NE(fut.get().find("request_timeout"), std::string::npos);
  EXPECT_TRUE(asker.join(deadline));
  std::promise<int> got;
  auto receiver
    = troupe::spawn(rt, [&](caf::event_based_actor* self) -> caf::behavior {
        return {[&, self](int x) {
          got.set_value(x);
          self->quit();
        }};
      });
  caf::delayed_anon_send(receiver.handle(), 10ms, 42);
  auto g = got.get_future();
  ASSERT_EQ(g.wait_for(deadline), std::future_status::ready);
  EXPECT_EQ(g.get(), 42);
  mute.kill();
}

} // namespace
