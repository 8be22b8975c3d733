// The pure restart decisions (see restart_policy.hpp).

#include "supervision/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace troupe::detail {

// -- restart_window -----------------------------------------------------------

void restart_window::forget_before(time_point now) {
  while (!times_.empty() && now - times_.front() >= period_)
    times_.pop_front();
}

bool restart_window::admit(time_point now) {
  times_.push_back(now);
  forget_before(now);
  return static_cast<int>(times_.size()) <= intensity_;
}

bool restart_window::would_exceed(time_point now) {
  forget_before(now);
  return static_cast<int>(times_.size()) + 1 > intensity_;
}

// -- backoff ------------------------------------------------------------------

std::chrono::milliseconds backoff_delay(const backoff_options& b, int n,
                                        double u) {
  // 2^30 times any sensible `min` is past any sensible `max`; the cap keeps
  // the power finite for a child that fails forever.
  auto base
    = static_cast<double>(b.min.count()) * std::pow(2.0, std::min(n - 1, 30));
  base = std::min(base, static_cast<double>(b.max.count()));
  auto ms = base * (1.0 + b.jitter * (2.0 * u - 1.0));
  return std::chrono::milliseconds{
    static_cast<std::chrono::milliseconds::rep>(std::max(0.0, ms))};
}

// -- restart_policy -----------------------------------------------------------

exit_outcome restart_policy::on_exit(troupe::restart r, int exitcode) const {
  auto normal = exitcode == 0;
  auto shutdown = exitcode == -15;
  if (r == troupe::restart::permanent
      || (r == troupe::restart::transient && !normal && !shutdown))
    return exit_outcome::restart;
  if (r == troupe::restart::temporary || is_dynamic())
    return exit_outcome::forget;
  return exit_outcome::keep;
}

std::chrono::milliseconds restart_policy::backoff(int& consecutive,
                                                  time_point started_at,
                                                  time_point now) {
  if (!backoff_)
    return std::chrono::milliseconds{0};
  if (now - started_at >= backoff_->reset_after)
    consecutive = 0;
  ++consecutive;
  return backoff_delay(*backoff_, consecutive, random_());
}

} // namespace troupe::detail
