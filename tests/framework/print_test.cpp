#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using troupe::test::deadline;

namespace {

TEST(print, separates_arguments_with_spaces_and_ends_the_line) {
  testing::internal::CaptureStdout();
  troupe::print("hello", 42, true, 2.5);
  EXPECT_EQ(testing::internal::GetCapturedStdout(), "hello 42 true 2.5\n");
}

TEST(print, lines_of_concurrent_processes_never_interleave) {
  troupe::runtime rt;
  testing::internal::CaptureStdout();
  std::vector<troupe::process> ps;
  for (int i = 0; i < 8; ++i) {
    ps.emplace_back(
      rt,
      [](int id) {
        for (int j = 0; j < 200; ++j)
          troupe::print("process", id, "line", j, "of a fairly long message");
      },
      i);
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  std::istringstream out{testing::internal::GetCapturedStdout()};
  int lines = 0;
  for (std::string line; std::getline(out, line); ++lines) {
    std::istringstream words{line};
    std::string process;
    int id = -1;
    int j = -1;
    std::string label;
    words >> process >> id >> label >> j;
    ASSERT_EQ(process, "process") << line;
    ASSERT_TRUE(id >= 0 && id < 8) << line;
    ASSERT_TRUE(line.ends_with("of a fairly long message")) << line;
  }
  EXPECT_EQ(lines, 8 * 200);
}

} // namespace
