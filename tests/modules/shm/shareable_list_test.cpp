// troupe::shareable_list: Python's ShareableList in a shared_memory block.

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <ranges>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/shareable_list.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::entry;
using troupe::shareable_list;
using troupe::shared_memory;
using troupe::test::deadline;

namespace shm_test {

/// Seed 004's do_work: fills items [start, stop) with their squares.
void fill_squares(shareable_list sl, int start, int stop) {
  for (int i = start; i < stop; ++i)
    sl.set(static_cast<std::size_t>(i), std::int64_t{i} * i);
}

} // namespace shm_test

TROUPE_ENTRY(shm_test::fill_squares);

namespace {

using item = shareable_list::item;

} // namespace

// Python's documentation session, step by step (seed 004 §5(3)).
TEST(shareable_list, the_python_documentation_session) {
  shareable_list a{"howdy", troupe::bytes{"HoWdY"}, -273.154,
                   100,     shareable_list::none,   true,
                   42};
  ASSERT_EQ(a.size(), 7U);
  std::vector<std::string_view> types;
  for (const auto& x : a.to_vector())
    types.push_back(shareable_list::type_name(x));
  EXPECT_EQ(types,
            (std::vector<std::string_view>{"str", "bytes", "float", "int",
                                           "NoneType", "bool", "int"}));
  EXPECT_EQ(a.get<double>(2), -273.154);
  a.set(2, -78.5);
  EXPECT_EQ(a.get<double>(2), -78.5);
  a.set(2, "dry ice"); // changing types is supported
  EXPECT_EQ(a.get<std::string>(2), "dry ice");
  try {
    a.set(2, "larger than previously allocated storage space");
    ADD_FAILURE() << "a longer string fit";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("exceeds available storage"),
              std::string::npos)
      << e.what();
  }
  EXPECT_EQ(a.get<std::string>(2), "dry ice"); // unchanged
  EXPECT_EQ(a.index(42), 6U);
  EXPECT_EQ(a.count(troupe::bytes{"howdy"}), 0U);
  EXPECT_EQ(a.count(troupe::bytes{"HoWdY"}), 1U);
  EXPECT_EQ(a[4], item{shareable_list::none});
  EXPECT_EQ(a.get<bool>(5), true);
}

TEST(shareable_list, a_second_holder_attaches_to_the_block) {
  shareable_list b{std::views::iota(0, 5)};
  shareable_list c{b.shm()};
  ASSERT_EQ(c.size(), 5U);
  EXPECT_EQ(c.get<int>(4), 4);
  c.set(4, -999);
  EXPECT_EQ(b.get<int>(4), -999);
}

TEST(shareable_list, misuse_is_reported) {
  shareable_list a{1, 2.5, "ab"};
  EXPECT_THROW((void)a.get(3), std::out_of_range);
  EXPECT_THROW(a.set(3, 1), std::out_of_range);
  try {
    (void)a.get<std::string>(0);
    ADD_FAILURE();
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("is a int, not a str"),
              std::string::npos)
      << e.what();
  }
  EXPECT_THROW((void)a.index(7), troupe::value_error);
  EXPECT_EQ(a.count(7), 0U);
  // A string's slot is its first length rounded up past the next multiple
  // of 8 (as Python's): "ab" leaves room for 8 bytes, not 9.
  a.set(2, "12345678");
  EXPECT_THROW(a.set(2, "123456789"), troupe::value_error);
  shareable_list eight{"12345678"};
  eight.set(0, std::string(16, 'x'));
  EXPECT_THROW(eight.set(0, std::string(17, 'x')), troupe::value_error);
  // A scalar's slot holds a short string too.
  a.set(0, "eight b.");
  EXPECT_EQ(a.get<std::string>(0), "eight b.");
  EXPECT_THROW(shareable_list{shared_memory{64}}, troupe::value_error);
}

TEST(shareable_list, two_os_processes_each_fill_half) {
  troupe::runtime rt;
  shareable_list sl{std::views::iota(0, 2000)};
  troupe::os_process p1{rt, entry<shm_test::fill_squares>, sl, 0, 1000};
  troupe::os_process p2{rt, entry<shm_test::fill_squares>, sl, 1000, 2000};
  p1.start();
  p2.start();
  ASSERT_TRUE(p1.join(deadline));
  ASSERT_TRUE(p2.join(deadline));
  ASSERT_EQ(p1.exitcode(), 0) << p1.exit_reason();
  ASSERT_EQ(p2.exitcode(), 0) << p2.exit_reason();
  std::int64_t total = 0;
  for (std::size_t i = 0; i < sl.size(); ++i)
    total += sl.get<std::int64_t>(i);
  EXPECT_EQ(total, std::int64_t{1999} * 2000 * 3999 / 6);
}

// A holder killed inside a slot's lock (here: its pid left in the lock
// word) does not block the others once its process is gone.
TEST(shareable_list, a_lock_left_by_a_dead_holder_is_taken_over) {
  shareable_list sl{1, 2};
  pid_t dead = ::fork();
  if (dead == 0)
    ::_exit(0);
  ASSERT_GT(dead, 0);
  ASSERT_EQ(::waitpid(dead, nullptr, 0), dead);
  // Slot 1's lock word: after the 16-byte header and slot 0's 32 bytes.
  auto word = static_cast<std::uint32_t>(dead);
  std::memcpy(sl.shm().bytes().data() + 16 + 32, &word, sizeof(word));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sl.get<int>(1), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  sl.set(1, 3);
  EXPECT_EQ(sl.get<int>(1), 3);
  // A word that is no pid at all (a holder scribbled on it) is no holder.
  word = 0xfffffff0U;
  std::memcpy(sl.shm().bytes().data() + 16 + 32, &word, sizeof(word));
  EXPECT_EQ(sl.get<int>(1), 3);
}

// Whatever a block holds, attaching and reading never crash: either a
// value_error, or a list whose reads give items or value_error.
TEST(shareable_list, garbage_blocks_are_refused_or_read_safely) {
  std::mt19937_64 rng{20261207};
  int refused = 0;
  int read = 0;
  for (int round = 0; round < 3000; ++round) {
    shared_memory block;
    if (round % 3 == 0) { // random bytes
      block = shared_memory{16 + rng() % 512};
      for (auto& x : block.bytes())
        x = static_cast<std::byte>(rng());
    } else { // a real list, then bytes flipped (lock words left alone, so
             // that reads do not wait for a random pid)
      shareable_list made{1,    "some text",          troupe::bytes{"raw"}, 2.5,
                          true, shareable_list::none, "more text here"};
      block = made.shm();
      auto b = block.bytes();
      for (int flips = 1 + static_cast<int>(rng() % 8); flips > 0; --flips) {
        auto at = rng() % b.size();
        if (at >= 16 && at < 16 + 32 * made.size() && (at - 16) % 32 < 4)
          continue;
        b[at] = static_cast<std::byte>(rng());
      }
    }
    try {
      shareable_list sl{block};
      for (std::size_t i = 0; i < sl.size(); ++i) {
        try {
          (void)sl.get(i);
          ++read;
        } catch (const troupe::value_error&) {
        }
      }
    } catch (const troupe::value_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(read, 0);
}
