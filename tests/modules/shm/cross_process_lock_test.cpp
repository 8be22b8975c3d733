// troupe::lock and troupe::rlock handed to OS processes
// (<troupe/cross_process.hpp>): one critical section across OS processes,
// and a holder's death never leaves the lock held.

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/cross_process.hpp>
#include <troupe/ext/spin.hpp>
#include <troupe/os_process.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::entry;
using troupe::os_process;
using troupe::shared_memory;
using troupe::test::eventually;

namespace lock_test {

/// The block's first 8 bytes: a counter updated without atomics, so that
/// only the lock keeps increments from being lost. Byte 8: a flag.
struct shared_counter {
  std::int64_t value;
  std::int32_t flag;
};

shared_counter& counter_in(const shared_memory& block) {
  return *reinterpret_cast<shared_counter*>(block.bytes().data());
}

/// A read, a pause, a write: lost updates if two run at once.
void bump(shared_counter& c) {
  auto v
    = std::atomic_ref<std::int64_t>{c.value}.load(std::memory_order_relaxed);
  for (int i = 0; i < 20; ++i)
    troupe::ext::cpu_relax();
  std::atomic_ref<std::int64_t>{c.value}.store(v + 1,
                                               std::memory_order_relaxed);
}

void count_with_lock(troupe::lock l, shared_memory block, int n) {
  auto& c = counter_in(block);
  for (int i = 0; i < n; ++i) {
    std::lock_guard guard{l};
    bump(c);
  }
}

void count_with_rlock(troupe::rlock l, shared_memory block, int n) {
  auto& c = counter_in(block);
  for (int i = 0; i < n; ++i) {
    std::lock_guard outer{l};
    std::lock_guard inner{l}; // recursive: the OS-process level is taken once
    if (l.depth() != 2)
      troupe::this_process::exit(9);
    bump(c);
  }
}

/// Takes the lock, raises the flag, and holds it until killed.
void hold_forever(troupe::lock l, shared_memory block) {
  l.acquire();
  std::atomic_ref<std::int32_t>{counter_in(block).flag}.store(1);
  for (;;)
    std::this_thread::sleep_for(1h);
}

/// Takes the lock and returns without releasing it.
void take_and_return(troupe::lock l) {
  l.acquire();
}

/// Exit code 0 when the lock (held by the parent) cannot be had now or
/// within 50 ms, and then is had once the parent lets go (it raises the
/// flag just before).
void try_while_parent_holds(troupe::lock l, shared_memory block) {
  if (l.acquire(false))
    troupe::this_process::exit(2);
  if (l.acquire(50ms))
    troupe::this_process::exit(3);
  std::atomic_ref<std::int32_t>{counter_in(block).flag}.store(1);
  if (!l.acquire(30s))
    troupe::this_process::exit(4);
  if (l.previous_owner_died())
    troupe::this_process::exit(5);
  l.release();
}

/// Exit code 0 when the lock comes with previous_owner_died().
void expect_owner_died(troupe::lock l) {
  if (!l.acquire(30s))
    troupe::this_process::exit(2);
  troupe::this_process::exit(l.previous_owner_died() ? 0 : 3);
}

/// Supervised: its first start takes the lock and crashes inside it; the
/// restart takes the lock over and records previous_owner_died() (flag 2
/// when it was true, 3 otherwise).
void crash_holding_once(troupe::lock l, shared_memory block) {
  auto& c = counter_in(block);
  if (std::atomic_ref<std::int64_t>{c.value}.fetch_add(1) == 0) {
    l.acquire();
    std::abort();
  }
  if (!l.acquire(30s))
    troupe::this_process::exit(4);
  std::atomic_ref<std::int32_t>{c.flag}.store(l.previous_owner_died() ? 2 : 3);
  l.release();
}

} // namespace lock_test

TROUPE_ENTRY(lock_test::crash_holding_once);
TROUPE_ENTRY(lock_test::count_with_lock);
TROUPE_ENTRY(lock_test::count_with_rlock);
TROUPE_ENTRY(lock_test::hold_forever);
TROUPE_ENTRY(lock_test::take_and_return);
TROUPE_ENTRY(lock_test::try_while_parent_holds);
TROUPE_ENTRY(lock_test::expect_owner_died);

namespace {

class lock_across_os_processes
  : public testing::TestWithParam<troupe::start_method> {
protected:
  void SetUp() override {
    troupe::set_start_method(GetParam());
  }
  void TearDown() override {
    troupe::set_start_method(troupe::start_method::spawn);
  }
};

/// The block's flag, as the child left it.
std::int32_t flag_of(const shared_memory& block) {
  return std::atomic_ref<std::int32_t>{lock_test::counter_in(block).flag}
    .load();
}

std::string
method_name(const testing::TestParamInfo<troupe::start_method>& info) {
  return info.param == troupe::start_method::spawn ? "spawn" : "forkserver";
}

} // namespace

TEST_P(lock_across_os_processes, excludes_across_os_processes_and_threads) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "counter"}};
  shared_memory block{sizeof(lock_test::shared_counter)};
  constexpr int per = 20000;
  std::vector<os_process> children;
  for (int i = 0; i < 2; ++i)
    children.emplace_back(rt, entry<lock_test::count_with_lock>, l, block, per);
  for (auto& c : children)
    c.start();
  // The parent counts too, from a thread process and the main process.
  troupe::process local{rt, [&] { lock_test::count_with_lock(l, block, per); }};
  local.start();
  lock_test::count_with_lock(l, block, per);
  local.join();
  for (auto& c : children) {
    c.join();
    EXPECT_EQ(c.exitcode(), 0);
  }
  EXPECT_EQ(lock_test::counter_in(block).value, 4 * per);
  EXPECT_FALSE(l.locked());
  EXPECT_EQ(l.name(), "counter");
}

TEST_P(lock_across_os_processes, an_rlock_is_recursive_in_the_child) {
  troupe::runtime rt;
  troupe::rlock l{rt};
  shared_memory block{sizeof(lock_test::shared_counter)};
  constexpr int per = 5000;
  os_process a{rt, entry<lock_test::count_with_rlock>, l, block, per};
  os_process b{rt, entry<lock_test::count_with_rlock>, l, block, per};
  a.start();
  b.start();
  lock_test::count_with_rlock(l, block, per);
  a.join();
  b.join();
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b.exitcode(), 0);
  EXPECT_EQ(lock_test::counter_in(block).value, 3 * per);
}

TEST_P(lock_across_os_processes, a_holder_sigkilled_inside_hands_it_over) {
  troupe::runtime rt;
  troupe::lock l{rt};
  shared_memory block{sizeof(lock_test::shared_counter)};
  os_process holder{rt, entry<lock_test::hold_forever>, l, block};
  holder.start();
  ASSERT_TRUE(eventually([&] { return flag_of(block) == 1; }, 30s));
  EXPECT_FALSE(l.acquire(false)) << "the child holds it";
  EXPECT_TRUE(l.locked()) << "held in another OS process";
  EXPECT_FALSE(l.owner().has_value()) << "not by a process of this one";
  auto waiter = std::thread{[&] {
    ASSERT_TRUE(l.acquire(30s));
    EXPECT_TRUE(l.previous_owner_died());
    l.release();
  }};
  std::this_thread::sleep_for(50ms); // the waiter sleeps on the word
  holder.kill();
  waiter.join();
  holder.join();
  EXPECT_EQ(holder.exitcode(), -SIGKILL);
  ASSERT_TRUE(l.acquire(false));
  EXPECT_FALSE(l.previous_owner_died()) << "told once";
  l.release();
}

TEST_P(lock_across_os_processes, a_child_returning_holding_it_is_reported) {
  troupe::runtime rt;
  troupe::lock l{rt};
  os_process child{rt, entry<lock_test::take_and_return>, l};
  child.start();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  ASSERT_TRUE(l.acquire(30s));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
  // And the other way: a thread process of the parent ends holding it.
  troupe::process local{rt, [&] { l.acquire(); }};
  local.start();
  local.join();
  os_process next{rt, entry<lock_test::expect_owner_died>, l};
  next.start();
  next.join();
  EXPECT_EQ(next.exitcode(), 0);
}

TEST_P(lock_across_os_processes, non_blocking_and_timed_acquires_in_a_child) {
  troupe::runtime rt;
  troupe::lock l{rt};
  shared_memory block{sizeof(lock_test::shared_counter)};
  l.acquire(); // held before the hand-over: the child sees it held
  os_process child{rt, entry<lock_test::try_while_parent_holds>, l, block};
  child.start();
  ASSERT_TRUE(eventually([&] { return flag_of(block) == 1; }, 30s));
  l.release();
  child.join();
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_FALSE(l.locked());
}

TEST_P(lock_across_os_processes, a_waiter_in_the_parent_can_be_terminated) {
  troupe::runtime rt;
  troupe::lock l{rt};
  shared_memory block{sizeof(lock_test::shared_counter)};
  os_process holder{rt, entry<lock_test::hold_forever>, l, block};
  holder.start();
  ASSERT_TRUE(eventually([&] { return flag_of(block) == 1; }, 30s));
  std::atomic<bool> threw{false};
  troupe::process waiter{rt, [&] {
                           try {
                             l.acquire();
                           } catch (const troupe::terminated&) {
                             threw = true;
                             throw;
                           }
                         }};
  waiter.start();
  std::this_thread::sleep_for(50ms);
  waiter.terminate();
  waiter.join();
  EXPECT_TRUE(threw.load());
  EXPECT_FALSE(l.acquire(false)) << "the child still holds it";
  holder.kill();
  holder.join();
}

TEST_P(lock_across_os_processes,
       a_restarted_child_takes_over_its_crashed_hold) {
  troupe::runtime rt;
  troupe::lock l{rt};
  shared_memory block{sizeof(lock_test::shared_counter)};
  troupe::supervisor sup{
    rt,
    {.strategy = troupe::strategy::one_for_one,
     .restarts = troupe::restart_limit{.intensity = 5, .period = 10s}},
    {troupe::child_spec{.id = "crasher",
                        .start = troupe::start_os_process(
                          entry<lock_test::crash_holding_once>, l, block),
                        .restart = troupe::restart::transient}}};
  auto& c = lock_test::counter_in(block);
  EXPECT_TRUE(eventually([&] { return flag_of(block) != 0; }, 30s));
  EXPECT_EQ(flag_of(block), 2) << "the restart saw previous_owner_died()";
  EXPECT_EQ(std::atomic_ref<std::int64_t>{c.value}.load(), 2) << "starts";
  sup.terminate();
  ASSERT_TRUE(sup.join(30s));
  EXPECT_FALSE(l.locked());
}

INSTANTIATE_TEST_SUITE_P(start_methods, lock_across_os_processes,
                         testing::Values(troupe::start_method::spawn,
                                         troupe::start_method::forkserver),
                         method_name);
