#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

TEST(pipe, a_duplex_pipe_carries_items_both_ways_between_processes) {
  troupe::runtime rt;
  auto [a, b] = troupe::pipe<std::vector<std::string>>{rt};
  troupe::process p{
    rt,
    [](troupe::connection<std::vector<std::string>, std::vector<std::string>>
         c) {
      auto got = c.recv();
      got.push_back("back");
      c.send(got);
    },
    a};
  p.start();
  b.send({"there"});
  EXPECT_EQ(b.recv(deadline), (std::vector<std::string>{"there", "back"}));
  ASSERT_TRUE(p.join(deadline));
}

TEST(pipe, the_two_directions_may_carry_different_types) {
  troupe::runtime rt;
  auto [ask, answer] = troupe::pipe<std::string, int>{rt};
  answer.send(42);
  ask.send("hello");
  EXPECT_EQ(ask.recv(), 42);
  EXPECT_EQ(answer.recv(), "hello");
}

TEST(pipe, a_one_way_pipe_carries_items_from_writer_to_reader) {
  troupe::runtime rt;
  auto [reader, writer] = troupe::one_way_pipe<std::unique_ptr<int>>{rt};
  writer.send(std::make_unique<int>(5));
  EXPECT_TRUE(reader.poll());
  EXPECT_EQ(*reader.recv(), 5);
  EXPECT_FALSE(reader.poll());
}

TEST(pipe, recv_after_the_peer_closed_drains_then_throws_closed) {
  troupe::runtime rt;
  auto [a, b] = troupe::pipe<int>{rt};
  a.send(1);
  a.send(2);
  a.close();
  EXPECT_EQ(b.recv(), 1);
  EXPECT_TRUE(b.poll()); // end of file counts as readable, as in Python
  EXPECT_EQ(b.recv(), 2);
  EXPECT_THROW(static_cast<void>(b.recv()), troupe::closed);
  EXPECT_EQ(b.try_recv(), std::nullopt);
  EXPECT_THROW(b.send(3), troupe::closed) << "send to a closed peer";
  EXPECT_THROW(a.send(3), troupe::closed) << "send on a closed end";
}

TEST(pipe, recv_after_the_process_owning_the_peer_end_ended_reads_eof) {
  troupe::runtime rt;
  auto [parent_end, child_end] = troupe::pipe<std::string>{rt};
  troupe::process p{rt,
                    [](troupe::connection<std::string, std::string> c) {
                      c.send("last words");
                      throw std::runtime_error{"child crashed"};
                    },
                    child_end};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  // The parent still holds a handle of the child's end, but the child
  // owned it: its end closed with it.
  EXPECT_EQ(parent_end.recv(deadline), "last words");
  EXPECT_THROW(static_cast<void>(parent_end.recv(deadline)), troupe::closed);
}

/// An item whose copy throws while `copies_throw` is set (its move never
/// does), standing for a payload that cannot be sent.
struct fragile {
  static inline std::atomic<bool> copies_throw{false};
  int value = 0;

  fragile() = default;
  explicit fragile(int v) : value(v) {}
  fragile(const fragile& other) : value(other.value) {
    if (copies_throw)
      throw std::runtime_error{"fragile: cannot copy"};
  }
  fragile(fragile&& other) noexcept = default;
  fragile& operator=(const fragile&) = default;
  fragile& operator=(fragile&&) noexcept = default;
};

TEST(pipe, an_end_whose_owners_first_send_threw_closes_when_that_process_ends) {
  troupe::runtime rt;
  auto [parent_end, child_end] = troupe::pipe<fragile>{rt};
  fragile::copies_throw = true;
  troupe::process p{rt,
                    [](troupe::connection<fragile, fragile> c) {
                      const fragile x{1};
                      EXPECT_THROW(c.send(x), std::runtime_error);
                    },
                    child_end};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  fragile::copies_throw = false;
  EXPECT_EQ(p.exitcode(), 0);
  // The parent still holds a handle of the child's end, but the child used
  // (hence owned) it: its end closed with it, although the send threw
  // before anything was stored.
  EXPECT_THROW(static_cast<void>(parent_end.recv(deadline)), troupe::closed);
}

TEST(pipe, a_blocked_recv_wakes_with_eof_when_the_peer_process_is_killed) {
  troupe::runtime rt;
  auto [mine, theirs] = troupe::pipe<int>{rt};
  troupe::event ready{rt};
  troupe::process p{rt,
                    [](troupe::connection<int, int> c, troupe::event ready_in) {
                      c.send(0); // uses, hence owns, its end
                      ready_in.set();
                      troupe::this_process::sleep_for(1h);
                    },
                    theirs, ready};
  p.start();
  ASSERT_TRUE(ready.wait(deadline));
  EXPECT_EQ(mine.recv(deadline), 0);
  std::thread killer{[&] { p.kill(); }};
  EXPECT_THROW(static_cast<void>(mine.recv(deadline)), troupe::closed);
  killer.join();
  ASSERT_TRUE(p.join(deadline));
}

TEST(pipe, dropping_the_last_handle_of_an_end_closes_it) {
  troupe::runtime rt;
  auto [reader, writer] = troupe::one_way_pipe<int>{rt};
  {
    auto gone = std::move(writer);
    gone.send(1);
  }
  EXPECT_EQ(reader.recv(), 1);
  EXPECT_THROW(static_cast<void>(reader.recv()), troupe::closed);
}

TEST(pipe, recv_with_a_timeout_throws_timeout_error) {
  troupe::runtime rt;
  auto [a, b] = troupe::pipe<int>{rt};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_THROW(static_cast<void>(a.recv(30ms)), troupe::timeout_error);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_FALSE(a.poll(5ms));
  EXPECT_EQ(a.try_recv(5ms), std::nullopt);
  EXPECT_THROW(static_cast<void>(a.recv(-1ms)), troupe::value_error);
  b.send(1);
  EXPECT_TRUE(a.poll(deadline));
}

TEST(pipe, a_process_blocked_in_recv_is_terminated_cleanly) {
  troupe::runtime rt;
  auto [a, b] = troupe::pipe<int>{rt};
  troupe::event waiting{rt};
  troupe::process p{
    rt,
    [](troupe::connection<int, int> c, troupe::event waiting_in) {
      waiting_in.set();
      static_cast<void>(c.recv());
    },
    b, waiting};
  p.start();
  ASSERT_TRUE(waiting.wait(deadline));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(pipe, ping_pong_between_two_processes_keeps_order) {
  troupe::runtime rt;
  auto [a, b] = troupe::pipe<int>{rt};
  troupe::process echo{rt,
                       [](troupe::connection<int, int> c) {
                         try {
                           for (;;)
                             c.send(c.recv() + 1);
                         } catch (const troupe::closed&) {
                         }
                       },
                       b};
  echo.start();
  for (int i = 0; i < 2000; ++i) {
    a.send(i);
    ASSERT_EQ(a.recv(deadline), i + 1);
  }
  a.close();
  ASSERT_TRUE(echo.join(deadline));
  EXPECT_EQ(echo.exitcode(), 0);
}

} // namespace
