#pragma once

#include "troupe/ext/unique_function.hpp"

namespace troupe::detail {

/// The framework's own spelling of `ext::unique_function`.
template <class Signature>
using unique_function = ext::unique_function<Signature>;

} // namespace troupe::detail
