#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

/// Collects supervisor events instead of printing them.
struct event_log {
  std::mutex mtx;
  std::vector<troupe::supervisor_event> events;

  auto callback() {
    return [this](const troupe::supervisor_event& ev) {
      std::lock_guard guard{mtx};
      events.push_back(ev);
    };
  }

  bool has(troupe::supervisor_event::kind k, const std::string& text = {}) {
    std::lock_guard guard{mtx};
    for (auto& ev : events)
      if (ev.what == k && ev.reason.find(text) != std::string::npos)
        return true;
    return false;
  }
};

TEST(restart, an_exception_inside_the_manager_restarts_it_with_its_state) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt, {.on_event = log.callback()}};
  auto d = mgr.dict<std::string, int>();
  auto l = mgr.list<int>({1, 2});
  d.set("kept", 1);
  auto first = mgr.state_actor();
  ASSERT_TRUE(first);
  mgr.inject_failure("injected fault");
  // The next calls wait for the restart, then see the state.
  EXPECT_EQ(d.get("kept"), 1);
  l.append(3);
  EXPECT_EQ(l.snapshot(), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(mgr.incarnations(), 2);
  EXPECT_TRUE(
    log.has(troupe::supervisor_event::kind::child_exited, "injected fault"));
  ASSERT_TRUE(eventually(
    [&] { return log.has(troupe::supervisor_event::kind::restarted); }));
  auto second = mgr.state_actor();
  ASSERT_TRUE(second);
  EXPECT_NE(first->pid(), second->pid());
  EXPECT_EQ(first->exitcode(), 1);
}

TEST(restart, a_killed_state_actor_is_restarted_and_proxies_work_again) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt, {.on_event = log.callback()}};
  auto v = mgr.value<int>(5);
  auto first = mgr.state_actor();
  ASSERT_TRUE(first);
  first->kill();
  EXPECT_EQ(v.update([](int x) { return x + 1; }), 6);
  ASSERT_TRUE(eventually([&] { return mgr.incarnations() == 2; }));
  EXPECT_EQ(first->exitcode(), -9);
}

TEST(restart, calls_made_while_it_restarts_wait_and_are_served) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{
    rt,
    {.call_timeout = 10s,
     .backoff
     = troupe::backoff_options{.min = 300ms, .max = 300ms, .jitter = 0},
     .on_event = log.callback()}};
  auto d = mgr.dict<int, int>();
  mgr.inject_failure("down for 300 ms");
  ASSERT_TRUE(eventually([&] { return !mgr.state_actor(); }));
  auto t0 = std::chrono::steady_clock::now();
  d.set(1, 10); // queued while down
  EXPECT_GT(std::chrono::steady_clock::now() - t0, 50ms);
  EXPECT_EQ(d.get(1), 10);
}

TEST(restart,
     while_down_longer_than_the_timeout_calls_throw_manager_unavailable) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{
    rt,
    {.call_timeout = 200ms,
     .backoff = troupe::backoff_options{.min = 2s, .max = 2s, .jitter = 0},
     .on_event = log.callback()}};
  auto d = mgr.dict<int, int>();
  d.set(0, 0);
  mgr.inject_failure("down for 2 s");
  ASSERT_TRUE(eventually([&] { return !mgr.state_actor(); }));
  auto t0 = std::chrono::steady_clock::now();
  try {
    d.set(1, 1);
    FAIL() << "no manager_unavailable";
  } catch (const troupe::manager_unavailable& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("200 ms"), std::string::npos) << what;
    EXPECT_NE(what.find("not applied"), std::string::npos) << what;
  }
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 1500ms);
  // After the restart it works again, and the timed-out call was not
  // applied.
  ASSERT_TRUE(eventually([&] { return mgr.incarnations() == 2; }));
  EXPECT_TRUE(eventually([&] {
    try {
      return !d.contains(1);
    } catch (const troupe::manager_unavailable&) {
      return false;
    }
  }));
  d.set(2, 2);
  EXPECT_EQ(d.keys(), (std::vector<int>{0, 2}));
}

TEST(restart, when_the_supervisor_gives_up_calls_fail_at_once) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt,
                      {.call_timeout = 20s,
                       .restarts = {.intensity = 1, .period = 60s},
                       .on_event = log.callback()}};
  auto d = mgr.dict<int, int>();
  mgr.inject_failure("first");
  d.set(1, 1); // served by the second incarnation
  mgr.inject_failure("second");
  ASSERT_TRUE(eventually([&] {
    return log.has(troupe::supervisor_event::kind::intensity_exceeded);
  }));
  auto t0 = std::chrono::steady_clock::now();
  try {
    static_cast<void>(d.get(1));
    FAIL() << "no manager_unavailable";
  } catch (const troupe::manager_unavailable& e) {
    EXPECT_NE(std::string{e.what()}.find("gave up"), std::string::npos)
      << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_FALSE(mgr.running());
}

// The spelling before `restart_limit` still compiles and sets the limit.
// GCC reports the deprecated fields at the end of the function that names
// them, so the whole test is excused.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
TEST(restart, the_deprecated_restart_intensity_still_sets_the_limit) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt,
                      {.call_timeout = 20s,
                       .restart_intensity = 0,
                       .restart_period = 60s,
                       .on_event = log.callback()}};
  auto d = mgr.dict<int, int>();
  mgr.inject_failure("first");
  ASSERT_TRUE(eventually([&] {
    return log.has(troupe::supervisor_event::kind::intensity_exceeded);
  }));
  EXPECT_THROW(static_cast<void>(d.get(1)), troupe::manager_unavailable);
}
#pragma GCC diagnostic pop

/// Processes update a counter until told to stop, each counting the
/// updates that returned; `crash(k)` runs three times while they run (each
/// after they made progress, and they must make progress after the last).
/// No acknowledged update may be lost: the counter equals the sum.
template <class Crash>
void hammer(troupe::runtime& rt, troupe::manager& mgr, Crash crash) {
  auto d = mgr.dict<std::string, int>();
  troupe::event stop{rt};
  std::vector<troupe::value<long>> counts;
  std::vector<troupe::process> ps;
  for (int i = 0; i < 4; ++i) {
    counts.emplace_back(rt, 0L);
    ps.emplace_back(
      rt,
      [](troupe::managed::dict<std::string, int> dd, troupe::event st,
         troupe::value<long> mine) {
        while (!st.is_set()) {
          dd.update("n", [](int x) { return x + 1; });
          mine.update([](long x) { return x + 1; });
        }
      },
      d, stop, counts.back());
    ps.back().start();
  }
  auto total = [&] {
    long sum = 0;
    for (auto& c : counts)
      sum += c.get();
    return sum;
  };
  for (int k = 0; k <= 3; ++k) {
    auto before = total();
    ASSERT_TRUE(eventually([&] { return total() > before + 1000; }))
      << "no progress before crash " << k;
    if (k < 3)
      crash(k);
  }
  stop.set();
  for (auto& p : ps) {
    ASSERT_TRUE(p.join(deadline));
    EXPECT_EQ(p.exitcode(), 0) << p.exit_reason();
  }
  EXPECT_EQ(d.get("n"), total());
  // A killed actor may still be leaving its loop while callers go on.
  EXPECT_TRUE(eventually([&] { return mgr.incarnations() >= 4; }));
}

TEST(restart, failures_mid_stream_lose_no_acknowledged_update) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt,
                      {.restarts = {.intensity = 100, .period = 10s},
                       .on_event = log.callback()}};
  hammer(rt, mgr, [&](int k) {
    ASSERT_TRUE(eventually([&] { return mgr.incarnations() == k + 1; }));
    mgr.inject_failure("crash " + std::to_string(k));
  });
}

TEST(restart, kills_mid_stream_lose_no_acknowledged_update) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{rt,
                      {.restarts = {.intensity = 100, .period = 10s},
                       .on_event = log.callback()}};
  hammer(rt, mgr, [&](int k) {
    ASSERT_TRUE(eventually([&] { return mgr.incarnations() == k + 1; }));
    std::optional<troupe::process> p;
    ASSERT_TRUE(eventually([&] {
      p = mgr.state_actor();
      return p.has_value();
    }));
    p->kill();
  });
}

TEST(restart, an_actors_call_made_while_it_restarts_is_answered_after) {
  troupe::runtime rt;
  event_log log;
  troupe::manager mgr{
    rt,
    {.call_timeout = 10s,
     .backoff
     = troupe::backoff_options{.min = 200ms, .max = 200ms, .jitter = 0},
     .on_event = log.callback()}};
  auto d = mgr.dict<int, int>();
  d.set(1, 41);
  mgr.inject_failure("down for 200 ms");
  ASSERT_TRUE(eventually([&] { return !mgr.state_actor(); }));
  troupe::queue<int> out{rt};
  static_cast<void>(troupe::spawn(
    rt, [d, out](caf::event_based_actor* self) mutable -> caf::behavior {
      d.async(self)
        .update(1, [](int x) { return x + 1; })
        .then(
          [=](int v) mutable {
            out.put(v);
            self->quit();
          },
          [=](caf::error&) mutable {
            out.put(-1);
            self->quit();
          });
      return {[](int) {}};
    }));
  EXPECT_EQ(out.get(deadline), 42);
  EXPECT_EQ(mgr.incarnations(), 2);
}

} // namespace
