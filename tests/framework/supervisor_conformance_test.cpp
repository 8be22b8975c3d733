// Supervision where OTP's supervisor.erl is the reference and troupe used to
// differ (issue 18): restart loops that hold up siblings, group retries,
// terminate_child during a restart loop, dynamic children stopped in
// parallel, small conformance points, significant children with
// auto_shutdown, and synchronous start (await_ready).

#include <any>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;

namespace {

using troupe::child_spec;
using troupe::child_state;
using troupe::restart;
using troupe::strategy;

/// How long a test waits for what must happen soon, before it calls it a
/// failure (what the old code never did: it would wait the full deadline).
constexpr auto soon = std::chrono::milliseconds{5000};

/// A worker that logs "start <id>", then returns when sent 0, throws when
/// sent 1, and logs "stop <id>" when asked to stop.
void worker(troupe::queue<std::string> log, std::string id) {
  log.put("start " + id);
  int cmd = -1;
  try {
    cmd = troupe::this_process::receive<int>();
  } catch (const troupe::terminated&) {
    log.put("stop " + id);
    throw;
  }
  if (cmd == 1)
    throw std::runtime_error("boom");
}

child_spec worker_spec(troupe::queue<std::string> log, std::string id,
                       restart r = restart::permanent) {
  return child_spec{
    .id = id, .start = troupe::start_process(worker, log, id), .restart = r};
}

/// A worker `id` whose start works `good` times, then throws; `starts`
/// counts the attempts.
child_spec flaky_spec(troupe::queue<std::string> log, std::string id,
                      std::shared_ptr<std::atomic<int>> starts, int good = 1) {
  return child_spec{.id = id,
                    .start = [log, id, starts, good](troupe::runtime& r) {
                      if (++*starts > good)
                        throw std::runtime_error(id + " cannot start");
                      troupe::process p{r, {.name = id}, worker, log, id};
                      p.start();
                      return p;
                    }};
}

/// A worker `id` whose starts are counted in `starts`.
child_spec counted_spec(troupe::queue<std::string> log, std::string id,
                        std::shared_ptr<std::atomic<int>> starts) {
  return flaky_spec(std::move(log), std::move(id), std::move(starts),
                    1'000'000);
}

std::string next(troupe::queue<std::string>& log) {
  auto line = log.try_get(deadline);
  return line ? *line : std::string{"<nothing logged within the deadline>"};
}

std::optional<troupe::child_info> info_of(const troupe::supervisor& sup,
                                          const std::string& id) {
  for (auto& c : sup.which_children())
    if (c.id == id)
      return c;
  return std::nullopt;
}

child_state state_of(const troupe::supervisor& sup, const std::string& id) {
  auto c = info_of(sup, id);
  return c ? c->state : child_state::stopped;
}

troupe::process child_of(const troupe::supervisor& sup, const std::string& id) {
  auto c = info_of(sup, id);
  if (!c || !c->handle)
    throw std::runtime_error("no running child " + id);
  return *c->handle;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Retries often but slowly enough that a loop of failed starts is seen.
troupe::supervisor_options looping(strategy s) {
  return {.strategy = s,
          .restarts = {.intensity = 10'000, .period = std::chrono::seconds{60}},
          .backoff
          = troupe::backoff_options{.min = 20ms, .max = 20ms, .jitter = 0.0}};
}

/// The simple_one_for_one template "w": `start_child(n)` runs worker
/// "w<n>"; child 1's start works only the first time.
troupe::child_start flaky_template(troupe::queue<std::string> log,
                                   std::shared_ptr<std::atomic<int>> starts) {
  return troupe::child_start{
    [log, starts](troupe::runtime& r, const std::string& name,
                  const std::any* extra) {
      auto n = std::get<0>(std::any_cast<const std::tuple<int>&>(*extra));
      if (n == 1 && ++*starts > 1)
        throw std::runtime_error("w1 cannot start");
      troupe::process p{
        r, {.name = name}, worker, log, "w" + std::to_string(n)};
      p.start();
      return p;
    },
    troupe::child_type::worker};
}

} // namespace

// -- 1. a failing restart holds up no independent sibling
// ------------------------

TEST(supervisor_conformance,
     one_for_one_a_child_that_cannot_restart_holds_up_no_sibling) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{
    rt,
    looping(strategy::one_for_one),
    {flaky_spec(log, "stuck", starts), worker_spec(log, "other")}};
  auto other = child_of(sup, "other");
  child_of(sup, "stuck").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  other.send(1);
  EXPECT_TRUE(eventually(
    [&] { return state_of(sup, "other") == child_state::running; }, soon))
    << "'other' waits for 'stuck', which cannot start";
  EXPECT_EQ(state_of(sup, "stuck"), child_state::restarting);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST(supervisor_conformance,
     simple_one_for_one_a_child_that_cannot_restart_holds_up_no_sibling) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto opts = looping(strategy::simple_one_for_one);
  troupe::supervisor sup{
    rt, opts, {child_spec{.id = "w", .start = flaky_template(log, starts)}}};
  auto w1 = sup.start_child(1);
  auto w2 = sup.start_child(2);
  w1.send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  w2.send(1);
  EXPECT_TRUE(
    eventually([&] { return sup.count_children().active == 1; }, soon))
    << "w2 waits for w1, which cannot start";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- 2. one_for_all retries a failed group restart as a group restart
// ----------

TEST(supervisor_conformance,
     one_for_all_a_failed_start_restarts_the_whole_group_again) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto a_starts = std::make_shared<std::atomic<int>>(0);
  auto b_starts = std::make_shared<std::atomic<int>>(0);
  auto c_starts = std::make_shared<std::atomic<int>>(0);
  // b starts the first time, fails the second, starts the third.
  auto b = child_spec{
    .id = "b", .start = [log, b_starts](troupe::runtime& r) {
      if (++*b_starts == 2)
        throw std::runtime_error("b cannot start now");
      troupe::process p{r, {.name = "b"}, worker, log, std::string{"b"}};
      p.start();
      return p;
    }};
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::one_for_all, .restarts = {.intensity = 5}},
    {counted_spec(log, "a", a_starts), b, counted_spec(log, "c", c_starts)}};
  auto first_a = child_of(sup, "a");
  first_a.send(1);
  ASSERT_TRUE(eventually(
    [&] { return sup.count_children().active == 3 && b_starts->load() == 3; }));
  // a's instance from the failed attempt was stopped; a and c started again
  // with b: all three were restarted together.
  EXPECT_EQ(a_starts->load(), 3) << "the retry kept a's earlier restart";
  EXPECT_EQ(c_starts->load(), 2);
  EXPECT_EQ(info_of(sup, "a")->restarts, 2);
  EXPECT_EQ(info_of(sup, "b")->restarts, 1);
  EXPECT_EQ(info_of(sup, "c")->restarts, 1);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- 3. terminate_child during a group restart loop
// --------------------------------

TEST(
  supervisor_conformance,
  rest_for_one_terminate_child_in_a_restart_loop_leaves_the_later_children_stopped) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{rt,
                         looping(strategy::rest_for_one),
                         {worker_spec(log, "a"), flaky_spec(log, "b", starts),
                          worker_spec(log, "c")}};
  child_of(sup, "b").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  sup.terminate_child("b");
  EXPECT_EQ(state_of(sup, "a"), child_state::running);
  EXPECT_EQ(state_of(sup, "b"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "c"), child_state::stopped)
    << "c would start without b, which it depends on";
  EXPECT_EQ(sup.count_children().active, 1u);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST(
  supervisor_conformance,
  one_for_all_terminate_child_in_a_restart_loop_leaves_the_later_children_stopped) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{rt,
                         looping(strategy::one_for_all),
                         {worker_spec(log, "a"), flaky_spec(log, "b", starts),
                          worker_spec(log, "c")}};
  child_of(sup, "a").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  sup.terminate_child("b");
  EXPECT_EQ(state_of(sup, "b"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "c"), child_state::stopped)
    << "c would start without b, which it depends on";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- 4. one dynamic child's restart loop can be stopped
// -----------------------------

TEST(supervisor_conformance,
     simple_one_for_one_terminate_child_by_handle_ends_its_restart_loop) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{
    rt,
    looping(strategy::simple_one_for_one),
    {child_spec{.id = "w", .start = flaky_template(log, starts)}}};
  auto w1 = sup.start_child(1);
  w1.send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  ASSERT_NO_THROW(sup.terminate_child(w1));
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 0, .supervisors = 0, .workers = 0}));
  auto seen = starts->load();
  // Queued behind any retry that was already due: none may start it again.
  (void)sup.which_children();
  EXPECT_LE(starts->load(), seen + 1);
  EXPECT_THROW(sup.terminate_child(w1), troupe::supervisor_error);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- 6. dynamic children stop in parallel under one deadline
// ------------------------

TEST(supervisor_conformance,
     simple_one_for_one_children_stop_in_parallel_under_one_grace) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  constexpr int n = 10;
  constexpr auto cleanup = 200ms;
  // Each child needs `cleanup` to stop (a slow flush, say).
  auto slow = [log](int i) mutable {
    log.put("start " + std::to_string(i));
    try {
      (void)troupe::this_process::receive<int>();
    } catch (const troupe::terminated&) {
      std::this_thread::sleep_for(200ms); // its cleanup
      throw;
    }
  };
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "slow",
                .start = troupe::start_process<int>(slow),
                .shutdown = std::chrono::milliseconds{10'000}}}};
  std::vector<troupe::process> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(sup.start_child(i));
  for (int i = 0; i < n; ++i)
    (void)next(log); // all of them run their body
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  auto took = std::chrono::steady_clock::now() - t0;
  for (auto& k : kids)
    EXPECT_EQ(k.exitcode(), -15);
  // One after another: n * cleanup (2 s); in parallel about one cleanup.
  EXPECT_LT(took, n * cleanup / 2)
    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
    << " ms";
}

TEST(supervisor_conformance,
     simple_one_for_one_children_past_the_grace_are_killed_together) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto release = std::make_shared<std::atomic<bool>>(false);
  // Ignores the request to stop until released (a loop without a
  // checkpoint).
  auto stubborn = [log, release](int i) mutable {
    log.put("start " + std::to_string(i));
    while (!release->load())
      std::this_thread::sleep_for(1ms);
  };
  // Stopped one after another they would take n graces (5 s); together,
  // one grace plus scheduling, with room for a sanitizer on a loaded
  // machine.
  constexpr int n = 5;
  constexpr auto grace = 1000ms;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "stubborn",
                .start = troupe::start_process<int>(stubborn),
                .shutdown = grace}}};
  std::vector<troupe::process> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(sup.start_child(i));
  for (int i = 0; i < n; ++i)
    (void)next(log);
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  auto took = std::chrono::steady_clock::now() - t0;
  release->store(true);
  for (auto& k : kids) {
    EXPECT_EQ(k.exitcode(), -9);
    EXPECT_EQ(k.exit_reason(), "killed after a shutdown grace of 1000 ms");
  }
  EXPECT_LT(took, n * grace / 2)
    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
    << " ms";
}

// -- 7. small ones
// ----------------------------------------------------------------

TEST(supervisor_conformance,
     count_children_counts_the_simple_template_as_one_spec) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "w",
                .start = troupe::start_process<std::string>(worker, log)}}};
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 0, .supervisors = 0, .workers = 0}));
  (void)sup.start_child("w1");
  (void)sup.start_child("w2");
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 2, .supervisors = 0, .workers = 2}));
}

TEST(supervisor_conformance, a_negative_shutdown_is_rejected) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto bad = worker_spec(log, "bad");
  bad.shutdown = std::chrono::milliseconds{-10};
  try {
    troupe::supervisor sup{rt, {}, {bad}};
    FAIL() << "a shutdown of -10 ms was accepted";
  } catch (const troupe::value_error& e) {
    EXPECT_TRUE(contains(e.what(), "invalid shutdown of -10 ms")) << e.what();
  }
  troupe::supervisor sup{rt, {}, {}};
  EXPECT_THROW((void)sup.start_child(bad), troupe::value_error);
  EXPECT_EQ(sup.count_children().specs, 0u);
}

TEST(
  supervisor_conformance,
  a_running_temporary_child_s_start_arguments_are_not_kept_by_its_supervisor) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto token = std::make_shared<int>(42);
  std::weak_ptr<int> seen = token;
  // The start reads its argument; the child it starts does not keep it.
  auto start = [log, token](troupe::runtime& r) {
    troupe::process p{
      r, {.name = "job"}, worker, log, "job " + std::to_string(*token)};
    p.start();
    return p;
  };
  troupe::supervisor sup{rt,
                         {},
                         {child_spec{.id = "job",
                                     .start = std::move(start),
                                     .restart = restart::temporary}}};
  ASSERT_EQ(next(log), "start job 42");
  token.reset();
  EXPECT_TRUE(eventually([&] { return seen.expired(); }, soon))
    << "the supervisor keeps a temporary child's start arguments";
  EXPECT_EQ(state_of(sup, "job"), child_state::running);
}

TEST(
  supervisor_conformance,
  a_running_temporary_dynamic_child_s_arguments_are_not_kept_by_its_supervisor) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  troupe::child_start start{
    [log](troupe::runtime& r, const std::string& name, const std::any* extra) {
      auto& args
        = std::any_cast<const std::tuple<std::shared_ptr<int>>&>(*extra);
      troupe::process p{r,
                        {.name = name},
                        worker,
                        log,
                        "job " + std::to_string(*std::get<0>(args))};
      p.start();
      return p;
    },
    troupe::child_type::worker};
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "job", .start = start, .restart = restart::temporary}}};
  auto token = std::make_shared<int>(7);
  std::weak_ptr<int> seen = token;
  auto job = sup.start_child(std::move(token));
  ASSERT_EQ(next(log), "start job 7");
  EXPECT_TRUE(eventually([&] { return seen.expired(); }, soon))
    << "the supervisor keeps a temporary child's start arguments";
  EXPECT_TRUE(job.is_alive());
}

// -- 8. significant children and auto_shutdown
// --------------------------------------

TEST(
  supervisor_conformance,
  any_significant_the_supervisor_ends_normally_when_its_main_worker_is_done) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto main_job = worker_spec(log, "main", restart::transient);
  main_job.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::any_significant},
    {worker_spec(log, "helper"), main_job}};
  auto helper = child_of(sup, "helper");
  child_of(sup, "main").send(0); // returns: done
  ASSERT_TRUE(sup.join(deadline)) << "the supervisor did not end by itself";
  EXPECT_EQ(sup.exitcode(), 0);
  EXPECT_FALSE(helper.is_alive());
  EXPECT_EQ(helper.exitcode(), -15);
}

TEST(supervisor_conformance,
     any_significant_a_transient_main_worker_that_fails_is_restarted_instead) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto main_job = worker_spec(log, "main", restart::transient);
  main_job.significant = true;
  troupe::supervisor sup{
    rt,
    {.restarts = {.intensity = 5},
     .auto_shutdown = troupe::auto_shutdown::any_significant},
    {main_job}};
  auto first = child_of(sup, "main");
  first.send(1); // fails: restarted, not done
  ASSERT_TRUE(eventually([&] {
    auto c = info_of(sup, "main");
    return c && c->handle && !(*c->handle == first);
  }));
  EXPECT_TRUE(sup.is_alive());
  child_of(sup, "main").send(0);
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(sup.exitcode(), 0);
}

TEST(
  supervisor_conformance,
  all_significant_the_supervisor_ends_when_the_last_significant_child_is_done) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto job1 = worker_spec(log, "job1", restart::temporary);
  auto job2 = worker_spec(log, "job2", restart::temporary);
  job1.significant = job2.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::all_significant},
    {worker_spec(log, "helper"), job1, job2}};
  child_of(sup, "job1").send(1); // a temporary one is done however it ends
  ASSERT_TRUE(eventually([&] { return !info_of(sup, "job1"); }));
  EXPECT_TRUE(sup.is_alive());
  EXPECT_EQ(state_of(sup, "helper"), child_state::running);
  child_of(sup, "job2").send(0);
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(sup.exitcode(), 0);
}

TEST(supervisor_conformance,
     terminate_child_of_a_significant_child_does_not_end_it) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto job = worker_spec(log, "job", restart::transient);
  job.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::any_significant},
    {worker_spec(log, "helper"), job}};
  sup.terminate_child("job");
  EXPECT_EQ(state_of(sup, "job"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "helper"), child_state::running);
  EXPECT_TRUE(sup.is_alive());
}

TEST(supervisor_conformance, significant_specs_are_checked_as_otp_does) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  auto permanent = worker_spec(log, "p");
  permanent.significant = true;
  EXPECT_THROW((troupe::supervisor{
                 rt,
                 {.auto_shutdown = troupe::auto_shutdown::any_significant},
                 {permanent}}),
               troupe::value_error);
  auto transient = worker_spec(log, "t", restart::transient);
  transient.significant = true;
  EXPECT_THROW((troupe::supervisor{rt, {}, {transient}}), troupe::value_error);
}

// -- 8. synchronous start
// -------------------------------------------------------------

TEST(supervisor_conformance,
     await_ready_the_next_child_starts_only_once_the_previous_one_is_ready) {
  troupe::runtime rt;
  troupe::queue<std::string> log{rt};
  troupe::event second_started{rt};
  // The first child initialises until the second one runs, or 300 ms: run
  // in order, it reports ready first; run side by side, the second starts
  // first and cuts the first's initialisation short.
  auto first = [log, second_started]() mutable {
    (void)second_started.wait(300ms);
    log.put("first ready");
    troupe::this_process::ready();
    (void)troupe::this_process::receive<int>();
  };
  auto second = [log, second_started]() mutable {
    log.put("second started");
    second_started.set();
    (void)troupe::this_process::receive<int>();
  };
  troupe::supervisor sup{
    rt,
    {},
    {child_spec{.id = "first",
                .start = troupe::start_process(first),
                .await_ready = true},
     child_spec{.id = "second", .start = troupe::start_process(second)}}};
  EXPECT_EQ(next(log), "first ready");
  EXPECT_EQ(next(log), "second started");
}

TEST(supervisor_conformance,
     await_ready_a_child_that_ends_before_it_is_ready_failed_to_start) {
  troupe::runtime rt;
  auto quitter = [] { throw std::runtime_error("no config"); };
  try {
    troupe::supervisor sup{rt,
                           {},
                           {child_spec{.id = "quitter",
                                       .start = troupe::start_process(quitter),
                                       .await_ready = true}}};
    FAIL() << "a child that never became ready counted as started";
  } catch (const troupe::supervisor_error& e) {
    EXPECT_EQ(e.code(), troupe::supervisor_errc::start_failed);
    EXPECT_TRUE(contains(e.what(), "before it signalled ready")) << e.what();
    EXPECT_TRUE(contains(e.what(), "no config")) << e.what();
  }
}

TEST(supervisor_conformance,
     await_ready_start_child_returns_once_the_child_is_ready) {
  troupe::runtime rt;
  auto ready_flag = std::make_shared<std::atomic<bool>>(false);
  auto slow_init = [ready_flag] {
    troupe::this_process::sleep_for(50ms); // its initialisation
    ready_flag->store(true);
    troupe::this_process::ready();
    (void)troupe::this_process::receive<int>();
  };
  troupe::supervisor sup{rt, {}, {}};
  (void)sup.start_child(child_spec{.id = "slow",
                                   .start = troupe::start_process(slow_init),
                                   .await_ready = true});
  EXPECT_TRUE(ready_flag->load());
}
