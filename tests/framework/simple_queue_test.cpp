#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using troupe::test::deadline;

namespace {

TEST(simple_queue, put_get_and_empty_work_between_processes) {
  troupe::runtime rt;
  troupe::simple_queue<std::string> q{rt};
  EXPECT_TRUE(q.empty());
  troupe::process p{rt,
                    [](troupe::simple_queue<std::string> q_in) {
                      q_in.put("a");
                      q_in.put("b");
                    },
                    q};
  p.start();
  EXPECT_EQ(q.get(), "a");
  EXPECT_EQ(q.get(), "b");
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(q.empty());
}

TEST(simple_queue, close_lets_get_drain_then_throw_closed) {
  troupe::runtime rt;
  troupe::simple_queue<std::unique_ptr<int>> q{rt};
  q.put(std::make_unique<int>(1));
  q.close();
  EXPECT_THROW(q.put(std::make_unique<int>(2)), troupe::closed);
  EXPECT_EQ(*q.get(), 1);
  EXPECT_THROW(static_cast<void>(q.get()), troupe::closed);
}

} // namespace
