#pragma once

// A supervisor's restart decisions as functions of their inputs: what a
// child's end means (restart types), which children restart with it and in
// which order (strategies), when restarts come too fast (intensity), how
// long a restart waits (backoff) and when significant children end the
// supervisor (auto_shutdown). Time points and random numbers are given by
// the caller: nothing here reads a clock, starts a thread or needs a
// runtime, so tests/framework/restart_policy_test.cpp checks it row by row.
// Reference: OTP's supervisor.erl; troupe's differences are listed in
// docs/supervision.md.

#include <chrono>
#include <cstdint>
#include <deque>
#include <iterator>
#include <optional>

#include "troupe/child_spec.hpp"
#include "troupe/detail/unique_function.hpp"
#include "troupe/supervisor.hpp"

namespace troupe::detail {

/// A child as the restart decisions see it.
struct child_facts {
  troupe::restart restart = troupe::restart::permanent;
  bool significant = false;
  child_state state = child_state::stopped;
  /// Whether an instance of it runs.
  bool running = false;
};

/// What becomes of a child that ended without its supervisor asking.
enum class exit_outcome : std::uint8_t {
  /// It restarts (with the strategy's group).
  restart,
  /// It stays down; its spec is kept (`restart_child` starts it).
  keep,
  /// It stays down and is forgotten (temporary, or a dynamic child).
  forget,
};

/// Uniform numbers in [0, 1), for the backoff's jitter.
using unit_random = unique_function<double()>;

/// OTP's restart intensity: at most `intensity` restarts within any
/// `period`. A restart that makes one more within the period is refused:
/// the supervisor gives up. A restart `period` or longer ago no longer
/// counts.
class restart_window {
public:
  using time_point = std::chrono::steady_clock::time_point;

  restart_window(int intensity, std::chrono::milliseconds period)
    : intensity_(intensity), period_(period) {}

  /// Records a restart at `now`; false if it exceeds the intensity.
  [[nodiscard]] bool admit(time_point now);

  /// Whether a restart at `now` would exceed the intensity; records
  /// nothing, forgets the restarts that have left the period.
  [[nodiscard]] bool would_exceed(time_point now);

private:
  void forget_before(time_point now);

  int intensity_;
  std::chrono::milliseconds period_;
  std::deque<time_point> times_; // oldest first
};

/// The delay of the `n`-th consecutive restart (n >= 1): `min * 2^(n-1)`,
/// at most `max`, times `1 + jitter * (2u - 1)` for `u` in [0, 1) — so
/// within [-jitter, +jitter) of it — and never negative.
[[nodiscard]] std::chrono::milliseconds backoff_delay(const backoff_options& b,
                                                      int n, double u);

/// The decisions of one supervisor, from its options.
///
/// Thread-safety: none; the supervisor calls it from whichever thread runs
/// its commands, one at a time. The window and the random source are state;
/// everything else is a pure function of its arguments.
class restart_policy {
public:
  using time_point = restart_window::time_point;

  /// The children restarting together: [first, last) in start order.
  template <class It>
  struct group {
    It first;
    It last;
  };

  /// `random` is called only with backoff, once per delay.
  restart_policy(const supervisor_options& opts, unit_random random)
    : strategy_(opts.strategy), auto_shutdown_(opts.auto_shutdown),
      backoff_(opts.backoff),
      window_(opts.restarts.intensity, opts.restarts.period),
      random_(std::move(random)) {}

  [[nodiscard]] troupe::strategy strategy() const noexcept {
    return strategy_;
  }

  /// Whether the children form one dynamic set (simple_one_for_one).
  [[nodiscard]] bool is_dynamic() const noexcept {
    return strategy_ == troupe::strategy::simple_one_for_one;
  }

  /// Whether a restart takes other children with it (one_for_all,
  /// rest_for_one).
  [[nodiscard]] bool is_group() const noexcept {
    return strategy_ == troupe::strategy::one_for_all
           || strategy_ == troupe::strategy::rest_for_one;
  }

  /// Whether a child's exit may be handled on the thread reporting it: one
  /// child restarts alone, at once (no backoff to schedule).
  [[nodiscard]] bool allows_fast_restarts() const noexcept {
    return (strategy_ == troupe::strategy::one_for_one || is_dynamic())
           && !backoff_;
  }

  // -- a child's end
  // -----------------------------------------------------------

  /// What becomes of a child of restart type `r` that ended unasked with
  /// `exitcode` (0 a normal end, -15 a shutdown, anything else abnormal):
  /// permanent restarts always, transient after an abnormal end, temporary
  /// never; one not restarted is forgotten if temporary or dynamic.
  [[nodiscard]] exit_outcome on_exit(troupe::restart r, int exitcode) const;

  // -- which children, in which order
  // ------------------------------------------

  /// The children that restart with `failed`: one_for_all all of them,
  /// rest_for_one `failed` and those started after it, one_for_one and
  /// simple_one_for_one `failed` alone. [begin, end) holds the children
  /// in start order.
  template <class It>
  [[nodiscard]] group<It> group_of(It begin, It end, It failed) const {
    switch (strategy_) {
      case troupe::strategy::one_for_all:
        return {begin, end};
      case troupe::strategy::rest_for_one:
        return {failed, end};
      case troupe::strategy::one_for_one:
      case troupe::strategy::simple_one_for_one:
        break;
    }
    return {failed, std::next(failed)};
  }

  /// Calls `stop(i)` for each child `i` of `g` but `failed`, in reverse
  /// start order: the group is stopped before it starts again. `stop` must
  /// not remove children (see `forgets_bystander`).
  template <class It, class Stop>
  static void for_each_to_stop(group<It> g, It failed, Stop&& stop) {
    for (auto i = g.last; i != g.first;) {
      --i;
      if (i != failed)
        stop(i);
    }
  }

  /// Whether a child stopped because a sibling restarts is forgotten
  /// instead of restarted (OTP's `temporary_bystander`): it never
  /// restarts, and its stop counts toward nothing.
  [[nodiscard]] static bool forgets_bystander(troupe::restart r) noexcept {
    return r == troupe::restart::temporary;
  }

  /// Whether a child is due to start in a restart: marked restarting and
  /// not running (one stopped meanwhile by `terminate_child` is not).
  [[nodiscard]] static bool due(const child_facts& c) noexcept {
    return c.state == child_state::restarting && !c.running;
  }

  /// Calls `start(i)` for each child `i` in [first, last) that is due, in
  /// start order, until one returns false (its start failed: the rest
  /// wait for the retry). Returns whether every start succeeded. `facts(i)`
  /// gives a `child_facts`.
  template <class It, class Facts, class Start>
  static bool for_each_to_start(It first, It last, Facts&& facts,
                                Start&& start) {
    for (auto i = first; i != last; ++i)
      if (due(facts(i)) && !start(i))
        return false;
    return true;
  }

  // -- automatic shutdown
  // ------------------------------------------------------

  /// Whether a significant child's end, not followed by a restart, ends
  /// the supervisor (OTP 24's auto_shutdown): any_significant always;
  /// all_significant once no significant child runs or waits to restart
  /// (for a dynamic set: once no child is left). [begin, end) holds the
  /// children left, `facts(i)` gives a `child_facts`.
  template <class It, class Facts>
  [[nodiscard]] bool ends_supervisor(It begin, It end, Facts&& facts) const {
    switch (auto_shutdown_) {
      case troupe::auto_shutdown::never:
        return false;
      case troupe::auto_shutdown::any_significant:
        return true;
      case troupe::auto_shutdown::all_significant:
        break;
    }
    if (is_dynamic())
      return begin == end;
    for (auto i = begin; i != end; ++i) {
      child_facts c = facts(i);
      if (c.significant && (c.running || c.state == child_state::restarting))
        return false;
    }
    return true;
  }

  // -- intensity
  // ---------------------------------------------------------------

  /// Records a restart at `now`; false if it exceeds the intensity (the
  /// supervisor then gives up).
  [[nodiscard]] bool admit_restart(time_point now) {
    return window_.admit(now);
  }

  /// Whether a restart at `now` would exceed the intensity.
  [[nodiscard]] bool would_exceed_intensity(time_point now) {
    return window_.would_exceed(now);
  }

  // -- backoff
  // -----------------------------------------------------------------

  /// The delay before restarting a child whose restarts in a row so far
  /// are `consecutive` and whose last start was at `started_at`, at `now`;
  /// counts this restart in `consecutive`. A child that ran for
  /// `reset_after` starts the count afresh. Without backoff: zero, and
  /// `consecutive` is left alone.
  [[nodiscard]] std::chrono::milliseconds
  backoff(int& consecutive, time_point started_at, time_point now);

private:
  troupe::strategy strategy_;
  troupe::auto_shutdown auto_shutdown_;
  std::optional<backoff_options> backoff_;
  restart_window window_;
  unit_random random_;
};

} // namespace troupe::detail
