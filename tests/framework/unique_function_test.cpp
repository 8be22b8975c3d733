#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include <troupe/detail/unique_function.hpp>

using troupe::detail::unique_function;

namespace {

/// Counts the live copies of itself, so a test sees every construction
/// matched by exactly one destruction, whichever way the function is kept.
struct tracked {
  static inline int alive = 0;
  int value;
  explicit tracked(int v) : value(v) {
    ++alive;
  }
  tracked(const tracked& other) : value(other.value) {
    ++alive;
  }
  tracked(tracked&& other) noexcept : value(other.value) {
    ++alive;
  }
  ~tracked() {
    --alive;
  }
  tracked& operator=(const tracked&) = delete;
};

/// A callable too large for the inline buffer.
struct big {
  tracked t{0};
  char pad[unique_function<int()>::inline_size]{};
  int operator()() const {
    return t.value;
  }
};

/// A callable whose move may throw: kept on the heap, so that moving the
/// function never throws.
struct throwing_move {
  tracked t{0};
  throwing_move() = default;
  throwing_move(const throwing_move&) = default;
  throwing_move(throwing_move&& other) noexcept(false) : t(other.t) {}
  int operator()() const {
    return t.value;
  }
};

TEST(unique_function, small_callables_are_kept_inline_and_large_ones_not) {
  auto small = [p = std::shared_ptr<int>{}, a = 1, b = 2] { return a + b; };
  static_assert(unique_function<int()>::stored_inline<decltype(small)>);
  static_assert(!unique_function<int()>::stored_inline<big>);
  static_assert(!unique_function<int()>::stored_inline<throwing_move>);
  unique_function<int()> f{small};
  EXPECT_EQ(f(), 3);
}

TEST(unique_function, holds_move_only_callables_and_forwards_arguments) {
  unique_function<int(std::unique_ptr<int>, const std::string&)> f{
    [base = std::make_unique<int>(10)](std::unique_ptr<int> x,
                                       const std::string& s) {
      return *base + *x + static_cast<int>(s.size());
    }};
  EXPECT_EQ(f(std::make_unique<int>(5), "abc"), 18);
}

TEST(unique_function, destroys_each_callable_once_inline_or_on_the_heap) {
  tracked::alive = 0;
  {
    unique_function<int()> a{[t = tracked{7}] { return t.value; }};
    unique_function<int()> b{big{}};
    unique_function<int()> c{throwing_move{}};
    EXPECT_EQ(tracked::alive, 3);
    auto a2 = std::move(a);
    auto b2 = std::move(b);
    auto c2 = std::move(c);
    EXPECT_EQ(tracked::alive, 3);
    EXPECT_FALSE(a);
    EXPECT_FALSE(b);
    EXPECT_FALSE(c);
    EXPECT_EQ(a2(), 7);
    EXPECT_EQ(b2(), 0);
    EXPECT_EQ(c2(), 0);
    // Move-assigning over a held callable destroys it first.
    a2 = std::move(b2);
    EXPECT_EQ(tracked::alive, 2);
    EXPECT_EQ(a2(), 0);
    // Self-move keeps the callable.
    auto& self = a2;
    a2 = std::move(self);
    EXPECT_TRUE(a2);
    EXPECT_EQ(tracked::alive, 2);
  }
  EXPECT_EQ(tracked::alive, 0);
}

TEST(unique_function, an_empty_function_tests_false) {
  unique_function<void()> f;
  EXPECT_FALSE(f);
  f = [] {};
  EXPECT_TRUE(f);
  unique_function<void()> g{std::move(f)};
  EXPECT_FALSE(f);
  EXPECT_TRUE(g);
}

TEST(unique_function, exceptions_from_the_callable_reach_the_caller) {
  unique_function<void()> f{[] { throw std::runtime_error("boom"); }};
  EXPECT_THROW(f(), std::runtime_error);
}

} // namespace
