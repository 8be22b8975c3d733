// Bad input, unstorable results and racing lifecycle calls: the pool keeps
// its promises (every result completes, every worker runs its initializer,
// every member may be called from any thread).

#include <atomic>
#include <chrono>
#include <optional>
#include <ranges>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

bool message_has(const std::exception& e, const std::string& part) {
  return std::string{e.what()}.find(part) != std::string::npos;
}

// -- imap over an input that throws part-way (Python's
// test_imap_handle_iterable_exception) ----------------------------------------

/// 0, 1, ... up to `n`, throwing "bad input <k>" when item `k` is read.
auto throwing_input(int n, int k) {
  return std::views::iota(0, n) | std::views::transform([k](int i) {
           if (i == k)
             throw std::runtime_error("bad input " + std::to_string(i));
           return i;
         });
}

struct imap_case {
  std::size_t chunksize;
  std::size_t window; // 0: the default
};

class imap_over_throwing_input : public testing::TestWithParam<imap_case> {};

TEST_P(imap_over_throwing_input,
       yields_every_earlier_result_then_rethrows_from_the_next_step) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  for (int bad : {0, 1, 7, 40}) {
    auto it = p.imap(
      [](int x) { return x * x; }, throwing_input(100, bad),
      {.chunksize = GetParam().chunksize, .window = GetParam().window});
    for (int i = 0; i < bad; ++i) {
      auto v = it.next();
      ASSERT_TRUE(v.has_value()) << "item " << i << " of " << bad;
      EXPECT_EQ(*v, i * i);
    }
    try {
      static_cast<void>(it.next());
      FAIL() << "the input's exception must come after item " << bad - 1;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string{e.what()}, "bad input " + std::to_string(bad));
    }
    EXPECT_FALSE(it.next().has_value()) << "then the iteration ends";
  }
}

TEST_P(imap_over_throwing_input,
       unordered_yields_every_earlier_result_then_the_exception_last) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  for (int bad : {0, 7, 40}) {
    auto it = p.imap_unordered(
      [](int x) { return x; }, throwing_input(100, bad),
      {.chunksize = GetParam().chunksize, .window = GetParam().window});
    std::set<int> seen;
    bool thrown = false;
    for (;;) {
      try {
        auto v = it.next();
        if (!v)
          break;
        ASSERT_FALSE(thrown) << "no result after the input's exception";
        seen.insert(*v);
      } catch (const std::runtime_error& e) {
        EXPECT_TRUE(message_has(e, "bad input")) << e.what();
        thrown = true;
      }
    }
    EXPECT_TRUE(thrown);
    EXPECT_EQ(seen.size(), static_cast<std::size_t>(bad));
    if (!seen.empty()) {
      EXPECT_EQ(*seen.rbegin(), bad - 1);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
  chunks_and_windows, imap_over_throwing_input,
  testing::Values(imap_case{1, 0}, imap_case{1, 4}, imap_case{3, 0},
                  imap_case{3, 6}, imap_case{4, 8}),
  [](const testing::TestParamInfo<imap_case>& param) {
    return "chunksize_" + std::to_string(param.param.chunksize) + "_window_"
           + (param.param.window == 0 ? std::string{"default"}
                                      : std::to_string(param.param.window));
  });

TEST(pool_robustness, an_imap_abandoned_after_its_input_threw_leaks_nothing) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  {
    auto it = p.imap([](int x) { return x; }, throwing_input(100, 50),
                     {.chunksize = 2, .window = 10});
    static_cast<void>(it.next());
  } // LeakSanitizer (asan preset) reports any chunk task left behind
  p.close();
  p.join();
}

// -- a result whose move throws (Python's MaybeEncodingError)
// ------------------

/// A result that cannot be moved or copied into its async_result.
struct unstorable {
  explicit unstorable(int x) : value(x) {}
  unstorable(const unstorable&) {
    throw std::runtime_error("cannot copy");
  }
  unstorable(unstorable&&) {
    throw std::runtime_error("cannot move");
  }
  unstorable& operator=(const unstorable&) = delete;
  unstorable& operator=(unstorable&&) = delete;
  ~unstorable() = default;
  int value = 0;
};

TEST(
  pool_robustness,
  a_result_that_cannot_be_stored_fails_with_result_error_and_runs_the_error_callback) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 1}};
  std::atomic<int> errors{0};
  std::string reported;
  troupe::event called{rt};
  auto r = p.apply_async(troupe::error_callback([&](const std::exception& e) {
                           reported = e.what();
                           ++errors;
                           called.set();
                         }),
                         [] { return unstorable{1}; });
  try {
    static_cast<void>(r.get(deadline));
    FAIL() << "get() must throw";
  } catch (const troupe::result_error& e) {
    EXPECT_TRUE(message_has(e, "unstorable")) << e.what();
    EXPECT_TRUE(message_has(e, "cannot move")) << e.what();
    EXPECT_TRUE(e.cause() != nullptr);
  }
  ASSERT_TRUE(called.wait(deadline));
  EXPECT_EQ(errors.load(), 1);
  EXPECT_TRUE(message_has(std::runtime_error{reported}, "cannot move"));
  EXPECT_FALSE(r.successful());
  // No worker was lost: the next task runs.
  EXPECT_EQ(p.apply([](int x) { return x + 1; }, 41), 42);
  p.close();
  p.join();
}

// -- the initializer runs in every worker
// --------------------------------------

TEST(pool_robustness, close_then_join_at_once_still_runs_every_initializer) {
  troupe::runtime rt;
  constexpr int pools = 40;
  constexpr std::size_t workers = 2;
  int short_pools = 0;
  for (int i = 0; i < pools; ++i) {
    auto runs = std::make_shared<std::atomic<int>>(0);
    troupe::pool p{rt,
                   {.processes = workers, .initializer = [runs] { ++*runs; }}};
    p.close();
    p.join();
    if (runs->load() != static_cast<int>(workers))
      ++short_pools;
  }
  EXPECT_EQ(short_pools, 0) << "pools whose initializer did not run in "
                               "every worker";
}

// -- two joins at once
// ---------------------------------------------------------

TEST(pool_robustness, two_threads_joining_after_close_both_return) {
  troupe::runtime rt;
  for (int round = 0; round < 100; ++round) {
    troupe::pool p{rt, {.processes = 2}};
    static_cast<void>(p.apply_async([](int x) { return x; }, 1));
    p.close();
    std::atomic<int> joined{0};
    std::thread other{[&] {
      p.join();
      ++joined;
    }};
    p.join();
    ++joined;
    other.join();
    EXPECT_EQ(joined.load(), 2);
    EXPECT_TRUE(p.workers().empty())
      << "round " << round << ": each join returns after the workers ended";
  }
}

} // namespace
