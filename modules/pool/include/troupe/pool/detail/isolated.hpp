#pragma once

// Tasks of a pool whose workers are OS processes (`isolation::os_process`):
// only registered entry points can run there, and a batch of calls (one
// `apply`, one map chunk) crosses as one message each way. Nothing here
// needs troupe::isolate's headers: the entry point's type brings its own
// encoding (`isolate::entry_t<f>::encode_calls`/`decode_results`), named
// only when a task of such a type is instantiated.

#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/pool/detail/pool_core.hpp"

namespace troupe::isolate {
template <auto F>
struct entry_t;
} // namespace troupe::isolate

namespace troupe::pooled::detail {

/// `f(std::get<I>(t)...)` for starmap.
template <class F>
struct star {
  F f;
  template <class Tuple>
  decltype(auto) operator()(const Tuple& t) const {
    return std::apply(f, t);
  }
};

/// Whether (and how) a callable given to a pool can run in a worker's OS
/// process: an entry point, or starmap's unpacking of one.
template <class F>
struct isolated_traits {
  static constexpr bool entry = false;
};

template <auto G>
struct isolated_traits<isolate::entry_t<G>> {
  static constexpr bool entry = true;
  using entry_type = isolate::entry_t<G>;

  /// The parameters of one call `f(xs...)`.
  template <class... Xs>
  static auto params_of(const Xs&... xs) {
    return typename entry_type::params{xs...};
  }
};

template <auto G>
struct isolated_traits<star<isolate::entry_t<G>>> {
  static constexpr bool entry = true;
  using entry_type = isolate::entry_t<G>;

  /// The parameters of one call `f(std::get<I>(t)...)`.
  template <class Tuple>
  static auto params_of(const Tuple& t) {
    return std::apply(
      [](const auto&... xs) { return typename entry_type::params{xs...}; }, t);
  }
};

template <class F>
inline constexpr bool is_entry_call = isolated_traits<F>::entry;

/// `f(first[k])` for k in [0, n), run by the calling worker's OS process
/// as one batch; the results in order. Throws `child_exception` for the
/// first call that threw there, `os_worker_lost` when the OS process ended.
template <class F, class R, class It>
std::vector<R> call_isolated(worker_host& host, It first, std::size_t n) {
  using traits = isolated_traits<F>;
  using entry = typename traits::entry_type;
  std::vector<typename entry::params> calls;
  calls.reserve(n);
  for (std::size_t k = 0; k < n; ++k)
    calls.push_back(traits::params_of(first[static_cast<std::ptrdiff_t>(k)]));
  auto bytes = host.call(entry::name(), entry::encode_calls(calls));
  auto results = entry::decode_results(bytes, n);
  if constexpr (std::is_same_v<decltype(results), std::vector<R>>) {
    return results;
  } else {
    std::vector<R> out;
    out.reserve(results.size());
    for (auto& r : results)
      out.push_back(R(std::move(r)));
    return out;
  }
}

} // namespace troupe::pooled::detail
