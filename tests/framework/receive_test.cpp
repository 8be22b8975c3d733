#include <atomic>
#include <string>
#include <tuple>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
namespace tp = troupe::this_process;

namespace {

TEST(receive, a_typed_receive_returns_the_next_matching_message) {
  troupe::runtime rt;
  troupe::process p{rt, [] {
                      auto x = tp::receive<int>();
                      auto [s, y] = tp::receive<std::string, double>();
                      tp::reply(x, s, y);
                    }};
  p.start();
  p.send(std::string{"pi"}, 3.14);
  p.send(7);
  auto [x, s, y] = tp::receive<int, std::string, double>(deadline);
  EXPECT_EQ(x, 7);
  EXPECT_EQ(s, "pi");
  EXPECT_DOUBLE_EQ(y, 3.14);
  ASSERT_TRUE(p.join(deadline));
}

TEST(receive, messages_no_handler_matches_stay_queued_for_later) {
  troupe::runtime rt;
  troupe::process p{rt, [] {
                      auto second = tp::receive<std::string>(); // skips the int
                      auto first = tp::receive<int>();
                      tp::reply(first, second);
                    }};
  p.start();
  p.send(1);
  p.send(std::string{"two"});
  auto [first, second] = tp::receive<int, std::string>(deadline);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, "two");
  ASSERT_TRUE(p.join(deadline));
}

TEST(receive, several_handlers_pick_the_one_that_matches) {
  troupe::runtime rt;
  troupe::process p{
    rt, [] {
      std::string log;
      for (int i = 0; i < 3; ++i)
        tp::receive([&](int x) { log += "int:" + std::to_string(x) + ' '; },
                    [&](const std::string& s) { log += "str:" + s + ' '; });
      tp::reply(log);
    }};
  p.start();
  p.send(1);
  p.send(std::string{"a"});
  p.send(2);
  EXPECT_EQ(tp::receive<std::string>(deadline), "int:1 str:a int:2 ");
  ASSERT_TRUE(p.join(deadline));
}

TEST(receive, a_timeout_throws_timeout_error_and_try_receive_returns_empty) {
  troupe::runtime rt;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(static_cast<void>(tp::receive<int>(30ms)),
               troupe::timeout_error);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_EQ(tp::try_receive<int>(5ms), std::nullopt);
  EXPECT_FALSE(tp::try_receive(5ms, [](int) {}));
  EXPECT_THROW(tp::receive(5ms, [](int) {}), troupe::timeout_error);
  EXPECT_THROW(static_cast<void>(tp::receive<int>(-1ms)), troupe::value_error);
}

TEST(receive, a_message_arriving_within_the_timeout_is_returned) {
  troupe::runtime rt;
  troupe::process p{rt, [] {
                      tp::sleep_for(5ms);
                      troupe::parent_process()->send(11);
                    }};
  p.start();
  EXPECT_EQ(tp::try_receive<int>(deadline), 11);
  ASSERT_TRUE(p.join(deadline));
}

TEST(receive, reply_answers_the_sender_of_the_last_message) {
  troupe::runtime rt;
  troupe::process echo{rt, [] {
                         for (;;) {
                           auto x = tp::receive<int>();
                           if (x < 0)
                             return;
                           tp::reply(x + 1);
                         }
                       }};
  echo.start();
  troupe::process client{rt, [echo] {
                           int total = 0;
                           for (int i = 0; i < 100; ++i) {
                             echo.send(i);
                             total += tp::receive<int>();
                           }
                           troupe::parent_process()->send(total);
                         }};
  client.start();
  EXPECT_EQ(tp::receive<int>(deadline), 5050);
  echo.send(-1);
  ASSERT_TRUE(echo.join(deadline));
  ASSERT_TRUE(client.join(deadline));
}

TEST(receive, sender_is_the_sending_process) {
  troupe::runtime rt;
  troupe::process p{rt, [] {
                      tp::receive<int>();
                      tp::reply(tp::sender()
                                == troupe::parent_process()->handle());
                    }};
  p.start();
  p.send(1);
  EXPECT_TRUE(tp::receive<bool>(deadline));
  ASSERT_TRUE(p.join(deadline));
}

TEST(receive, sending_to_an_ended_or_unstarted_process_drops_the_message) {
  troupe::runtime rt;
  troupe::process p{rt, [] {}};
  p.send(1); // not started: dropped
  p.start();
  ASSERT_TRUE(p.join(deadline));
  p.send(2); // ended: dropped
  EXPECT_FALSE(p.handle());
}

TEST(receive, a_thread_troupe_does_not_run_has_no_mailbox) {
  troupe::runtime rt;
  std::atomic<bool> threw{false};
  std::thread t{[&] {
    try {
      static_cast<void>(tp::try_receive<int>(1ms));
    } catch (const troupe::state_error&) {
      threw = true;
    }
  }};
  t.join();
  EXPECT_TRUE(threw);
}

TEST(receive, an_abnormal_exit_signal_from_a_linked_actor_stops_the_process) {
  troupe::runtime rt;
  std::atomic<bool> receiving{false};
  troupe::process p{rt, [&] {
                      receiving = true;
                      tp::receive<int>();
                    }};
  p.start();
  ASSERT_TRUE(troupe::test::eventually([&] { return receiving.load(); }));
  caf::anon_send_exit(p.handle(), caf::exit_reason::user_shutdown);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

} // namespace
