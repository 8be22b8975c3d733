#include "options.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <system_error>

namespace flagship {

namespace {

template <class T>
T parse_number(const std::string& name, const std::string& text, T min, T max) {
  T value{};
  const auto* first = text.data();
  const auto* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc{} || ptr != last || text.empty())
    throw usage_error("option " + name + ": '" + text + "' is not a number");
  if (value < min || value > max)
    throw usage_error("option " + name + ": " + text + " is out of range ["
                      + std::to_string(min) + ", " + std::to_string(max) + "]");
  return value;
}

double parse_rate(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || !std::isfinite(value))
    throw usage_error("option " + name + ": '" + text + "' is not a number");
  if (value < 0.0 || value > 1.0)
    throw usage_error("option " + name + ": " + text
                      + " is not a probability (0 to 1, e.g. 0.05)");
  return value;
}

} // namespace

options parse_options(const std::vector<std::string>& args) {
  options opts;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i];
    std::optional<std::string> inline_value;
    if (name.starts_with("--")) {
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name.resize(eq);
      }
    } else if (!name.starts_with("-") || name.size() != 2) {
      throw usage_error("unexpected argument '" + name
                        + "' (options start with --; see --help)");
    }
    auto value = [&]() -> std::string {
      if (inline_value)
        return *inline_value;
      if (i + 1 >= args.size())
        throw usage_error("option " + name + " needs a value");
      return args[++i];
    };
    auto flag = [&] {
      if (inline_value)
        throw usage_error("option " + name + " takes no value");
    };
    constexpr auto int_max = std::numeric_limits<int>::max();
    if (name == "-i" || name == "--input") {
      opts.input = value();
    } else if (name == "-w" || name == "--workers") {
      opts.workers = parse_number(name, value(), 1, 256);
    } else if (name == "-q" || name == "--queue-capacity") {
      opts.queue_capacity = parse_number(name, value(), 1, 1'000'000);
    } else if (name == "-s" || name == "--state") {
      opts.state = value();
    } else if (name == "--isolation") {
      auto kind = value();
      if (kind != "thread" && kind != "process")
        throw usage_error("option --isolation: '" + kind
                          + "' is not 'thread' or 'process'");
      opts.process_workers = kind == "process";
    } else if (name == "--chaos") {
      opts.chaos = parse_rate(name, value());
    } else if (name == "--seed") {
      opts.seed = parse_number<std::uint64_t>(
        name, value(), 0, std::numeric_limits<std::uint64_t>::max());
    } else if (name == "--files") {
      opts.files = parse_number(name, value(), 1, 1'000'000);
    } else if (name == "--top") {
      opts.top = parse_number(name, value(), 0, int_max);
    } else if (name == "--retries") {
      opts.retries = parse_number(name, value(), 0, 100);
    } else if (name == "--task-timeout") {
      opts.task_timeout
        = std::chrono::milliseconds{parse_number(name, value(), 10, 3'600'000)};
    } else if (name == "--grace") {
      opts.grace
        = std::chrono::milliseconds{parse_number(name, value(), 1, 3'600'000)};
    } else if (name == "--progress") {
      opts.progress
        = std::chrono::milliseconds{parse_number(name, value(), 10, 3'600'000)};
    } else if (name == "--report") {
      opts.report = value();
    } else if (name == "--generate") {
      opts.generate = value();
    } else if (name == "-h" || name == "--help") {
      flag();
      opts.help = true;
    } else {
      throw usage_error("unknown option '" + name + "' (see --help)");
    }
  }
  if (opts.generate && opts.input)
    throw usage_error("--generate writes the sample input; it does not take "
                      "--input");
  return opts;
}

bool wants_help(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--help" || arg == "-h")
      return true;
  }
  return false;
}

std::string usage(const std::string& program) {
  return "usage: " + program + R"( [options]

Counts the words of the text files under a folder with a supervised
pipeline: a reader process walks the folder and streams the files into a
bounded queue, a supervised pool of workers counts them, a durable manager
keeps the results, and a writer reports. Without --input it generates its
own sample (400 files and one binary file) in a temporary folder.

options:
  -i, --input DIR           count the files under DIR (recursively)
  -w, --workers N           worker processes in the pool (default 4)
      --isolation KIND      thread (default): workers are threads;
                            process: each worker is an OS process of its
                            own, so a crash or abort() ends only it
  -q, --queue-capacity N    slots of the bounded queue between the reader
                            and the workers (default 16)
  -s, --state FILE          durable state: every counted file is recorded
                            there; running again with the same FILE skips
                            the files already counted (default: a temporary
                            file, removed at the end)
      --chaos RATE          make each task attempt fail with probability
                            RATE (0 to 1): it throws, exits, is killed, is
                            terminated, or hangs until it is killed after
                            its grace (with --isolation process: it throws,
                            exits, segfaults, aborts or is SIGKILLed); the
                            state manager crashes once
      --retries N           attempts after a failed one (default 3)
      --task-timeout MS     a task running longer is stuck and its worker
                            is terminated (default 1000)
      --grace MS            time a terminated worker gets before it is
                            declared killed (default 500)
      --progress MS         time between progress lines (default: 100 on a
                            terminal, one line rewritten; 1000 otherwise)
      --top N               words to show (default 10)
      --seed N              seed of the sample input and of chaos (default 42)
      --files N             files in the generated sample (default 400)
      --report FILE         write every word count and per-file outcome to
                            FILE (tab-separated)
      --generate DIR        write the sample input into DIR and exit
  -h, --help                this text

Runtime options (--troupe.terminate-grace, --scheduler.max-threads, ...)
are read by troupe::runtime; --help-runtime lists them.

Exit status: 0 when the run completed (files that could not be counted are
reported, not fatal), 1 when it could not run (missing input folder,
unusable state file), 2 for a bad command line.
)";
}

} // namespace flagship
