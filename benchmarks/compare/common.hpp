// Shared by the side-by-side workload programs (compare_troupe,
// compare_caf): command line, clock, and the RESULT line that
// benchmarks/compare/run.py reads.
//
// Every program runs ONE workload per invocation and prints exactly one
// line
//
//   RESULT {"workload": ..., "system": ..., "n": ..., "value": ...,
//           "unit": ..., "seconds": ..., "check": ...[, "p99": ...]}
//
// `value` is the figure compared across systems (a rate in ops/s, or a
// latency in us); `check` is a correctness value the driver recomputes
// from the workload's definition (see WORKLOADS in run.py), so a program
// that loses or duplicates messages fails the run instead of looking fast.

#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace compare {

using clock_type = std::chrono::steady_clock;

/// Nanoseconds on the monotonic clock, comparable between threads.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

/// Seconds elapsed since `start`.
inline double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// `--workload NAME --n N`, the only arguments a program takes.
struct options {
  std::string workload;
  std::int64_t n = 0;
};

inline options parse_args(int argc, char** argv) {
  options result;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view key = argv[i];
    if (key == "--workload")
      result.workload = argv[i + 1];
    else if (key == "--n")
      result.n = std::strtoll(argv[i + 1], nullptr, 10);
    else
      throw std::invalid_argument("unknown argument " + std::string{key});
  }
  if (result.workload.empty() || result.n <= 0)
    throw std::invalid_argument("usage: --workload NAME --n N (N > 0)");
  return result;
}

/// What one workload run measured.
struct result {
  double value = 0; // the compared figure
  const char* unit = "ops/s";
  double seconds = 0; // wall time of the measured part
  std::int64_t check = 0;
  double p99 = -1; // latency workloads only
};

/// A throughput result: `ops` operations in `seconds`.
inline result rate(std::int64_t ops, double seconds, std::int64_t check) {
  return {static_cast<double>(ops) / seconds, "ops/s", seconds, check};
}

/// A latency result from per-operation samples in nanoseconds: the median
/// and the 99th percentile, in microseconds.
inline result latency(std::vector<std::int64_t> samples_ns, double seconds,
                      std::int64_t check) {
  std::sort(samples_ns.begin(), samples_ns.end());
  auto at = [&](double q) {
    auto idx = static_cast<std::size_t>(
      std::ceil(q * static_cast<double>(samples_ns.size())));
    idx = std::clamp<std::size_t>(idx, 1, samples_ns.size()) - 1;
    return static_cast<double>(samples_ns[idx]) / 1000.0;
  };
  return {at(0.5), "us", seconds, check, at(0.99)};
}

inline void print_result(const char* system, const options& opts,
                         const result& r) {
  std::printf("RESULT {\"workload\": \"%s\", \"system\": \"%s\", "
              "\"n\": %lld, \"value\": %.6g, \"unit\": \"%s\", "
              "\"seconds\": %.6f, \"check\": %lld",
              opts.workload.c_str(), system, static_cast<long long>(opts.n),
              r.value, r.unit, r.seconds, static_cast<long long>(r.check));
  if (r.p99 >= 0)
    std::printf(", \"p99\": %.6g", r.p99);
  std::printf("}\n");
  std::fflush(stdout);
}

/// The workloads of one program, by name.
using workload_table
  = std::map<std::string, std::function<result(std::int64_t)>>;

/// Parses the command line, runs the workload and prints its RESULT line.
/// Exit status 2 for a usage error or an unknown workload (the driver
/// only asks for workloads it lists for this system).
inline int run_main(const char* system, int argc, char** argv,
                    const workload_table& table) {
  options opts;
  try {
    opts = parse_args(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "compare_%s: %s\n", system, e.what());
    return 2;
  }
  auto i = table.find(opts.workload);
  if (i == table.end()) {
    std::fprintf(stderr, "compare_%s: no workload '%s'\n", system,
                 opts.workload.c_str());
    return 2;
  }
  print_result(system, opts, i->second(opts.n));
  return 0;
}

} // namespace compare
