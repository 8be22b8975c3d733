#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "troupe/error.hpp"

namespace troupe {

/// How many restarts a supervisor allows before it gives up: at most
/// `intensity` within any `period` (OTP's `MaxR` in `MaxT`). One more and
/// it stops its children and ends (a supervisor, escalating to its parent),
/// breaks (a pool: `pool_broken`) or becomes unavailable (a manager).
/// The same type in `supervisor_options`, `pool_options` and
/// `manager_options`:
/// `troupe::supervisor sup{rt, {.restarts = {.intensity = 3, .period = 1s}}}`.
struct restart_limit {
  /// Restarts allowed within `period`; 0 gives up at the first failure
  /// that asks for a restart. Must not be negative.
  int intensity = 1;

  /// The sliding window the restarts are counted in. Must be positive.
  std::chrono::milliseconds period{5000};

  /// Throws `value_error` ("<who>: restart intensity must not be negative",
  /// "<who>: restart period must be positive") for a limit that is not one.
  void check(const std::string& who) const {
    if (intensity < 0)
      throw value_error(who + ": restart intensity must not be negative");
    if (period.count() <= 0)
      throw value_error(who + ": restart period must be positive");
  }

  /// This limit with the fields a deprecated spelling gave (the options'
  /// `intensity` and `period` before `restart_limit`) in place of its own.
  [[nodiscard]] restart_limit
  with(const std::optional<int>& given_intensity,
       const std::optional<std::chrono::milliseconds>& given_period) const {
    auto out = *this;
    if (given_intensity)
      out.intensity = *given_intensity;
    if (given_period)
      out.period = *given_period;
    return out;
  }

  friend bool operator==(const restart_limit&, const restart_limit&) = default;
};

} // namespace troupe
