#include <algorithm>
#include <atomic>
#include <cstdint>
#include <list>
#include <numeric>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

std::vector<int> iota_vector(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

TEST(pool_map, default_chunksize_is_pythons) {
  using troupe::pooled::detail::default_chunksize;
  // Python: chunksize, extra = divmod(n, workers * 4); chunksize += bool(extra)
  EXPECT_EQ(default_chunksize(1'000'000, 2), 125'000U);
  EXPECT_EQ(default_chunksize(10, 4), 1U);
  EXPECT_EQ(default_chunksize(100, 3), 9U);
  EXPECT_EQ(default_chunksize(96, 3), 8U);
  EXPECT_EQ(default_chunksize(0, 3), 1U);
}

TEST(pool_map, map_returns_results_in_input_order_for_every_chunksize) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 3}};
  auto in = iota_vector(1000);
  std::vector<int> expected;
  for (int x : in)
    expected.push_back(3 * x + 1);
  auto f = [](int x) { return 3 * x + 1; };
  for (std::size_t chunksize : {0U, 1U, 7U, 1000U, 5000U})
    EXPECT_EQ(p.map(f, in, chunksize), expected) << "chunksize " << chunksize;
}

TEST(pool_map, map_reads_lists_views_and_empty_ranges) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::list<std::string> words{"a", "bb", "ccc"};
  EXPECT_EQ(p.map([](const std::string& s) { return s.size(); }, words),
            (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(p.map([](int x) { return x * x; }, std::views::iota(0, 5)),
            (std::vector<int>{0, 1, 4, 9, 16}));
  EXPECT_TRUE(p.map([](int x) { return x; }, std::vector<int>{}).empty());
}

struct no_default {
  explicit no_default(int v) : value(v) {}
  int value;
};

TEST(pool_map, map_handles_bool_and_results_without_a_default_constructor) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto in = iota_vector(3000);
  auto even = p.map([](int x) { return x % 2 == 0; }, in, 10);
  ASSERT_EQ(even.size(), in.size());
  for (std::size_t i = 0; i < even.size(); ++i)
    EXPECT_EQ(even[i], i % 2 == 0);
  auto boxed = p.map([](int x) { return no_default{x}; }, in);
  for (std::size_t i = 0; i < boxed.size(); ++i)
    ASSERT_EQ(boxed[i].value, static_cast<int>(i));
}

TEST(pool_map, map_rethrows_a_task_exception_with_its_type) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto in = iota_vector(100);
  try {
    static_cast<void>(p.map(
      [](int x) {
        if (x == 42)
          throw std::domain_error("no 42");
        return x;
      },
      in, 5));
    FAIL() << "map must throw";
  } catch (const std::domain_error& e) {
    EXPECT_STREQ(e.what(), "no 42");
  }
  // The pool is fine afterwards.
  EXPECT_EQ(p.map([](int x) { return x; }, in).size(), 100U);
}

TEST(pool_map, a_million_tiny_tasks_give_the_exact_result) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto in = iota_vector(1'000'000);
  auto out = p.map([](int x) { return std::int64_t{x} * x; }, in);
  ASSERT_EQ(out.size(), in.size());
  std::int64_t sum = std::accumulate(out.begin(), out.end(), std::int64_t{0});
  // sum of k^2 for k < n is (n-1) n (2n-1) / 6
  std::int64_t n = 1'000'000;
  EXPECT_EQ(sum, (n - 1) * n * (2 * n - 1) / 6);
  for (std::size_t i = 0; i < out.size(); i += 9973)
    ASSERT_EQ(out[i], std::int64_t(i) * std::int64_t(i));
}

TEST(pool_map, starmap_unpacks_tuples_and_pairs) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::vector<std::pair<int, int>> pairs{{1, 2}, {3, 4}, {5, 6}};
  EXPECT_EQ(p.starmap([](int a, int b) { return a * b; }, pairs),
            (std::vector<int>{2, 12, 30}));
  std::vector<std::tuple<std::string, int>> reps{{"ab", 2}, {"c", 3}};
  auto r = p.starmap_async(
    [](const std::string& s, int n) {
      std::string out;
      for (int i = 0; i < n; ++i)
        out += s;
      return out;
    },
    reps);
  EXPECT_EQ(r.get(deadline), (std::vector<std::string>{"abab", "ccc"}));
}

TEST(pool_map, map_async_copies_its_input_and_calls_back_with_the_vector) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::vector<int> seen;
  troupe::async_result<std::vector<int>> r;
  {
    auto in = iota_vector(50);
    r = p.map_async(
      troupe::callback([&](const std::vector<int>& v) { seen = v; }),
      [](int x) { return -x; }, in, 4);
  } // the input is gone; map_async has its own copy
  auto& got = r.get(deadline);
  ASSERT_EQ(got.size(), 50U);
  EXPECT_EQ(got[49], -49);
  EXPECT_EQ(seen, got) << "the callback ran before the result was ready";
}

TEST(pool_map, map_progress_counts_up_to_the_total_on_the_calling_thread) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto in = iota_vector(1000);
  std::vector<std::pair<std::size_t, std::size_t>> calls;
  auto caller = std::this_thread::get_id();
  bool foreign = false;
  auto out = p.map(
    [](int x) { return x + 1; }, in,
    {.chunksize = 10, .progress = [&](std::size_t done, std::size_t total) {
       foreign |= std::this_thread::get_id() != caller;
       calls.emplace_back(done, total);
     }});
  EXPECT_EQ(out.size(), 1000U);
  EXPECT_FALSE(foreign);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), std::make_pair(std::size_t{1000}, std::size_t{1000}));
  for (std::size_t i = 1; i < calls.size(); ++i)
    EXPECT_LE(calls[i - 1].first, calls[i].first);
}

// -- imap ---------------------------------------------------------------------

TEST(pool_imap, imap_yields_results_in_input_order) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 3}};
  auto in = iota_vector(500);
  for (std::size_t chunksize : {1U, 3U, 64U}) {
    std::vector<int> got;
    for (int x : p.imap([](int v) { return v * 2; }, in, chunksize))
      got.push_back(x);
    ASSERT_EQ(got.size(), in.size());
    for (std::size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], 2 * static_cast<int>(i)) << "chunksize " << chunksize;
  }
}

TEST(pool_imap, imap_unordered_yields_in_completion_order) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  troupe::event first_done{rt};
  // Item 0 cannot finish before the consumer has received item 1.
  auto f = [&first_done](int x) {
    if (x == 0)
      first_done.wait();
    return x;
  };
  std::vector<int> got;
  for (int x : p.imap_unordered(f, std::vector<int>{0, 1})) {
    got.push_back(x);
    first_done.set();
  }
  EXPECT_EQ(got, (std::vector<int>{1, 0}));
  auto in = iota_vector(2000);
  std::vector<int> all;
  for (int x : p.imap_unordered([](int v) { return v; }, in))
    all.push_back(x);
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, in);
}

TEST(pool_imap, imap_reads_its_input_lazily_within_the_window) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::atomic<int> read{0};
  auto input
    = std::views::iota(0, 1000) | std::views::transform([&read](int x) {
        ++read;
        return x;
      });
  auto it
    = p.imap([](int x) { return x; }, input, {.chunksize = 1, .window = 8});
  EXPECT_LE(read.load(), 8) << "imap read ahead of its window";
  int consumed = 0;
  for (int x : it) {
    EXPECT_EQ(x, consumed);
    ++consumed;
    ASSERT_LE(read.load(), consumed + 8);
    if (consumed == 100)
      break;
  }
  EXPECT_LE(read.load(), 108);
}

TEST(pool_imap, an_endless_input_can_be_consumed_partly) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  long sum = 0;
  for (long x :
       p.imap_unordered([](long v) { return v; }, std::views::iota(0L))) {
    sum += x;
    if (x > 1000)
      break;
  }
  EXPECT_GT(sum, 1000);
}

TEST(pool_imap, a_failed_item_throws_and_iteration_goes_on) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto result = p.imap(
    [](int x) {
      if (x == 2)
        throw std::runtime_error("two");
      return x;
    },
    iota_vector(5));
  std::vector<std::string> seen;
  for (auto it = result.begin(); it != result.end(); ++it) {
    try {
      seen.push_back(std::to_string(*it));
    } catch (const std::runtime_error& e) {
      seen.push_back(e.what());
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "two", "3", "4"}));
}

TEST(pool_imap, next_returns_items_then_nothing) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  auto it = p.imap([](int x) { return x + 10; }, std::vector<int>{1, 2});
  EXPECT_EQ(it.next(), 11);
  EXPECT_EQ(it.next(), 12);
  EXPECT_EQ(it.next(), std::nullopt);
}

TEST(pool_imap, imap_progress_reaches_the_total_on_the_consumer_thread) {
  troupe::runtime rt;
  troupe::pool p{rt, {.processes = 2}};
  std::size_t last_done = 0;
  std::size_t last_total = 0;
  auto caller = std::this_thread::get_id();
  bool foreign = false;
  int n = 0;
  for (int x : p.imap_unordered(
         [](int v) { return v; }, iota_vector(300),
         {.chunksize = 7, .progress = [&](std::size_t done, std::size_t total) {
            foreign |= std::this_thread::get_id() != caller;
            EXPECT_GE(done, last_done);
            last_done = done;
            last_total = total;
          }})) {
    static_cast<void>(x);
    ++n;
  }
  EXPECT_EQ(n, 300);
  EXPECT_FALSE(foreign);
  EXPECT_EQ(last_done, 300U);
  EXPECT_EQ(last_total, 300U);
}

} // namespace
