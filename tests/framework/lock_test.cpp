#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

/// A child that takes `l` with a bare acquire() (no guard) and then waits
/// for a message, so it still holds the lock when it ends.
template <class Lock>
troupe::process holding_child(troupe::runtime& rt, Lock l,
                              std::string name = "holder") {
  troupe::process p{rt, {.name = std::move(name)}, [l]() mutable {
                      l.acquire();
                      troupe::this_process::receive<int>();
                    }};
  p.start();
  return p;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// -- Python's semantics -------------------------------------------------------

TEST(lock, acquire_and_release_toggle_locked_and_name_the_owner) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "accounts"}};
  EXPECT_EQ(l.name(), "accounts");
  EXPECT_FALSE(l.locked());
  EXPECT_FALSE(l.owner().has_value());
  EXPECT_TRUE(l.acquire());
  EXPECT_TRUE(l.locked());
  ASSERT_TRUE(l.owner().has_value());
  EXPECT_EQ(l.owner()->pid(), 1u);
  l.release();
  EXPECT_FALSE(l.locked());
}

TEST(lock, releasing_an_unlocked_lock_throws_value_error) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "L"}};
  try {
    l.release();
    FAIL() << "release() of an unlocked lock did not throw";
  } catch (const troupe::value_error& e) {
    EXPECT_TRUE(contains(e.what(), "lock 'L' is not held")) << e.what();
  }
}

TEST(lock, a_process_cannot_release_a_lock_another_process_holds) {
  troupe::runtime rt;
  troupe::lock l{rt};
  l.acquire();
  std::string error;
  troupe::process p{rt, {.name = "intruder"}, [l, &error]() mutable {
                      try {
                        l.release();
                      } catch (const troupe::value_error& e) {
                        error = e.what();
                      }
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(contains(error, "held by process 'MainProcess' (pid 1)"))
    << error;
  EXPECT_TRUE(contains(error, "intruder")) << error;
  EXPECT_TRUE(l.locked());
  l.release();
}

TEST(lock, acquire_without_blocking_and_with_a_timeout_fail_while_held) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto p = holding_child(rt, l);
  ASSERT_TRUE(eventually([&] { return l.locked(); }));
  EXPECT_FALSE(l.acquire(false));
  EXPECT_FALSE(l.try_lock());
  auto before = std::chrono::steady_clock::now();
  EXPECT_FALSE(l.acquire(20ms));
  EXPECT_GE(std::chrono::steady_clock::now() - before, 20ms);
  EXPECT_THROW(static_cast<void>(l.acquire(-1ms)), troupe::value_error);
  p.send(1);
  ASSERT_TRUE(p.join(deadline));
}

TEST(lock, works_with_lock_guard_unique_lock_and_scoped_lock) {
  troupe::runtime rt;
  troupe::lock a{rt};
  troupe::lock b{rt};
  {
    std::lock_guard guard{a};
    EXPECT_TRUE(a.locked());
  }
  EXPECT_FALSE(a.locked());
  {
    std::unique_lock guard{a, 10ms};
    EXPECT_TRUE(guard.owns_lock());
  }
  {
    std::scoped_lock both{a, b};
    EXPECT_TRUE(a.locked() && b.locked());
  }
  EXPECT_FALSE(a.locked() || b.locked());
}

TEST(lock, a_released_lock_passes_to_a_blocked_process) {
  troupe::runtime rt;
  troupe::lock l{rt};
  l.acquire();
  std::atomic<bool> got{false};
  troupe::process p{rt, [l, &got]() mutable {
                      std::lock_guard guard{l};
                      got = true;
                    }};
  p.start();
  EXPECT_FALSE(p.join(5ms));
  EXPECT_FALSE(got);
  l.release();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(got);
  EXPECT_FALSE(l.locked());
}

// -- ownership ----------------------------------------------------------------

TEST(lock, a_killed_holder_releases_it_and_the_next_holder_is_told) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto p = holding_child(rt, l);
  ASSERT_TRUE(eventually([&] { return l.locked(); }));
  EXPECT_EQ(l.owner(), p);
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -9);
  // Released once the killed thread left (here at once: kill() wakes its
  // receive, which throws `terminated`).
  ASSERT_TRUE(eventually([&] { return !l.locked(); }));
  ASSERT_TRUE(l.acquire(deadline));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
  ASSERT_TRUE(l.acquire(deadline));
  EXPECT_FALSE(l.previous_owner_died());
  l.release();
}

TEST(lock, a_holder_that_throws_releases_it) {
  troupe::runtime rt;
  troupe::lock l{rt};
  troupe::process p{rt, [l]() mutable {
                      l.acquire();
                      throw std::runtime_error("half-way through");
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), 1);
  EXPECT_FALSE(l.locked());
  ASSERT_TRUE(l.acquire(false));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
}

TEST(lock, a_terminated_holder_releases_it) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto p = holding_child(rt, l);
  ASSERT_TRUE(eventually([&] { return l.locked(); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  ASSERT_TRUE(l.acquire(false));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
}

TEST(lock, a_guard_unwinding_after_terminate_releases_normally) {
  troupe::runtime rt;
  troupe::lock l{rt};
  troupe::process p{rt, [l]() mutable {
                      std::lock_guard guard{l};
                      troupe::this_process::receive<int>();
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return l.locked(); }));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  ASSERT_TRUE(l.acquire(false));
  EXPECT_FALSE(l.previous_owner_died());
  l.release();
}

TEST(lock, a_waiter_gets_the_lock_when_the_holder_is_killed) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto holder = holding_child(rt, l);
  ASSERT_TRUE(eventually([&] { return l.locked(); }));
  std::atomic<bool> died{false};
  troupe::process waiter{rt, [l, &died]() mutable {
                           std::lock_guard guard{l};
                           died = l.previous_owner_died();
                         }};
  waiter.start();
  EXPECT_FALSE(waiter.join(5ms));
  holder.kill();
  ASSERT_TRUE(waiter.join(deadline));
  EXPECT_EQ(waiter.exitcode(), 0);
  EXPECT_TRUE(died);
}

TEST(lock, a_process_blocked_in_acquire_throws_terminated_when_stopped) {
  troupe::runtime rt;
  troupe::lock l{rt};
  l.acquire();
  troupe::process p{rt, [l]() mutable { l.acquire(); }};
  p.start();
  EXPECT_FALSE(p.join(5ms));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
  EXPECT_EQ(l.owner()->pid(), 1u);
  l.release();
}

TEST(lock, counters_under_the_lock_are_exact_under_contention) {
  troupe::runtime rt;
  troupe::lock l{rt};
  constexpr int per_process = 20000;
  constexpr int processes = 4;
  long counter = 0; // guarded by l
  std::vector<troupe::process> ps;
  for (int i = 0; i < processes; ++i) {
    ps.emplace_back(rt, [l, &counter]() mutable {
      for (int k = 0; k < per_process; ++k) {
        std::lock_guard guard{l};
        ++counter;
      }
    });
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  std::lock_guard guard{l};
  EXPECT_EQ(counter, long{per_process} * processes);
}

TEST(lock, threads_troupe_does_not_run_hold_it_as_themselves) {
  troupe::runtime rt;
  troupe::lock l{rt};
  long counter = 0; // guarded by l
  auto work = [&] {
    for (int k = 0; k < 20000; ++k) {
      std::lock_guard guard{l};
      ++counter;
    }
  };
  std::thread t1{work};
  std::thread t2{work};
  t1.join();
  t2.join();
  EXPECT_EQ(counter, 40000);
  // A thread that exits holding the lock releases it.
  std::thread quitter{[&] { l.acquire(); }};
  quitter.join();
  ASSERT_TRUE(l.acquire(false));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
}

// -- rlock --------------------------------------------------------------------

TEST(rlock, the_holder_may_acquire_again_and_must_release_as_often) {
  troupe::runtime rt;
  troupe::rlock r{rt};
  EXPECT_EQ(r.depth(), 0u);
  r.acquire();
  r.acquire();
  EXPECT_TRUE(r.acquire(false));
  {
    std::unique_lock guard{r, std::chrono::steady_clock::now() + 1ms};
    EXPECT_TRUE(guard.owns_lock());
    EXPECT_EQ(r.depth(), 4u);
  }
  EXPECT_EQ(r.depth(), 3u);
  EXPECT_TRUE(r.is_owned());
  r.release();
  r.release();
  EXPECT_TRUE(r.locked());
  r.release();
  EXPECT_FALSE(r.locked());
  EXPECT_THROW(r.release(), troupe::value_error);
}

TEST(rlock, only_the_holder_may_release_it) {
  troupe::runtime rt;
  troupe::rlock r{rt, {.name = "R"}};
  r.acquire();
  std::string error;
  troupe::process p{rt, [r, &error]() mutable {
                      EXPECT_FALSE(r.is_owned());
                      EXPECT_FALSE(r.acquire(false));
                      try {
                        r.release();
                      } catch (const troupe::value_error& e) {
                        error = e.what();
                      }
                    }};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_TRUE(contains(error, "rlock 'R' is held by process 'MainProcess'"))
    << error;
  r.release();
}

TEST(rlock, a_holder_killed_at_depth_three_releases_every_level) {
  troupe::runtime rt;
  troupe::rlock r{rt};
  troupe::process p{rt, [r]() mutable {
                      r.acquire();
                      r.acquire();
                      r.acquire();
                      troupe::this_process::receive<int>();
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return r.locked(); }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  ASSERT_TRUE(r.acquire(deadline)); // once the killed thread left
  EXPECT_EQ(r.depth(), 1u);
  EXPECT_TRUE(r.previous_owner_died());
  r.release();
  EXPECT_FALSE(r.locked());
}

// -- deadlocks and slow waits -------------------------------------------------

TEST(lock, acquiring_a_held_lock_again_is_reported_as_a_deadlock) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "once"}};
  l.acquire();
  try {
    l.acquire();
    FAIL() << "a second acquire() did not throw";
  } catch (const troupe::deadlock_error& e) {
    EXPECT_TRUE(contains(e.what(), "process 'MainProcess' (pid 1) acquires "
                                   "lock 'once', which it already holds"))
      << e.what();
  }
  // With a timeout it is Python's plain failure.
  EXPECT_FALSE(l.acquire(1ms));
  l.release();
}

TEST(lock, a_wait_for_cycle_is_reported_as_a_deadlock_naming_both_sides) {
  troupe::runtime rt;
  troupe::lock l1{rt, {.name = "L1"}};
  troupe::lock l2{rt, {.name = "L2"}};
  std::mutex mtx;
  std::vector<std::string> errors;
  auto body = [&](troupe::lock first, troupe::lock second) {
    std::lock_guard hold{first};
    troupe::this_process::receive<int>(); // both hold their first lock
    try {
      std::lock_guard also{second};
    } catch (const troupe::deadlock_error& e) {
      std::lock_guard guard{mtx};
      errors.emplace_back(e.what());
    }
  };
  troupe::process a{rt, {.name = "A"}, body, l1, l2};
  troupe::process b{rt, {.name = "B"}, body, l2, l1};
  a.start();
  b.start();
  ASSERT_TRUE(eventually([&] { return l1.locked() && l2.locked(); }));
  a.send(1);
  b.send(1);
  ASSERT_TRUE(a.join(deadline));
  ASSERT_TRUE(b.join(deadline));
  ASSERT_EQ(errors.size(), 1u); // the one that closed the cycle
  auto& msg = errors.front();
  for (auto part : {"deadlock", "process 'A'", "process 'B'", "lock 'L1'",
                    "lock 'L2'", "closed the cycle"})
    EXPECT_TRUE(contains(msg, part)) << part << " missing in: " << msg;
}

TEST(lock, a_slow_wait_reports_who_holds_the_lock) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "slow", .warn_after = 20ms}};
  l.acquire();
  testing::internal::CaptureStderr();
  troupe::process p{
    rt, {.name = "patient"}, [l]() mutable { EXPECT_FALSE(l.acquire(120ms)); }};
  p.start();
  auto joined = p.join(deadline);
  auto err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(joined);
  EXPECT_TRUE(contains(err, "process 'patient' (pid "));
  EXPECT_TRUE(contains(err, "for lock 'slow', held by process "
                            "'MainProcess' (pid 1)"))
    << err;
  l.release();
}

// -- kill() and exclusion -----------------------------------------------------

/// What a worker of the kill tests shares with the test, kept alive by the
/// workers: a killed worker's thread may outlive the test's frame.
struct section_counts {
  std::atomic<int> inside{0};
  std::atomic<long> entries{0};
  std::atomic<long> overlaps{0};
  std::atomic<bool> go{false};
};

/// Spins for `d` without a troupe call, as a computation a kill cannot stop.
void busy_for(std::chrono::microseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

TEST(lock, a_killed_holder_whose_thread_still_runs_keeps_it_until_it_leaves) {
  troupe::runtime rt;
  troupe::lock l{rt, {.name = "ledger", .warn_after = 20ms}};
  auto counts = std::make_shared<section_counts>();
  troupe::process p{rt, {.name = "doomed"}, [l, counts]() mutable {
                      std::lock_guard guard{l};
                      counts->inside = 1;
                      while (!counts->go) {
                        // no troupe call: kill() cannot stop this thread
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return counts->inside.load() == 1; }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -9);
  EXPECT_TRUE(l.locked()) << "its thread is still inside";
  testing::internal::CaptureStderr();
  EXPECT_FALSE(l.acquire(80ms));
  auto err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(err, "for lock 'ledger', held by process 'doomed'"))
    << err;
  EXPECT_TRUE(contains(err, "declared killed")) << err;
  counts->go = true;
  ASSERT_TRUE(l.acquire(deadline));
  EXPECT_FALSE(l.previous_owner_died()) << "it released the lock itself";
  l.release();
}

TEST(lock, a_killed_holder_that_leaves_without_releasing_frees_it_on_leaving) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto counts = std::make_shared<section_counts>();
  troupe::process p{rt, [l, counts]() mutable {
                      l.acquire(); // never released
                      counts->inside = 1;
                      while (!counts->go) {
                      }
                    }};
  p.start();
  ASSERT_TRUE(eventually([&] { return counts->inside.load() == 1; }));
  p.kill();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_FALSE(l.acquire(20ms));
  counts->go = true;
  ASSERT_TRUE(l.acquire(deadline));
  EXPECT_TRUE(l.previous_owner_died());
  l.release();
}

TEST(lock, no_two_workers_are_ever_inside_while_random_holders_are_killed) {
  troupe::runtime rt;
  troupe::lock l{rt};
  auto counts = std::make_shared<section_counts>();
  auto body = [l, counts]() mutable {
    for (;;) {
      std::lock_guard guard{l}; // throws terminated once killed
      if (counts->inside.fetch_add(1) != 0)
        ++counts->overlaps;
      ++counts->entries;
      busy_for(50us);
      counts->inside.fetch_sub(1);
    }
  };
  std::vector<troupe::process> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back(rt, body);
    workers.back().start();
  }
  std::mt19937 rng{18};
  int kills = 0;
  auto stop_at = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < stop_at) {
    auto before = counts->entries.load();
    // Let the workers take turns a few times, then kill one at random.
    ASSERT_TRUE(
      eventually([&] { return counts->entries.load() > before + 3; }));
    auto& victim = workers[rng() % workers.size()];
    victim.kill();
    ASSERT_TRUE(victim.join(deadline));
    victim = troupe::process{rt, body};
    victim.start();
    ++kills;
  }
  for (auto& w : workers)
    w.kill();
  for (auto& w : workers)
    ASSERT_TRUE(w.join(deadline));
  EXPECT_GT(kills, 10);
  EXPECT_EQ(counts->overlaps.load(), 0)
    << counts->entries.load() << " entries, " << kills << " kills";
}

} // namespace
