#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

static_assert(troupe::value<int>::is_lock_free);
static_assert(troupe::value<double>::is_lock_free);
static_assert(!troupe::value<std::string>::is_lock_free);

template <class V>
concept has_get_lock = requires(V v) {
  v.get_lock();
};
static_assert(!has_get_lock<troupe::value<int>>,
              "a lock-free value has no lock: use update()");
static_assert(has_get_lock<troupe::value<std::string>>);

TEST(value, a_child_sees_and_changes_the_parents_value) {
  troupe::runtime rt;
  troupe::value<double> num{rt, 0.0};
  troupe::process p{rt, [num]() mutable { num.set(3.1415927); }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(num.get(), 3.1415927);
}

TEST(value, update_counts_exactly_under_contention) {
  troupe::runtime rt;
  troupe::value<int> n{rt, 0};
  troupe::value<std::string> s{rt};
  std::vector<troupe::process> ps;
  for (int i = 0; i < 4; ++i) {
    ps.emplace_back(rt, [n, s]() mutable {
      for (int k = 0; k < 10000; ++k)
        n.update([](int x) { return x + 1; });
      for (int k = 0; k < 100; ++k)
        s.update([](const std::string& x) { return x + "."; });
    });
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(n.get(), 40000);
  EXPECT_EQ(s.get().size(), 400u);
}

TEST(value, a_guarded_value_keeps_working_after_a_process_dies_in_update) {
  troupe::runtime rt;
  troupe::value<std::string> s{rt, "ok"};
  troupe::process p{rt, [s]() mutable {
                      s.update([](const std::string&) -> std::string {
                        throw std::runtime_error("crash inside update");
                      });
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_EQ(s.get(), "ok"); // the update never happened; the lock is free
  auto l = s.get_lock();
  std::lock_guard guard{l};
  s.set(s.get() + "!");
  EXPECT_EQ(s.get(), "ok!");
}

TEST(array, a_child_negates_every_element) {
  troupe::runtime rt;
  troupe::array<int> a{rt, {0, 1, 2, 3, 4}};
  EXPECT_EQ(a.size(), 5u);
  troupe::process p{rt, [a]() mutable {
                      for (std::size_t i = 0; i < a.size(); ++i)
                        a.set(i, -a.get(i));
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(a.to_vector(), (std::vector<int>{0, -1, -2, -3, -4}));
  EXPECT_THROW(static_cast<void>(a.get(5)), troupe::value_error);
}

TEST(array, update_is_atomic_for_one_element_and_for_the_whole_array) {
  troupe::runtime rt;
  troupe::array<long> a{rt, 3};
  std::vector<troupe::process> ps;
  for (int i = 0; i < 4; ++i) {
    ps.emplace_back(rt, [a]() mutable {
      for (int k = 0; k < 5000; ++k) {
        a.update(0, [](long x) { return x + 1; });
        a.update([](std::span<long> xs) {
          xs[1] += 1;
          xs[2] = xs[1] * 2;
        });
      }
    });
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(a.to_vector(), (std::vector<long>{20000, 20000, 40000}));
}

} // namespace
