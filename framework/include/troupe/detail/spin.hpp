#pragma once

#include "troupe/ext/spin.hpp"

namespace troupe::detail {

using ext::adaptive_spin;
using ext::cpu_relax;
using ext::wait_spin;

} // namespace troupe::detail
