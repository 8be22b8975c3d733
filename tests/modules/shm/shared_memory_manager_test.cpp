// troupe::shared_memory_manager: Python's SharedMemoryManager (seed 004 §6).

#include <ranges>

#include <gtest/gtest.h>

#include <troupe/shared_memory_manager.hpp>

TEST(shared_memory_manager, holds_what_it_made_until_shutdown) {
  troupe::shared_memory_manager smm;
  auto block = smm.shared_memory(128);
  auto sl = smm.shareable_list(
    {"howdy", troupe::bytes{"HoWdY"}, -273.154, 100, true});
  auto range = smm.shareable_list(std::views::iota(0, 10));
  EXPECT_EQ(smm.blocks(), 3U);
  EXPECT_EQ(sl.get<int>(3), 100);
  EXPECT_EQ(range.size(), 10U);
  smm.shutdown();
  smm.shutdown(); // idempotent
  EXPECT_EQ(smm.blocks(), 0U);
  // Handles given out stay valid (as a Python process's mapping does).
  EXPECT_EQ(sl.get<int>(3), 100);
  block.bytes()[0] = std::byte{1};
  EXPECT_THROW((void)smm.shared_memory(8), troupe::state_error);
  EXPECT_THROW((void)smm.shareable_list({1}), troupe::state_error);
}
