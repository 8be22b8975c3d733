// Every blocking troupe call, the modules' included, wakes when its process
// is asked to stop and ends the process with -15 (terminated), long before
// the terminate grace would have it declared killed (-9).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

/// The body of the process under test, and what it blocks on (kept alive
/// until the test ends, and released then, so that nothing it started
/// outlives the runtime).
struct blocked_call {
  std::function<void()> body;
  std::shared_ptr<void> keep;
  std::function<void()> release = [] {};
};

struct blocking_case {
  std::string name;
  std::function<blocked_call(troupe::runtime&)> setup;
};

std::ostream& operator<<(std::ostream& os, const blocking_case& c) {
  return os << c.name;
}

template <class T>
std::shared_ptr<T> keep(T x) {
  return std::make_shared<T>(std::move(x));
}

/// A pool whose one worker is busy until `gate` is set.
struct busy_pool {
  explicit busy_pool(troupe::runtime& rt)
    : gate(rt), p(std::make_shared<troupe::pool>(
                  rt, troupe::pool_options{.processes = 1})) {}

  /// A task that waits for the gate.
  auto blocker() {
    return [g = gate](int x) {
      auto e = g; // map calls its function as const
      e.wait();
      return x;
    };
  }

  troupe::event gate;
  std::shared_ptr<troupe::pool> p;
};

blocked_call pool_call(troupe::runtime& rt,
                       std::function<void(busy_pool&)> call) {
  auto bp = std::make_shared<busy_pool>(rt);
  return {[bp, call] { call(*bp); }, bp, [bp] { bp->gate.set(); }};
}

std::vector<blocking_case> cases() {
  std::vector<blocking_case> out;
  auto add = [&](std::string name,
                 std::function<blocked_call(troupe::runtime&)> setup) {
    out.push_back({std::move(name), std::move(setup)});
  };
  // -- framework: channels -------------------------------------------------
  add("queue_get_on_empty", [](troupe::runtime& rt) -> blocked_call {
    troupe::queue<int> q{rt};
    return {[q]() mutable { static_cast<void>(q.get()); }, nullptr};
  });
  add("queue_put_on_full", [](troupe::runtime& rt) -> blocked_call {
    troupe::queue<int> q{rt, {.capacity = 1}};
    q.put(1);
    return {[q]() mutable { q.put(2); }, nullptr};
  });
  add("simple_queue_get", [](troupe::runtime& rt) -> blocked_call {
    troupe::simple_queue<int> q{rt};
    return {[q]() mutable { static_cast<void>(q.get()); }, nullptr};
  });
  add("joinable_queue_get", [](troupe::runtime& rt) -> blocked_call {
    troupe::joinable_queue<int> q{rt};
    return {[q]() mutable { static_cast<void>(q.get()); }, nullptr};
  });
  add("joinable_queue_join", [](troupe::runtime& rt) -> blocked_call {
    troupe::joinable_queue<int> q{rt};
    q.put(1); // never taken
    return {[q]() mutable { q.join(); }, nullptr};
  });
  add("pipe_recv", [](troupe::runtime& rt) -> blocked_call {
    auto [a, b] = troupe::pipe<int>{rt};
    return {[b = b]() mutable { static_cast<void>(b.recv()); }, keep(a)};
  });
  add("event_wait", [](troupe::runtime& rt) -> blocked_call {
    troupe::event e{rt};
    return {[e]() mutable { e.wait(); }, nullptr};
  });
  add("select", [](troupe::runtime& rt) -> blocked_call {
    troupe::queue<int> q{rt};
    troupe::event e{rt};
    return {[q, e] { static_cast<void>(troupe::select(q, e)); }, nullptr};
  });
  // -- framework: synchronization ------------------------------------------
  add("lock_acquire", [](troupe::runtime& rt) -> blocked_call {
    auto l = std::make_shared<troupe::lock>(rt);
    l->acquire(); // held by the main process
    return {[l] { l->acquire(); }, l, [l] { l->release(); }};
  });
  add("rlock_acquire", [](troupe::runtime& rt) -> blocked_call {
    auto l = std::make_shared<troupe::rlock>(rt);
    l->acquire();
    return {[l] { l->acquire(); }, l, [l] { l->release(); }};
  });
  add("semaphore_acquire", [](troupe::runtime& rt) -> blocked_call {
    troupe::semaphore s{rt, 0};
    return {[s]() mutable { s.acquire(); }, nullptr};
  });
  add("condition_wait", [](troupe::runtime& rt) -> blocked_call {
    troupe::condition c{rt};
    return {[c]() mutable {
              c.acquire();
              c.wait();
            },
            nullptr};
  });
  add("barrier_wait", [](troupe::runtime& rt) -> blocked_call {
    troupe::barrier b{rt, 2};
    return {[b]() mutable { static_cast<void>(b.wait()); }, nullptr};
  });
  // -- framework: processes ------------------------------------------------
  add("receive", [](troupe::runtime&) -> blocked_call {
    return {[] { static_cast<void>(troupe::this_process::receive<int>()); },
            nullptr};
  });
  add("sleep_for", [](troupe::runtime&) -> blocked_call {
    return {[] { troupe::this_process::sleep_for(1h); }, nullptr};
  });
  add("process_join", [](troupe::runtime& rt) -> blocked_call {
    troupe::event gate{rt};
    troupe::process other{rt, [](troupe::event g) { g.wait(); }, gate};
    other.start();
    return {[other] { other.join(); }, nullptr,
            [gate]() mutable { gate.set(); }};
  });
  // -- pool ----------------------------------------------------------------
  add("async_result_get", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply_async(bp.blocker(), 1).get());
    });
  });
  add("async_result_wait", [](troupe::runtime& rt) {
    return pool_call(
      rt, [](busy_pool& bp) { bp.p->apply_async(bp.blocker(), 1).wait(); });
  });
  add("async_result_get_with_timeout", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply_async(bp.blocker(), 1).get(1h));
    });
  });
  add("pool_apply", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply(bp.blocker(), 1));
    });
  });
  // The worker is busy with another task, so the map's chunks wait in the
  // queue: a chunk already running on the caller's input in place is let
  // finish its block first (see docs/pool.md).
  add("pool_map", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply_async(bp.blocker(), 0));
      static_cast<void>(bp.p->map(bp.blocker(), std::vector<int>{1, 2, 3}));
    });
  });
  add("pool_map_with_progress", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply_async(bp.blocker(), 0));
      static_cast<void>(
        bp.p->map(bp.blocker(), std::vector<int>{1, 2, 3},
                  troupe::map_options{.progress = [](auto, auto) {}}));
    });
  });
  add("imap_iteration", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      for (int x : bp.p->imap(bp.blocker(), std::vector<int>{1, 2, 3}))
        static_cast<void>(x);
    });
  });
  add("imap_unordered_next", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      auto it = bp.p->imap_unordered(bp.blocker(), std::vector<int>{1, 2});
      static_cast<void>(it.next());
    });
  });
  add("pool_join", [](troupe::runtime& rt) {
    return pool_call(rt, [](busy_pool& bp) {
      static_cast<void>(bp.p->apply_async(bp.blocker(), 1));
      bp.p->close();
      bp.p->join();
    });
  });
  // -- manager -------------------------------------------------------------
  add("manager_call", [](troupe::runtime& rt) -> blocked_call {
    // The manager is down for long (backoff), so the call waits.
    auto mgr = std::make_shared<troupe::manager>(
      rt, troupe::manager_options{
            .call_timeout = 30s,
            .backoff = troupe::backoff_options{.min = 60s, .max = 60s},
            .on_event = [](const auto&) {}});
    auto d = mgr->dict<int, int>();
    mgr->inject_failure("down for a while");
    EXPECT_TRUE(troupe::test::eventually([&] { return !mgr->state_actor(); }));
    return {[d]() mutable { d.set(1, 1); }, mgr};
  });
  return out;
}

class blocking_call : public testing::TestWithParam<blocking_case> {};

TEST_P(blocking_call, ends_its_process_with_minus_15_promptly_on_terminate) {
  troupe::runtime rt;
  auto call = GetParam().setup(rt);
  troupe::event entered{rt};
  // A grace longer than any scheduling delay (ASan, TSan, a loaded
  // machine): exit code -15 then shows the call woke on the request, as a
  // call that does not wake is killed after the grace (-9).
  troupe::process p{rt,
                    {.name = GetParam().name, .terminate_grace = 15s},
                    [body = call.body](troupe::event e) {
                      e.set();
                      body();
                    },
                    entered};
  p.start();
  ASSERT_TRUE(entered.wait(deadline));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15) << p.exit_reason();
  call.release();
}

INSTANTIATE_TEST_SUITE_P(
  every_blocking_call, blocking_call, testing::ValuesIn(cases()),
  [](const testing::TestParamInfo<blocking_case>& param) {
    return param.param.name;
  });

// A process terminated inside pool.join() leaves no thread in the pool:
// destroying the pool afterwards (here while the process unwinds) stops
// its workers and frees it safely. Repeated: it used to crash or hang in
// about half the runs.
TEST(pool_terminate, a_process_terminated_inside_join_leaves_the_pool_whole) {
  troupe::runtime rt;
  for (int round = 0; round < 20; ++round) {
    troupe::event joining{rt};
    troupe::event gate{rt};
    troupe::process p{rt,
                      {.terminate_grace = 15s}, // -15 cannot come from a kill
                      [](troupe::runtime* r, troupe::event j, troupe::event g) {
                        troupe::pool pl{*r, {.processes = 2}};
                        for (int i = 0; i < 4; ++i)
                          static_cast<void>(pl.apply_async(
                            [g](int x) mutable {
                              g.wait();
                              return x;
                            },
                            i));
                        pl.close();
                        j.set();
                        pl.join();
                      },
                      &rt,
                      joining,
                      gate};
    p.start();
    ASSERT_TRUE(joining.wait(deadline));
    p.terminate();
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.exitcode(), -15)
      << "round " << round << ": " << p.exit_reason();
  }
}

// The same with the pool owned by another process, destroyed after the
// joiner was terminated.
TEST(pool_terminate, a_pool_whose_joiner_was_terminated_can_be_destroyed) {
  troupe::runtime rt;
  for (int round = 0; round < 20; ++round) {
    troupe::event gate{rt};
    auto pl = std::make_unique<troupe::pool>(
      rt, troupe::pool_options{.processes = 2});
    auto r = pl->apply_async(
      [gate](int x) mutable {
        gate.wait();
        return x;
      },
      1);
    pl->close();
    troupe::event joining{rt};
    troupe::process p{rt,
                      [](troupe::pool* q, troupe::event j) {
                        j.set();
                        q->join();
                      },
                      pl.get(), joining};
    p.start();
    ASSERT_TRUE(joining.wait(deadline));
    p.terminate();
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.exitcode(), -15)
      << "round " << round << ": " << p.exit_reason();
    pl.reset(); // terminates the pool: the pending result fails
    EXPECT_THROW(static_cast<void>(r.get(deadline)), troupe::cancelled);
  }
}

} // namespace
