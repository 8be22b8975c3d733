#pragma once

// The flagship's command line: what troupe::runtime left in args().

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace flagship {

struct options {
  /// Empty: generate the sample input into a temporary folder.
  std::optional<std::filesystem::path> input{};
  int workers = 4;
  /// Workers as OS processes (`--isolation process`): a crash in one ends
  /// only it. Threads otherwise (the default).
  bool process_workers = false;
  int queue_capacity = 16;
  /// Empty: a state file in a temporary folder, removed at the end.
  std::optional<std::filesystem::path> state{};
  /// Probability in [0, 1] that one attempt of a task fails on purpose.
  double chaos = 0.0;
  std::uint64_t seed = 42;
  /// Files of the generated sample.
  int files = 400;
  int top = 10;
  /// Attempts after the first, for a task whose worker died or that threw
  /// a transient error.
  int retries = 3;
  /// A task running longer is stuck: its worker is terminated.
  std::chrono::milliseconds task_timeout{1000};
  /// Between asking a stuck worker to stop and declaring it killed.
  std::chrono::milliseconds grace{500};
  /// Between two progress lines; none: 100 ms on a terminal (one line
  /// rewritten in place), 1 s otherwise.
  std::optional<std::chrono::milliseconds> progress{};
  /// Write every count and per-file outcome here (tab-separated).
  std::optional<std::filesystem::path> report{};
  /// Only write the sample input here, then exit.
  std::optional<std::filesystem::path> generate{};
  bool help = false;
};

/// A command line that cannot be run; the message says what is wrong.
class usage_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Parses the arguments troupe did not consume (`--name value` or
/// `--name=value`). Throws `usage_error`.
options parse_options(const std::vector<std::string>& args);

/// Whether `argv` asks for help (checked before the runtime reads it: the
/// runtime would print only its own options).
bool wants_help(int argc, char** argv);

/// The `--help` text.
std::string usage(const std::string& program);

} // namespace flagship
