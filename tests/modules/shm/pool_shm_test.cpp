// Shared memory with a pool of OS-process workers: Python's pattern of
// passing a block's name to the tasks, which attach to it by name.

#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/pool.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

namespace shm_test {

/// Sums words [start, stop) of the published block `name`.
std::uint64_t sum_words(std::string name, std::uint64_t start,
                        std::uint64_t stop) {
  auto block = troupe::shared_memory::attach(name);
  std::span<const std::uint64_t> words{
    reinterpret_cast<const std::uint64_t*>(block.bytes().data()),
    block.size() / 8};
  return std::accumulate(words.begin() + static_cast<std::ptrdiff_t>(start),
                         words.begin() + static_cast<std::ptrdiff_t>(stop),
                         std::uint64_t{0});
}

std::uint64_t block_size(troupe::shared_memory block) {
  return block.size();
}

int twice(int x) {
  return 2 * x;
}

} // namespace shm_test

TROUPE_ENTRY(shm_test::sum_words);
TROUPE_ENTRY(shm_test::block_size);
TROUPE_ENTRY(shm_test::twice);

TEST(shared_memory_pool, os_process_workers_attach_to_a_published_block) {
  troupe::runtime rt;
  constexpr std::uint64_t words = 1 << 16;
  troupe::shared_memory block{words * 8,
                              "troupe-pool-test-" + std::to_string(::getpid())};
  std::span<std::uint64_t> w{
    reinterpret_cast<std::uint64_t*>(block.bytes().data()), words};
  std::iota(w.begin(), w.end(), std::uint64_t{0});
  block.publish();
  troupe::pool p{rt,
                 {.processes = 2, .isolation = troupe::isolation::os_process}};
  std::vector<std::tuple<std::string, std::uint64_t, std::uint64_t>> chunks;
  for (std::uint64_t at = 0; at < words; at += words / 8)
    chunks.emplace_back(block.name(), at, at + words / 8);
  auto parts = p.starmap(troupe::entry<shm_test::sum_words>, chunks);
  EXPECT_EQ(std::accumulate(parts.begin(), parts.end(), std::uint64_t{0}),
            words * (words - 1) / 2);
  p.close();
  p.join();
}

TEST(shared_memory_pool, a_block_as_a_task_argument_is_refused_clearly) {
  troupe::runtime rt;
  troupe::shared_memory block{64};
  troupe::pool p{rt,
                 {.processes = 1, .isolation = troupe::isolation::os_process}};
  try {
    (void)p.apply(troupe::entry<shm_test::block_size>, block);
    ADD_FAILURE() << "a block crossed as a pool task's argument";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("only as an argument of an "
                                         "os_process"),
              std::string::npos)
      << e.what();
  }
  // Refused at submission: the pool is unharmed.
  EXPECT_EQ(p.apply(troupe::entry<shm_test::twice>, 21), 42);
}
