#pragma once

// What the parent tells a spawned child before anything else, and how the
// child is marked: the first frame on the control socket (a length, then a
// troupe::serialization record), written before either side hands the
// socket to CAF's BASP.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace troupe::isolate::detail {

/// The environment variable that marks a spawned child:
/// `<control fd>:<parent's OS pid>`.
inline constexpr const char* child_marker = "TROUPE_OS_PROCESS";

/// The descriptor the control socket has in the child.
inline constexpr int child_control_fd = 3;

struct bootstrap {
  std::string entry;
  std::string name;
  std::int64_t limit_address_space = -1; // -1: inherited
  std::int64_t limit_cpu_seconds = -1;
  std::int64_t limit_core_size = -1;
  std::vector<std::string> args;
  std::uint32_t descriptors = 0; // how many came with the frame

  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& entry& name& limit_address_space& limit_cpu_seconds& limit_core_size&
      args& descriptors;
  }
};

/// Writes `b` as one frame to `fd` (blocking), passing `fds` with it
/// (`SCM_RIGHTS`; `b.descriptors` must be their number). False when the
/// peer is gone.
bool write_bootstrap(int fd, const bootstrap& b, std::span<const int> fds);

/// Reads one frame from `fd` (blocking), and the descriptors that came
/// with it into `fds` (close-on-exec). Throws `std::runtime_error` with the
/// reason when the frame is missing, truncated or malformed, or its
/// descriptors are not the number it names.
bootstrap read_bootstrap(int fd, std::vector<int>& fds);

} // namespace troupe::isolate::detail
