#include "corpus.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace flagship {

namespace {

struct file_closer {
  void operator()(std::FILE* f) const {
    std::fclose(f);
  }
};

std::string unreadable(int err) {
  return "unreadable: " + std::string{std::strerror(err)};
}

/// splitmix64: a tiny generator whose output is the same on every platform
/// (the standard distributions are not), so a seed names one input.
struct splitmix64 {
  std::uint64_t state;

  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }

  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) {
    return next() % n;
  }
};

// Most frequent first: word i is drawn with weight 1 / (i + 1).
constexpr std::array vocabulary{
  "the",          "of",        "and",      "to",        "a",
  "in",           "process",   "queue",    "is",        "worker",
  "that",         "it",        "for",      "actor",     "lock",
  "with",         "as",        "message",  "on",        "be",
  "supervisor",   "by",        "this",     "pool",      "not",
  "from",         "or",        "restart",  "at",        "which",
  "task",         "an",        "but",      "all",       "channel",
  "mailbox",      "they",      "manager",  "state",     "when",
  "can",          "there",     "each",     "failure",   "its",
  "result",       "one",       "thread",   "timeout",   "never",
  "join",         "event",     "pipe",     "semaphore", "barrier",
  "python",       "terminate", "kill",     "grace",     "owner",
  "daemon",       "child",     "parent",   "tree",      "strategy",
  "intensity",    "backoff",   "journal",  "snapshot",  "durable",
  "bounded",      "capacity",  "producer", "consumer",  "pipeline",
  "backpressure", "credit",    "select",   "value",     "array",
  "shared",       "memory",    "copy",     "move",      "serialize",
  "network",      "node",      "remote",   "crash",     "recover",
  "exception",    "exit",      "code",     "signal",    "checkpoint",
  "sleep",        "wake",      "notify",   "condition", "wait",
  "deadline",     "cancel",    "submit",   "apply",     "map",
  "imap",         "chunk",     "callback", "future",    "promise",
  "scheduler",    "core",      "steal",    "spin",      "latency",
  "throughput",   "benchmark", "ratio",    "erlang",    "akka",
  "otp",          "caf",       "cpp",      "template",  "compile",
  "link",
};

void write_file(const std::filesystem::path& path, std::string_view data) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
}

} // namespace

file_counts count_words(const std::filesystem::path& path) {
  std::unique_ptr<std::FILE, file_closer> f{std::fopen(path.c_str(), "rb")};
  if (!f)
    throw bad_input(unreadable(errno));
  std::unordered_map<std::string, std::int64_t> counts;
  file_counts out;
  std::string word;
  std::array<char, 1 << 16> buf{};
  for (;;) {
    auto n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n == 0) {
      if (std::ferror(f.get()) != 0)
        throw bad_input(unreadable(errno));
      break;
    }
    for (std::size_t i = 0; i < n; ++i) {
      auto c = static_cast<unsigned char>(buf[i]);
      if (c == 0)
        throw bad_input("binary file (NUL byte at offset "
                        + std::to_string(out.bytes + i) + ")");
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        word.push_back(static_cast<char>(c | 0x20U)); // ASCII lower case
      } else if (!word.empty()) {
        ++counts[word];
        word.clear();
      }
    }
    out.bytes += n;
  }
  if (!word.empty())
    ++counts[word];
  out.words.assign(counts.begin(), counts.end());
  std::sort(out.words.begin(), out.words.end());
  for (auto& [w, n] : out.words)
    out.total_words += n;
  return out;
}

void generate_sample(const std::filesystem::path& dir, int files,
                     std::uint64_t seed) {
  namespace fs = std::filesystem;
  splitmix64 rng{seed};
  // Cumulative Zipf weights, scaled to integers so that drawing is exact.
  std::array<std::uint64_t, vocabulary.size()> cumulative{};
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < vocabulary.size(); ++i) {
    sum += 1'000'000 / (i + 1);
    cumulative[i] = sum;
  }
  auto draw = [&]() -> std::string_view {
    auto x = rng.below(sum);
    auto it = std::upper_bound(cumulative.begin(), cumulative.end(), x);
    return vocabulary[static_cast<std::size_t>(it - cumulative.begin())];
  };
  for (int i = 0; i < files; ++i) {
    auto sub = dir / ("part-" + std::to_string(i % 4 + 1));
    fs::create_directories(sub);
    char name[32];
    std::snprintf(name, sizeof name, "text-%04d.txt", i + 1);
    std::string text;
    auto words = 300 + rng.below(1200);
    bool sentence_start = true;
    for (std::uint64_t w = 0; w < words; ++w) {
      std::string word{draw()};
      if (sentence_start)
        word[0] = static_cast<char>(word[0] & ~0x20); // capitalize
      text += word;
      sentence_start = rng.below(12) == 0;
      if (sentence_start)
        text += rng.below(3) == 0 ? ".\n" : ". ";
      else
        text += rng.below(9) == 0 ? ", " : " ";
    }
    text += ".\n";
    write_file(sub / name, text);
  }
  // A file a text pipeline must not count: it is reported, not fatal.
  std::string blob = "\x89PNG\r\n\x1a\n";
  blob.push_back('\0');
  blob += "not text";
  write_file(dir / "logo.png", blob);
}

} // namespace flagship
