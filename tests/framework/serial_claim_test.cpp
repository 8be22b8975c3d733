// ext::serial_claim: one holder at a time, taken by request or by lock; a
// request is never left behind; a waiting `lock` sleeps and is woken. And
// ext::futex_wait / futex_wake_all, which it sleeps with.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/ext/futex.hpp>
#include <troupe/ext/mpsc_stack.hpp>
#include <troupe/ext/serial_claim.hpp>

using namespace std::chrono_literals;
namespace ext = troupe::ext;

TEST(serial_claim, requests_while_held_make_the_holder_run_again) {
  ext::serial_claim claim;
  EXPECT_FALSE(claim.held());
  ASSERT_TRUE(claim.request()); // free: ours
  EXPECT_TRUE(claim.held());
  EXPECT_FALSE(claim.request()); // counted, not taken
  EXPECT_FALSE(claim.request());
  EXPECT_FALSE(claim.try_lock());
  std::uint32_t seen = 1;
  ASSERT_TRUE(claim.release(seen)); // two came meanwhile: run again
  EXPECT_EQ(seen, 2U);
  EXPECT_TRUE(claim.held());
  EXPECT_FALSE(claim.release(seen));
  EXPECT_FALSE(claim.held());
  EXPECT_TRUE(claim.request());
  seen = 1;
  EXPECT_FALSE(claim.release(seen));
}

TEST(serial_claim, unlock_frees_it_and_drops_the_requests_counted) {
  ext::serial_claim claim;
  ASSERT_TRUE(claim.try_lock());
  EXPECT_FALSE(claim.try_lock());
  EXPECT_FALSE(claim.request());
  claim.unlock();
  EXPECT_FALSE(claim.held());
  EXPECT_TRUE(claim.request()); // the dropped request is not waiting
  claim.unlock();
}

TEST(serial_claim, is_lockable) {
  ext::serial_claim claim;
  {
    std::unique_lock lk{claim};
    EXPECT_TRUE(claim.held());
    std::unique_lock other{claim, std::try_to_lock};
    EXPECT_FALSE(other.owns_lock());
  }
  EXPECT_FALSE(claim.held());
}

namespace {

// Holds the claim from another thread for `hold`, freeing it with
// `release` (by request) or `unlock`; `lock` on this thread must wait
// the whole time, past its polling, asleep, and wake when it is freed.
void lock_waits_for(bool by_request, std::chrono::milliseconds hold) {
  ext::serial_claim claim;
  std::atomic<bool> taken{false};
  std::atomic<bool> freed{false};
  std::thread holder{[&] {
    if (by_request)
      EXPECT_TRUE(claim.request());
    else
      claim.lock();
    taken = true;
    std::this_thread::sleep_for(hold);
    freed = true;
    if (by_request) {
      std::uint32_t seen = 1;
      EXPECT_FALSE(claim.release(seen));
    } else {
      claim.unlock();
    }
  }};
  while (!taken)
    std::this_thread::yield();
  claim.lock();
  EXPECT_TRUE(freed.load()); // never beside the holder
  claim.unlock();
  holder.join();
  EXPECT_FALSE(claim.held());
}

} // namespace

TEST(serial_claim, lock_sleeps_until_unlock) {
  lock_waits_for(false, 30ms);
}

TEST(serial_claim, lock_sleeps_until_the_last_request_is_released) {
  lock_waits_for(true, 30ms);
}

namespace {

struct node {
  node* next = nullptr;
  int from = 0;
};

} // namespace

// Four threads queue nodes and request a run (two of them sometimes lock
// instead); every node is run exactly once, never two runs at a time, and
// none is left in the queue once every thread is done.
TEST(serial_claim, no_request_is_left_behind) {
  constexpr int threads = 4;
  constexpr int per_thread = 20'000;
  ext::serial_claim claim;
  ext::mpsc_stack<node> queue;
  std::atomic<int> running{0};
  std::atomic<bool> overlap{false};
  long ran = 0; // only under the claim
  std::vector<int> last(threads, -1);
  bool out_of_order = false;
  std::vector<std::vector<node>> nodes(threads, std::vector<node>(per_thread));

  auto run = [&] {
    if (running.fetch_add(1) != 0)
      overlap = true;
    for (auto* n = queue.take_all(); n != nullptr;) {
      auto* next = n->next;
      // Nodes of one thread come in the order it queued them.
      auto i = static_cast<int>(n - nodes[n->from].data());
      if (i <= last[n->from])
        out_of_order = true;
      last[n->from] = i;
      ++ran;
      n = next;
    }
    running.fetch_sub(1);
  };

  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        nodes[t][i].from = t;
        queue.push(&nodes[t][i]);
        std::uint32_t seen = 1;
        if (t < 2 && i % 64 == 0) {
          claim.lock(); // a drainer's way in
        } else if (!claim.request()) {
          continue; // the holder runs for us
        }
        do
          run();
        while (claim.release(seen));
      }
    });
  }
  for (auto& th : pool)
    th.join();
  EXPECT_FALSE(overlap.load());
  EXPECT_FALSE(out_of_order);
  EXPECT_EQ(ran, long{threads} * per_thread);
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(claim.held());
}

// -- futex --------------------------------------------------------------------

TEST(ext_futex, returns_at_once_when_the_word_differs_or_for_poll) {
  std::atomic<std::uint32_t> word{1};
  auto t0 = std::chrono::steady_clock::now();
  ext::futex_wait(&word, 2, ext::deadline::forever()); // differs
  ext::futex_wait(&word, 1, ext::deadline::poll());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(ext_futex, a_timed_wait_ends_at_its_deadline) {
  std::atomic<std::uint32_t> word{0};
  auto t0 = std::chrono::steady_clock::now();
  // Spurious returns are allowed: loop as callers do.
  auto until = ext::deadline::at(t0 + 20ms);
  while (!until.passed())
    ext::futex_wait(&word, 0, until);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
}

TEST(ext_futex, wake_all_wakes_every_sleeper) {
  std::atomic<std::uint32_t> word{0};
  std::atomic<int> woken{0};
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 3; ++i)
    sleepers.emplace_back([&] {
      while (word.load() == 0)
        ext::futex_wait(&word, 0, ext::deadline::forever());
      ++woken;
    });
  std::this_thread::sleep_for(10ms);
  word.store(1);
  ext::futex_wake_all(&word);
  for (auto& t : sleepers)
    t.join();
  EXPECT_EQ(woken.load(), 3);
}
