#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

TEST(select, returns_the_index_of_the_first_ready_channel) {
  troupe::runtime rt;
  troupe::queue<int> q1{rt};
  troupe::queue<std::string> q2{rt};
  troupe::event ev{rt};
  q2.put("x");
  EXPECT_EQ(troupe::select(q1, q2, ev), 1u);
  ev.set();
  EXPECT_EQ(troupe::select(q1, ev, q2), 1u);
  q1.put(1);
  EXPECT_EQ(troupe::select(q1, ev, q2), 0u);
}

TEST(select, gives_up_after_the_timeout) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  auto [a, b] = troupe::pipe<int>{rt};
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(troupe::select(30ms, q, a), std::nullopt);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_THROW(static_cast<void>(troupe::select(-1ms, q)), troupe::value_error);
}

TEST(select, wakes_when_an_item_arrives_on_any_channel) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::simple_queue<int> sq{rt};
  auto [a, b] = troupe::pipe<int>{rt};
  troupe::process p{rt, [](troupe::connection<int, int> c) { c.send(9); }, b};
  p.start();
  auto which = troupe::select(deadline, q, sq, a);
  ASSERT_EQ(which, 2u);
  EXPECT_EQ(a.recv(), 9);
  ASSERT_TRUE(p.join(deadline));
  // The child ended, so its end closed: `a` now reads end of file, which
  // counts as ready too.
  EXPECT_EQ(troupe::select(0ms, q, sq, a), 2u);
  std::thread t{[&] { sq.put(4); }};
  EXPECT_EQ(troupe::select(deadline, q, sq), 1u);
  EXPECT_EQ(sq.get(), 4);
  t.join();
}

TEST(select, a_closed_queue_counts_as_ready) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::event ev{rt};
  std::thread closer{[&] { q.close(); }};
  EXPECT_EQ(troupe::select(deadline, ev, q), 1u);
  closer.join();
  EXPECT_THROW(static_cast<void>(q.get()), troupe::closed);
}

// -- wait: a list known at run time, processes included -----------------------

bool has(const std::vector<std::size_t>& xs, std::size_t x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

TEST(wait, returns_every_ready_object_at_once_in_ascending_order) {
  troupe::runtime rt;
  std::vector<troupe::read_connection<int>> readers;
  std::vector<troupe::write_connection<int>> writers;
  for (int i = 0; i < 5; ++i) {
    auto [r, w] = troupe::one_way_pipe<int>{rt};
    readers.push_back(std::move(r));
    writers.push_back(std::move(w));
  }
  EXPECT_EQ(troupe::wait(readers, 0ms), std::vector<std::size_t>{});
  writers[3].send(30);
  writers[1].send(10);
  EXPECT_EQ(troupe::wait(readers), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(readers[1].recv(), 10);
  EXPECT_EQ(troupe::wait(readers, deadline), std::vector<std::size_t>{3});
}

TEST(wait, mixes_channels_events_and_processes_that_are_already_ready) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::simple_queue<int> sq{rt};
  troupe::joinable_queue<int> jq{rt};
  troupe::event ev{rt};
  troupe::process done{rt, [] {}};
  done.start();
  ASSERT_TRUE(done.join(deadline));
  troupe::process running{rt, [] { troupe::this_process::receive<int>(); }};
  running.start();
  ev.set();
  jq.put(1);
  std::vector<troupe::waitable> xs{q, sq, jq, ev, done, running};
  EXPECT_EQ(troupe::wait(xs), (std::vector<std::size_t>{2, 3, 4}));
  EXPECT_EQ(troupe::wait({q, running}, 0ms), std::vector<std::size_t>{});
  running.send(0);
  EXPECT_EQ(troupe::wait({q, running}, deadline), std::vector<std::size_t>{1});
  troupe::process unstarted{rt, [] {}};
  EXPECT_THROW(static_cast<void>(troupe::wait({unstarted})),
               troupe::state_error);
}

TEST(wait, wakes_for_data_from_any_worker_or_the_end_of_one) {
  troupe::runtime rt;
  constexpr std::size_t n = 4;
  std::vector<troupe::read_connection<int>> from;
  std::vector<troupe::process> workers;
  for (std::size_t i = 0; i < n; ++i) {
    auto [r, w] = troupe::one_way_pipe<int>{rt};
    from.push_back(std::move(r));
    // Each worker sends what it is told to, or fails when told 0.
    workers.emplace_back(
      rt,
      [](troupe::write_connection<int> out) {
        for (;;) {
          auto x = troupe::this_process::receive<int>();
          if (x == 0)
            throw std::runtime_error{"worker failed"};
          out.send(x);
        }
      },
      std::move(w));
    workers.back().start();
  }
  std::vector<troupe::waitable> xs(from.begin(), from.end());
  xs.insert(xs.end(), workers.begin(), workers.end());
  EXPECT_EQ(troupe::wait(xs, 10ms), std::vector<std::size_t>{});
  workers[2].send(7);
  EXPECT_EQ(troupe::wait(xs, deadline), std::vector<std::size_t>{2});
  EXPECT_EQ(from[2].recv(), 7);
  workers[1].send(0);
  // The worker's end closes with it (its pipe reads end of file) and the
  // worker ends: two events, seen together or one after the other.
  std::vector<std::size_t> seen;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!has(seen, n + 1) && std::chrono::steady_clock::now() < until)
    seen = troupe::wait(xs, deadline);
  EXPECT_TRUE(has(seen, n + 1)) << "the end of worker 1";
  ASSERT_TRUE(workers[1].join(deadline));
  EXPECT_EQ(workers[1].exitcode(), 1);
  EXPECT_EQ(troupe::wait(xs, 0ms), (std::vector<std::size_t>{1, n + 1}));
  for (auto& w : workers)
    if (w.is_alive())
      w.terminate();
  for (auto& w : workers)
    ASSERT_TRUE(w.join(deadline));
}

TEST(wait, gives_up_after_the_timeout_and_refuses_a_negative_one) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  troupe::process p{rt, [] { troupe::this_process::receive<int>(); }};
  p.start();
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(troupe::wait({q, p}, 30ms), std::vector<std::size_t>{});
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 30ms);
  EXPECT_THROW(static_cast<void>(troupe::wait({q}, -1ms)), troupe::value_error);
  p.send(1);
  ASSERT_TRUE(p.join(deadline));
}

TEST(wait, an_empty_list_waits_for_the_timeout_or_until_terminated) {
  troupe::runtime rt;
  std::vector<troupe::waitable> none;
  EXPECT_EQ(troupe::wait(none, 0ms), std::vector<std::size_t>{});
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(troupe::wait(none, 20ms), std::vector<std::size_t>{});
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 20ms);
  troupe::event waiting{rt};
  troupe::process p{rt,
                    [](troupe::event waiting_in) {
                      waiting_in.set();
                      std::vector<troupe::waitable> nothing;
                      static_cast<void>(troupe::wait(nothing));
                    },
                    waiting};
  p.start();
  ASSERT_TRUE(waiting.wait(deadline));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

TEST(wait, a_channel_closed_while_waiting_counts_as_ready) {
  troupe::runtime rt;
  troupe::queue<int> q{rt};
  auto [a, b] = troupe::pipe<int>{rt};
  troupe::event ev{rt};
  std::thread closer{[&] {
    q.close();
    b.close();
  }};
  std::vector<std::size_t> seen;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (seen.size() < 2 && std::chrono::steady_clock::now() < until)
    seen = troupe::wait({ev, q, a}, deadline);
  closer.join();
  EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2}));
  EXPECT_THROW(static_cast<void>(q.get()), troupe::closed);
  EXPECT_THROW(static_cast<void>(a.recv()), troupe::closed);
}

TEST(wait, a_process_waited_for_by_many_wakes_them_all_when_it_ends) {
  troupe::runtime rt;
  troupe::process p{rt, [] { troupe::this_process::receive<int>(); }};
  p.start();
  std::vector<std::thread> watchers;
  std::atomic<int> woke{0};
  for (int i = 0; i < 3; ++i)
    watchers.emplace_back([&] {
      if (troupe::wait({p}, deadline) == std::vector<std::size_t>{0})
        ++woke;
    });
  // Repeated waits on a process that lives on leave nothing behind.
  for (int i = 0; i < 100; ++i)
    EXPECT_TRUE(troupe::wait({p}, 0ms).empty());
  p.send(1);
  for (auto& t : watchers)
    t.join();
  EXPECT_EQ(woke.load(), 3);
}

} // namespace
