// The supervisor's restart decisions (framework/src/supervision/
// restart_policy.hpp), row by row: which children a strategy stops and
// starts again, and in which order; when the intensity is exceeded; the
// backoff's delays with a fake random source; when significant children
// end a supervisor. Nothing here creates a runtime, starts a thread, reads
// a clock or sleeps: time points are built from offsets.

#include <chrono>
#include <cstddef>
#include <iterator>
#include <list>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/supervisor.hpp>

#include "supervision/restart_policy.hpp"

using namespace std::chrono_literals;

namespace {

using troupe::backoff_options;
using troupe::child_state;
using troupe::restart;
using troupe::strategy;
using troupe::supervisor_options;
using troupe::detail::child_facts;
using troupe::detail::exit_outcome;
using troupe::detail::restart_policy;
using troupe::detail::unit_random;
using time_point = restart_policy::time_point;

/// A fixed origin: the decisions see only differences of time points.
const time_point t0{};

/// A random source that must not be called.
unit_random no_random() {
  return [] {
    ADD_FAILURE() << "the policy drew a random number without backoff";
    return 0.5;
  };
}

/// Joins strings with spaces, for compact expectations.
std::string join(const std::vector<std::string>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += (out.empty() ? "" : " ") + x;
  return out;
}

/// Names a row's test after the row.
struct row_name {
  template <class Row>
  std::string operator()(const testing::TestParamInfo<Row>& p) const {
    return p.param.name;
  }
};

// -- which children, in which order -------------------------------------------

/// A child in a row: running unless said otherwise.
struct kid {
  std::string id;
  restart type = restart::permanent;
  child_state state = child_state::running;
  bool running = true;
  /// Its next start throws.
  bool start_fails = false;
  bool significant = false;
};

kid stopped(std::string id, restart type = restart::permanent) {
  return {std::move(id), type, child_state::stopped, false};
}

struct strategy_row {
  const char* name;
  strategy how;
  std::vector<kid> children; // in start order
  const char* failed;        // its id
  int exitcode;              // how it ended
  exit_outcome outcome;
  const char* stopped;   // stopped by the restart, in order
  const char* forgotten; // bystanders forgotten, in order
  const char* started;   // started again, in order; `x!` a start that threw
};

std::ostream& operator<<(std::ostream& out, const strategy_row& row) {
  return out << row.name;
}

struct plan {
  exit_outcome outcome = exit_outcome::keep;
  std::string stopped;
  std::string forgotten;
  std::string started;
};

/// What a supervisor does with `row`'s children when `row.failed` ends,
/// with the decisions of a restart_policy in the supervisor core's order:
/// the exit decides; the group but the failed child is stopped, bystanders
/// are forgotten, the group is marked restarting; the due children start in
/// order until one throws.
plan run(const strategy_row& row) {
  using list = std::list<kid>;
  restart_policy policy{supervisor_options{.strategy = row.how}, no_random()};
  list kids(row.children.begin(), row.children.end());
  auto failed = kids.begin();
  while (failed != kids.end() && failed->id != row.failed)
    ++failed;
  if (failed == kids.end()) {
    ADD_FAILURE() << "no child " << row.failed;
    return {};
  }
  failed->running = false;
  failed->state = child_state::stopped;
  plan out;
  out.outcome = policy.on_exit(failed->type, row.exitcode);
  if (out.outcome != exit_outcome::restart)
    return out;
  std::vector<std::string> stops;
  std::vector<list::iterator> gone;
  policy.for_each_to_stop(policy.group_of(kids.begin(), kids.end(), failed),
                          failed, [&](list::iterator i) {
                            if (i->running)
                              stops.push_back(i->id);
                            i->running = false;
                            if (restart_policy::forgets_bystander(i->type))
                              gone.push_back(i);
                          });
  std::vector<std::string> forgotten;
  for (auto i : gone) {
    forgotten.push_back(i->id);
    kids.erase(i);
  }
  auto group = policy.group_of(kids.begin(), kids.end(), failed);
  for (auto i = group.first; i != group.last; ++i)
    i->state = child_state::restarting;
  std::vector<std::string> starts;
  auto facts = [](list::iterator i) {
    return child_facts{i->type, i->significant, i->state, i->running};
  };
  restart_policy::for_each_to_start(group.first, group.last, facts,
                                    [&](list::iterator i) {
                                      if (i->start_fails) {
                                        starts.push_back(i->id + "!");
                                        return false;
                                      }
                                      starts.push_back(i->id);
                                      i->running = true;
                                      i->state = child_state::running;
                                      return true;
                                    });
  out.stopped = join(stops);
  out.forgotten = join(forgotten);
  out.started = join(starts);
  return out;
}

class strategy_rows : public testing::TestWithParam<strategy_row> {};

TEST_P(strategy_rows, restart_the_expected_children_in_order) {
  const auto& row = GetParam();
  auto got = run(row);
  EXPECT_EQ(got.outcome, row.outcome);
  EXPECT_EQ(got.stopped, row.stopped);
  EXPECT_EQ(got.forgotten, row.forgotten);
  EXPECT_EQ(got.started, row.started);
}

constexpr auto perm = restart::permanent;
constexpr auto trans = restart::transient;
constexpr auto temp = restart::temporary;

const strategy_row strategy_table[] = {
  // Restart types (OTP's): 0 is a normal end, -15 a shutdown, the rest
  // abnormal (an exception's 1, exit(n), a kill's -9).
  {"permanent_restarts_after_a_normal_end",
   strategy::one_for_one,
   {{"a"}, {"b"}},
   "b",
   0,
   exit_outcome::restart,
   "",
   "",
   "b"},
  {"permanent_restarts_after_a_shutdown",
   strategy::one_for_one,
   {{"a"}, {"b"}},
   "b",
   -15,
   exit_outcome::restart,
   "",
   "",
   "b"},
  {"transient_stays_down_after_a_normal_end",
   strategy::one_for_one,
   {{"a"}, {"b", trans}},
   "b",
   0,
   exit_outcome::keep,
   "",
   "",
   ""},
  {"transient_stays_down_after_a_shutdown",
   strategy::one_for_one,
   {{"a"}, {"b", trans}},
   "b",
   -15,
   exit_outcome::keep,
   "",
   "",
   ""},
  {"transient_restarts_after_an_exception",
   strategy::one_for_one,
   {{"a"}, {"b", trans}},
   "b",
   1,
   exit_outcome::restart,
   "",
   "",
   "b"},
  {"transient_restarts_after_a_kill",
   strategy::one_for_one,
   {{"a"}, {"b", trans}},
   "b",
   -9,
   exit_outcome::restart,
   "",
   "",
   "b"},
  {"temporary_is_forgotten_after_a_failure",
   strategy::one_for_one,
   {{"a"}, {"b", temp}},
   "b",
   1,
   exit_outcome::forget,
   "",
   "",
   ""},
  {"temporary_is_forgotten_after_a_normal_end",
   strategy::one_for_one,
   {{"a"}, {"b", temp}},
   "b",
   0,
   exit_outcome::forget,
   "",
   "",
   ""},
  // one_for_one: the failed child alone.
  {"one_for_one_restarts_only_the_failed_child",
   strategy::one_for_one,
   {{"a"}, {"b"}, {"c"}},
   "b",
   1,
   exit_outcome::restart,
   "",
   "",
   "b"},
  // one_for_all: the others stop in reverse start order, all start in order.
  {"one_for_all_stops_the_others_in_reverse_and_starts_all_in_order",
   strategy::one_for_all,
   {{"a"}, {"b"}, {"c"}, {"d"}},
   "b",
   1,
   exit_outcome::restart,
   "d c a",
   "",
   "a b c d"},
  {"one_for_all_forgets_a_temporary_bystander",
   strategy::one_for_all,
   {{"a"}, {"t", temp}, {"b"}, {"c"}},
   "b",
   1,
   exit_outcome::restart,
   "c t a",
   "t",
   "a b c"},
  {"one_for_all_forgets_a_temporary_first_child",
   strategy::one_for_all,
   {{"t", temp}, {"a"}, {"b"}},
   "b",
   1,
   exit_outcome::restart,
   "a t",
   "t",
   "a b"},
  {"one_for_all_starts_a_stopped_child_with_the_group",
   strategy::one_for_all,
   {{"a"}, stopped("s"), {"b"}},
   "b",
   1,
   exit_outcome::restart,
   "a",
   "",
   "a s b"},
  {"one_for_all_stops_nothing_for_a_transient_normal_end",
   strategy::one_for_all,
   {{"a"}, {"b", trans}, {"c"}},
   "b",
   0,
   exit_outcome::keep,
   "",
   "",
   ""},
  {"one_for_all_stops_at_a_start_that_throws",
   strategy::one_for_all,
   {{"a"}, {"b", perm, child_state::running, true, true}, {"c"}},
   "c",
   1,
   exit_outcome::restart,
   "b a",
   "",
   "a b!"},
  // rest_for_one: the ones after it stop in reverse, then it and they start.
  {"rest_for_one_stops_the_later_children_in_reverse",
   strategy::rest_for_one,
   {{"a"}, {"b"}, {"c"}, {"d"}},
   "b",
   1,
   exit_outcome::restart,
   "d c",
   "",
   "b c d"},
  {"rest_for_one_restarts_the_last_child_alone",
   strategy::rest_for_one,
   {{"a"}, {"b"}, {"c"}},
   "c",
   1,
   exit_outcome::restart,
   "",
   "",
   "c"},
  {"rest_for_one_restarts_everything_when_the_first_fails",
   strategy::rest_for_one,
   {{"a"}, {"b"}, {"c"}},
   "a",
   -9,
   exit_outcome::restart,
   "c b",
   "",
   "a b c"},
  {"rest_for_one_forgets_a_later_temporary_bystander",
   strategy::rest_for_one,
   {{"a"}, {"b"}, {"t", temp}, {"c"}},
   "b",
   1,
   exit_outcome::restart,
   "c t",
   "t",
   "b c"},
  {"rest_for_one_keeps_an_earlier_temporary_running",
   strategy::rest_for_one,
   {{"t", temp}, {"a"}, {"b"}},
   "a",
   1,
   exit_outcome::restart,
   "b",
   "",
   "a b"},
  {"rest_for_one_stops_at_a_start_that_throws",
   strategy::rest_for_one,
   {{"a"}, {"b"}, {"c", perm, child_state::running, true, true}, {"d"}},
   "b",
   1,
   exit_outcome::restart,
   "d c",
   "",
   "b c!"},
  // simple_one_for_one: one for one; a child not restarted is forgotten.
  {"simple_one_for_one_restarts_only_the_failed_child",
   strategy::simple_one_for_one,
   {{"w-1"}, {"w-2"}, {"w-3"}},
   "w-2",
   1,
   exit_outcome::restart,
   "",
   "",
   "w-2"},
  {"simple_one_for_one_forgets_a_transient_that_ended_normally",
   strategy::simple_one_for_one,
   {{"w-1", trans}, {"w-2", trans}},
   "w-1",
   0,
   exit_outcome::forget,
   "",
   "",
   ""},
  {"simple_one_for_one_forgets_a_temporary_that_failed",
   strategy::simple_one_for_one,
   {{"w-1", temp}},
   "w-1",
   1,
   exit_outcome::forget,
   "",
   "",
   ""},
};

INSTANTIATE_TEST_SUITE_P(restart_policy, strategy_rows,
                         testing::ValuesIn(strategy_table), row_name{});

// -- intensity ----------------------------------------------------------------

struct intensity_row {
  const char* name;
  int intensity;
  std::chrono::milliseconds period;
  /// Restarts, as offsets from t0, each admitted or not (the last one
  /// refused, if any: a supervisor gives up there).
  std::vector<std::pair<std::chrono::milliseconds, bool>> restarts;
};

std::ostream& operator<<(std::ostream& out, const intensity_row& row) {
  return out << row.name;
}

class intensity_rows : public testing::TestWithParam<intensity_row> {};

TEST_P(intensity_rows, give_up_exactly_when_one_restart_too_many_falls_in) {
  const auto& row = GetParam();
  restart_policy policy{
    supervisor_options{.restarts
                       = {.intensity = row.intensity, .period = row.period}},
    no_random()};
  for (auto [at, admitted] : row.restarts) {
    SCOPED_TRACE("restart at " + std::to_string(at.count()) + " ms");
    EXPECT_EQ(policy.would_exceed_intensity(t0 + at), !admitted);
    EXPECT_EQ(policy.admit_restart(t0 + at), admitted);
  }
}

const intensity_row intensity_table[] = {
  {"otp_default_allows_one_restart_in_five_seconds",
   1,
   5s,
   {{0ms, true}, {4999ms, false}}},
  {"exactly_intensity_restarts_within_the_period_are_allowed",
   3,
   5s,
   {{0ms, true}, {1s, true}, {2s, true}, {4999ms, false}}},
  {"restarts_at_the_same_instant_count_each",
   2,
   5s,
   {{1s, true}, {1s, true}, {1s, false}}},
  {"a_restart_one_period_ago_no_longer_counts",
   1,
   5s,
   {{0ms, true}, {5s, true}, {9999ms, false}}},
  {"a_restart_just_under_one_period_ago_still_counts",
   1,
   5s,
   {{0ms, true}, {4999ms, false}}},
  {"the_window_slides_with_each_restart",
   2,
   10s,
   {{0ms, true}, {6s, true}, {12s, true}, {13s, false}}},
  {"restarts_spread_wider_than_the_period_never_give_up",
   1,
   1s,
   {{0ms, true}, {1s, true}, {2s, true}, {3s, true}, {10s, true}}},
  {"intensity_zero_gives_up_at_the_first_restart", 0, 5s, {{0ms, false}}},
};

INSTANTIATE_TEST_SUITE_P(restart_policy, intensity_rows,
                         testing::ValuesIn(intensity_table), row_name{});

TEST(restart_policy, asking_whether_a_restart_would_exceed_records_nothing) {
  restart_policy policy{
    supervisor_options{.restarts = {.intensity = 1, .period = 5s}},
    no_random()};
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(policy.would_exceed_intensity(t0));
  EXPECT_TRUE(policy.admit_restart(t0));
  EXPECT_TRUE(policy.would_exceed_intensity(t0 + 1s));
  EXPECT_FALSE(policy.would_exceed_intensity(t0 + 5s));
  EXPECT_TRUE(policy.admit_restart(t0 + 5s));
}

// -- backoff ------------------------------------------------------------------

struct backoff_row {
  const char* name;
  backoff_options options;
  int n;    // the n-th restart in a row
  double u; // the random draw, in [0, 1)
  std::chrono::milliseconds delay;
};

std::ostream& operator<<(std::ostream& out, const backoff_row& row) {
  return out << row.name;
}

class backoff_rows : public testing::TestWithParam<backoff_row> {};

TEST_P(backoff_rows, delay_the_nth_restart_as_expected) {
  const auto& row = GetParam();
  EXPECT_EQ(troupe::detail::backoff_delay(row.options, row.n, row.u),
            row.delay);
}

constexpr backoff_options plain{.min = 100ms, .max = 10s, .jitter = 0.0};
constexpr backoff_options jittery{.min = 100ms, .max = 10s, .jitter = 0.2};

const backoff_row backoff_table[] = {
  {"the_first_restart_waits_min", plain, 1, 0.5, 100ms},
  {"the_second_waits_twice_min", plain, 2, 0.5, 200ms},
  {"the_fifth_waits_sixteen_times_min", plain, 5, 0.5, 1600ms},
  {"the_delay_stops_growing_at_max", plain, 8, 0.5, 10s},
  {"a_child_failing_forever_stays_at_max", plain, 1000, 0.5, 10s},
  {"jitter_at_the_lowest_draw_shortens_by_the_fraction", jittery, 1, 0.0, 80ms},
  {"jitter_at_the_middle_draw_changes_nothing", jittery, 1, 0.5, 100ms},
  {"jitter_at_the_highest_draw_stays_below_the_fraction", jittery, 1, 0.99999,
   119ms},
  {"jitter_applies_to_the_capped_delay", jittery, 20, 0.0, 8s},
  {"full_jitter_can_restart_at_once",
   {.min = 100ms, .jitter = 1.0},
   1,
   0.0,
   0ms},
  {"a_zero_min_restarts_at_once", {.min = 0ms, .max = 1s}, 5, 0.9, 0ms},
};

INSTANTIATE_TEST_SUITE_P(restart_policy, backoff_rows,
                         testing::ValuesIn(backoff_table), row_name{});

/// A random source returning `value`, counting its calls in `calls`.
unit_random fixed_random(double value, int& calls) {
  return [value, &calls] {
    ++calls;
    return value;
  };
}

TEST(restart_policy, backoff_doubles_for_restarts_in_a_row_and_resets) {
  int draws = 0;
  restart_policy policy{
    supervisor_options{.backoff = backoff_options{.min = 100ms,
                                                  .max = 1s,
                                                  .jitter = 0.2,
                                                  .reset_after = 10s}},
    fixed_random(0.5, draws)};
  int consecutive = 0;
  // Each instance fails 1 s after its start: restarts in a row.
  EXPECT_EQ(policy.backoff(consecutive, t0, t0 + 1s), 100ms);
  EXPECT_EQ(policy.backoff(consecutive, t0 + 2s, t0 + 3s), 200ms);
  EXPECT_EQ(policy.backoff(consecutive, t0 + 4s, t0 + 5s), 400ms);
  EXPECT_EQ(policy.backoff(consecutive, t0 + 6s, t0 + 7s), 800ms);
  EXPECT_EQ(policy.backoff(consecutive, t0 + 8s, t0 + 9s), 1s);
  EXPECT_EQ(consecutive, 5);
  // One that ran just under reset_after still counts as in a row.
  EXPECT_EQ(policy.backoff(consecutive, t0 + 10s, t0 + 19999ms), 1s);
  // One that ran for reset_after starts from min again.
  EXPECT_EQ(policy.backoff(consecutive, t0 + 20s, t0 + 30s), 100ms);
  EXPECT_EQ(consecutive, 1);
  EXPECT_EQ(draws, 7);
}

TEST(restart_policy, backoff_draws_its_jitter_from_the_given_source) {
  int draws = 0;
  restart_policy low{
    supervisor_options{.backoff = backoff_options{.min = 1s, .jitter = 0.5}},
    fixed_random(0.0, draws)};
  restart_policy high{
    supervisor_options{.backoff = backoff_options{.min = 1s, .jitter = 0.5}},
    fixed_random(0.75, draws)};
  int n = 0;
  int m = 0;
  EXPECT_EQ(low.backoff(n, t0, t0), 500ms);
  EXPECT_EQ(high.backoff(m, t0, t0), 1250ms);
  EXPECT_EQ(draws, 2);
}

TEST(restart_policy, without_backoff_restarts_at_once_and_counts_nothing) {
  restart_policy policy{supervisor_options{}, no_random()};
  int consecutive = 3;
  EXPECT_EQ(policy.backoff(consecutive, t0, t0 + 1s), 0ms);
  EXPECT_EQ(consecutive, 3);
}

// -- fast restarts and automatic shutdown -------------------------------------

TEST(restart_policy, only_one_for_one_without_backoff_restarts_on_the_spot) {
  auto fast = [](supervisor_options opts) {
    return restart_policy{opts, no_random()}.allows_fast_restarts();
  };
  EXPECT_TRUE(fast({.strategy = strategy::one_for_one}));
  EXPECT_TRUE(fast({.strategy = strategy::simple_one_for_one}));
  EXPECT_FALSE(fast({.strategy = strategy::one_for_all}));
  EXPECT_FALSE(fast({.strategy = strategy::rest_for_one}));
  EXPECT_FALSE(
    fast({.strategy = strategy::one_for_one, .backoff = backoff_options{}}));
}

struct shutdown_row {
  const char* name;
  troupe::auto_shutdown mode;
  strategy how;
  std::vector<child_facts> left; // the children left, in start order
  bool ends;
};

std::ostream& operator<<(std::ostream& out, const shutdown_row& row) {
  return out << row.name;
}

class auto_shutdown_rows : public testing::TestWithParam<shutdown_row> {};

TEST_P(auto_shutdown_rows, end_the_supervisor_when_significant_ones_are_done) {
  const auto& row = GetParam();
  restart_policy policy{
    supervisor_options{.strategy = row.how, .auto_shutdown = row.mode},
    no_random()};
  auto facts = [](std::vector<child_facts>::const_iterator i) { return *i; };
  EXPECT_EQ(policy.ends_supervisor(row.left.begin(), row.left.end(), facts),
            row.ends);
}

constexpr child_facts significant_running{trans, true, child_state::running,
                                          true};
constexpr child_facts significant_restarting{trans, true,
                                             child_state::restarting, false};
constexpr child_facts significant_stopped{trans, true, child_state::stopped,
                                          false};
constexpr child_facts plain_running{perm, false, child_state::running, true};

const shutdown_row shutdown_table[] = {
  {"never_ends_it",
   troupe::auto_shutdown::never,
   strategy::one_for_one,
   {significant_stopped},
   false},
  {"any_significant_ends_it_at_once",
   troupe::auto_shutdown::any_significant,
   strategy::one_for_one,
   {significant_running, plain_running},
   true},
  {"all_significant_waits_for_one_still_running",
   troupe::auto_shutdown::all_significant,
   strategy::one_for_one,
   {significant_stopped, significant_running},
   false},
  {"all_significant_waits_for_one_restarting",
   troupe::auto_shutdown::all_significant,
   strategy::one_for_all,
   {significant_restarting, plain_running},
   false},
  {"all_significant_ends_it_once_the_last_is_done",
   troupe::auto_shutdown::all_significant,
   strategy::one_for_one,
   {significant_stopped, plain_running},
   true},
  {"all_significant_dynamic_waits_while_children_are_left",
   troupe::auto_shutdown::all_significant,
   strategy::simple_one_for_one,
   {significant_running},
   false},
  {"all_significant_dynamic_ends_it_when_none_is_left",
   troupe::auto_shutdown::all_significant,
   strategy::simple_one_for_one,
   {},
   true},
};

INSTANTIATE_TEST_SUITE_P(restart_policy, auto_shutdown_rows,
                         testing::ValuesIn(shutdown_table), row_name{});

} // namespace
