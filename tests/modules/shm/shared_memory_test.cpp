// troupe::shared_memory: blocks shared by threads and OS processes, passed
// as descriptors, freed by the kernel with their last holder.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::entry;
using troupe::os_process;
using troupe::shared_memory;
using troupe::test::deadline;
using troupe::test::eventually;

namespace shm_test {

/// Checks the parent's pattern (byte i is i % 251), then marks byte 0.
void check_and_mark(shared_memory block, int mark) {
  auto b = block.bytes();
  for (std::size_t i = 1; i < b.size(); ++i)
    if (b[i] != static_cast<std::byte>(i % 251))
      troupe::this_process::exit(3);
  b[0] = static_cast<std::byte>(mark);
}

/// Exit code 0 when the block cannot be resized from here.
void try_resize(shared_memory block) {
  bool shrink = ::ftruncate(block.native_handle(), 1) == 0;
  bool grow
    = ::ftruncate(block.native_handle(), static_cast<off_t>(block.size() * 2))
      == 0;
  troupe::this_process::exit(shrink || grow ? 4 : 0);
}

/// Two blocks in one call: copies `from` into `to`.
void copy_block(shared_memory from, shared_memory to, std::string tag) {
  auto f = from.bytes();
  auto t = to.bytes();
  std::copy_n(f.begin(), std::min(f.size(), t.size()), t.begin());
  std::memcpy(t.data(), tag.data(), std::min(tag.size(), t.size()));
}

/// Counts its starts in the block; ends normally at the `limit`th.
void count_starts(shared_memory block, int limit) {
  std::atomic_ref<int> n{*reinterpret_cast<int*>(block.bytes().data())};
  if (n.fetch_add(1) + 1 < limit)
    troupe::this_process::exit(1);
}

/// Attaches by name and writes `text` at the start.
void attach_and_write(std::string name, std::string text) {
  auto block = shared_memory::attach(name);
  std::memcpy(block.bytes().data(), text.data(), text.size());
}

/// As another user: exit code 0 when attaching is refused as it should.
void attach_as_nobody(std::string name) {
  if (::setgid(65534) != 0 || ::setuid(65534) != 0)
    troupe::this_process::exit(5);
  try {
    (void)shared_memory::attach(name);
  } catch (const troupe::error& e) {
    troupe::this_process::exit(std::string_view{e.what()}.find("own user")
                                   != std::string_view::npos
                                 ? 0
                                 : 6);
  }
  troupe::this_process::exit(7);
}

/// Touches every page, says so in byte `index`, then holds the block.
void hold(shared_memory block, int index) {
  auto b = block.bytes();
  for (std::size_t i = 4096; i < b.size(); i += 4096)
    std::atomic_ref<std::byte>{b[i]}.store(std::byte{1});
  std::atomic_ref<std::byte>{b[static_cast<std::size_t>(index)]}.store(
    std::byte{1});
  for (;;)
    std::this_thread::sleep_for(1h);
}

} // namespace shm_test

TROUPE_ENTRY(shm_test::check_and_mark);
TROUPE_ENTRY(shm_test::try_resize);
TROUPE_ENTRY(shm_test::copy_block);
TROUPE_ENTRY(shm_test::count_starts);
TROUPE_ENTRY(shm_test::attach_and_write);
TROUPE_ENTRY(shm_test::attach_as_nobody);
TROUPE_ENTRY(shm_test::hold);

namespace {

void fill_pattern(const shared_memory& block) {
  auto b = block.bytes();
  for (std::size_t i = 0; i < b.size(); ++i)
    b[i] = static_cast<std::byte>(i % 251);
}

/// `Shmem:` of /proc/meminfo, in KiB.
long shmem_kib() {
  std::ifstream meminfo{"/proc/meminfo"};
  std::string key;
  long value = 0;
  std::string unit;
  while (meminfo >> key >> value) {
    std::getline(meminfo, unit);
    if (key == "Shmem:")
      return value;
  }
  return -1;
}

/// `Shmem:` once it holds still (two reads 20 ms apart within 1 MiB, for
/// at most 2 s): the counter is system-wide, and the kernel frees a dead
/// process's pages just after its end is reported.
long settled_shmem_kib() {
  auto last = shmem_kib();
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(20ms);
    auto now = shmem_kib();
    if (std::abs(now - last) < 1024)
      return now;
    last = now;
  }
  return last;
}

std::set<std::string> dev_shm() {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator{"/dev/shm"})
    names.insert(e.path().filename().string());
  return names;
}

} // namespace

TEST(shared_memory, a_new_block_is_zero_filled_with_its_size_and_a_name) {
  shared_memory a{10};
  EXPECT_EQ(a.size(), 10U);
  EXPECT_EQ(a.bytes().size(), 10U);
  EXPECT_TRUE(std::ranges::all_of(
    a.bytes(), [](std::byte x) { return x == std::byte{0}; }));
  EXPECT_TRUE(a.name().starts_with("troupe_")) << a.name();
  shared_memory b{10};
  EXPECT_NE(a.name(), b.name());
  shared_memory named{4096, "frames"};
  EXPECT_EQ(named.name(), "frames");
  EXPECT_TRUE(dev_shm().count(a.name()) == 0) << "no name in /dev/shm";
}

TEST(shared_memory, bad_sizes_and_names_are_value_errors) {
  EXPECT_THROW(shared_memory{0}, troupe::value_error);
  EXPECT_THROW((shared_memory{8, "a/b"}), troupe::value_error);
  EXPECT_THROW((shared_memory{8, std::string(101, 'x')}), troupe::value_error);
  EXPECT_THROW((shared_memory{8, std::string{"a\0b", 3}}), troupe::value_error);
  try {
    shared_memory{0};
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("positive"), std::string::npos)
      << e.what();
  }
}

TEST(shared_memory, copies_share_the_block_and_close_lets_one_handle_go) {
  shared_memory a{16};
  auto b = a;
  EXPECT_EQ(a, b);
  b.bytes()[3] = std::byte{42};
  EXPECT_EQ(a.bytes()[3], std::byte{42});
  b.close();
  b.close(); // idempotent
  EXPECT_TRUE(b.closed());
  EXPECT_EQ(b.size(), 16U);
  EXPECT_EQ(b.name(), a.name());
  EXPECT_THROW((void)b.bytes(), troupe::state_error);
  EXPECT_EQ(a.bytes()[3], std::byte{42}); // the other handle still maps it
  EXPECT_TRUE(shared_memory{}.closed());
}

TEST(shared_memory, a_thread_process_shares_it_by_copy) {
  troupe::runtime rt;
  shared_memory block{64};
  troupe::process p{rt, [](shared_memory b) { b.bytes()[0] = std::byte{9}; },
                    block};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(block.bytes()[0], std::byte{9});
}

TEST(shared_memory, elsewhere_than_an_os_process_argument_it_is_refused) {
  shared_memory block{8};
  try {
    (void)troupe::serialization::to_bytes(block);
    ADD_FAILURE() << "serialized into bytes";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("only as an argument of an "
                                         "os_process"),
              std::string::npos)
      << e.what();
  }
}

class shared_memory_os : public testing::TestWithParam<troupe::start_method> {
protected:
  troupe::os_process_options opts() const {
    return {.start_method = GetParam()};
  }
};

INSTANTIATE_TEST_SUITE_P(
  by_start_method, shared_memory_os,
  testing::Values(troupe::start_method::spawn,
                  troupe::start_method::forkserver),
  [](const testing::TestParamInfo<troupe::start_method>& method) {
    return method.param == troupe::start_method::spawn ? "spawn" : "forkserver";
  });

TEST_P(shared_memory_os, a_child_maps_the_same_pages) {
  troupe::runtime rt;
  shared_memory block{1 << 20};
  fill_pattern(block);
  os_process p{rt, opts(), entry<shm_test::check_and_mark>, block, 77};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << p.exit_reason();
  EXPECT_EQ(block.bytes()[0], std::byte{77});
}

TEST_P(shared_memory_os, no_holder_can_resize_it) {
  troupe::runtime rt;
  shared_memory block{8192};
  os_process p{rt, opts(), entry<shm_test::try_resize>, block};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << "a holder resized the block";
  EXPECT_NE(::ftruncate(block.native_handle(), 1), 0);
}

TEST_P(shared_memory_os, several_blocks_go_with_one_start) {
  troupe::runtime rt;
  shared_memory from{4096};
  shared_memory to{4096};
  fill_pattern(from);
  os_process p{rt,   opts(), entry<shm_test::copy_block>,
               from, to,     std::string{"tag"}};
  from.close(); // the os_process holds its own copy until it starts
  p.start();
  ASSERT_TRUE(p.join(deadline));
  ASSERT_EQ(p.exitcode(), 0) << p.exit_reason();
  EXPECT_EQ(std::memcmp(to.bytes().data(), "tag", 3), 0);
  EXPECT_EQ(to.bytes()[100], static_cast<std::byte>(100 % 251));
}

TEST(shared_memory, each_restart_of_a_supervised_child_gets_the_block) {
  troupe::runtime rt;
  shared_memory block{64};
  troupe::supervisor sup{
    rt,
    {.strategy = troupe::strategy::one_for_one,
     .restarts = troupe::restart_limit{.intensity = 10, .period = 10s}},
    {troupe::child_spec{.id = "counter",
                        .start = troupe::start_os_process(
                          entry<shm_test::count_starts>, block, 3),
                        .restart = troupe::restart::transient}}};
  auto starts = [&] {
    return std::atomic_ref<int>{*reinterpret_cast<int*>(block.bytes().data())}
      .load();
  };
  EXPECT_TRUE(eventually([&] { return starts() == 3; })) << starts();
  block.close(); // the supervisor's start function holds a handle
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST(shared_memory, a_published_block_is_attached_by_name) {
  troupe::runtime rt;
  shared_memory block{64, "troupe-test-" + std::to_string(::getpid())};
  block.publish();
  block.publish(); // idempotent
  os_process p{rt, entry<shm_test::attach_and_write>, block.name(),
               std::string{"howdy"}};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  ASSERT_EQ(p.exitcode(), 0) << p.exit_reason();
  EXPECT_EQ(std::memcmp(block.bytes().data(), "howdy", 5), 0);
  // Here too, and a second block cannot take the name.
  auto again = shared_memory::attach(block.name());
  EXPECT_EQ(again.size(), 64U);
  EXPECT_EQ(std::memcmp(again.bytes().data(), "howdy", 5), 0);
  shared_memory other{64, block.name()};
  EXPECT_THROW(other.publish(), troupe::value_error);
  // Served while a handle lives here: no more after the last one.
  auto name = block.name();
  block.close();
  again.close();
  try {
    (void)shared_memory::attach(name);
    ADD_FAILURE() << "attached after the last handle closed";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("no block named"), std::string::npos)
      << e.what();
  }
}

TEST(shared_memory, another_user_cannot_attach) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to run a child as another user";
  troupe::runtime rt;
  shared_memory block{64, "troupe-uid-test-" + std::to_string(::getpid())};
  block.publish();
  os_process p{rt, entry<shm_test::attach_as_nobody>, block.name()};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 0) << "exit code 7: attached; 6: another error; "
                                "5: could not change user";
}

// Every holder SIGKILLed, in every order: the memory is back, nothing
// was left in /dev/shm.
TEST(shared_memory, killed_holders_in_any_order_leave_nothing_behind) {
  // Large against the noise of a shared machine's Shmem.
  constexpr std::size_t size = 256 << 20;
  constexpr long size_kib = size / 1024;
  troupe::runtime rt;
  std::array<int, 3> order{0, 1, 2};
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  int rounds = 2; // a sanitizer's child takes about a second to start
#else
  int rounds = 6;
#endif
  for (int round = 0; round < rounds; ++round) {
    auto baseline = settled_shmem_kib();
    std::vector<os_process> holders;
    {
      shared_memory block{size};
      for (int i = 0; i < 3; ++i) {
        holders.emplace_back(rt, entry<shm_test::hold>, block, i);
        holders.back().start();
      }
      ASSERT_TRUE(eventually([&] {
        auto b = block.bytes();
        return b[0] == std::byte{1} && b[1] == std::byte{1}
               && b[2] == std::byte{1};
      }));
      EXPECT_GE(shmem_kib(), baseline + size_kib / 2)
        << "round " << round << ": baseline " << baseline << " KiB";
    } // the parent's handle is gone
    for (std::size_t k = 0; k < order.size(); ++k) {
      auto& victim = holders[static_cast<std::size_t>(order[k])];
      auto pid = *victim.os_pid();
      victim.kill();
      ASSERT_TRUE(victim.join(deadline));
      // join() returns once it is declared killed; the kernel tears the
      // process down (and its mapping of the block) just after.
      ASSERT_TRUE(eventually([&] { return ::kill(pid, 0) != 0; }));
      if (k + 1 < order.size()) { // the others still hold it
        EXPECT_GE(shmem_kib(), baseline + size_kib / 2)
          << "round " << round << ": baseline " << baseline << " KiB";
      }
    }
    EXPECT_TRUE(
      eventually([&] { return shmem_kib() < baseline + size_kib / 8; }))
      << "round " << round << ": Shmem " << shmem_kib() << " KiB, baseline "
      << baseline << " KiB";
    std::next_permutation(order.begin(), order.end());
  }
  // Nothing of troupe's in /dev/shm (other programs' entries come and go:
  // the directory is the system's).
  for (const auto& name : dev_shm())
    EXPECT_FALSE(name.starts_with("troupe")) << name;
}
