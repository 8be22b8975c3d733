#include "corpus.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flagship {

namespace {

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

namespace {

/// Lower-case letter for an ASCII letter, 0 for every other byte.
constexpr std::array<unsigned char, 256> letter_table = [] {
  std::array<unsigned char, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) {
    t[static_cast<std::size_t>(c)] = static_cast<unsigned char>(c);
    t[static_cast<std::size_t>(c - 'a' + 'A')] = static_cast<unsigned char>(c);
  }
  return t;
}();

/// Words of one file, counted in an open-addressing table whose keys point
/// into the file's (lower-cased) buffer. Reused from file to file.
class word_table {
public:
  void add(const char* word, std::uint32_t len, std::uint64_t hash) {
    if ((used_.size() + 1) * 2 > slots_.size())
      grow();
    auto mask = slots_.size() - 1;
    for (auto i = hash & mask;; i = (i + 1) & mask) {
      auto& s = slots_[i];
      if (s.count == 0) {
        s = {hash, word, len, 1};
        used_.push_back(static_cast<std::uint32_t>(i));
        return;
      }
      if (s.hash == hash && s.len == len
          && std::memcmp(s.word, word, len) == 0) {
        ++s.count;
        return;
      }
    }
  }

  /// The words and their counts, in no particular order; empties the
  /// table.
  word_counts take() {
    word_counts out;
    out.reserve(used_.size());
    for (auto i : used_) {
      auto& s = slots_[i];
      out.emplace_back(std::string{s.word, s.len}, s.count);
      s.count = 0;
    }
    used_.clear();
    return out;
  }

  void clear() {
    for (auto i : used_)
      slots_[i].count = 0;
    used_.clear();
  }

private:
  struct slot {
    std::uint64_t hash = 0;
    const char* word = nullptr;
    std::uint32_t len = 0;
    std::int64_t count = 0;
  };

  void grow() {
    std::vector<slot> old(std::max<std::size_t>(1024, slots_.size() * 2));
    old.swap(slots_);
    auto mask = slots_.size() - 1;
    used_.clear();
    for (auto& s : old) {
      if (s.count == 0)
        continue;
      auto i = s.hash & mask;
      while (slots_[i].count != 0)
        i = (i + 1) & mask;
      slots_[i] = s;
      used_.push_back(static_cast<std::uint32_t>(i));
    }
  }

  std::vector<slot> slots_;
  std::vector<std::uint32_t> used_;
};

struct fd_closer {
  int fd;
  ~fd_closer() {
    ::close(fd);
  }
};

std::int64_t ns_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           std::chrono::steady_clock::now() - t)
    .count();
}

} // namespace

file_counts count_words(const char* path) {
  thread_local std::string buf;
  thread_local word_table table;
  file_counts out;
  auto t0 = std::chrono::steady_clock::now();
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw bad_input(unreadable(errno));
  fd_closer close_at_end{fd};
  struct stat sb {};
  if (::fstat(fd, &sb) != 0)
    throw bad_input(unreadable(errno));
  // Read up to the size fstat gave plus one block, then on until EOF: a
  // file that grows while read is still read whole.
  std::size_t size = 0;
  buf.resize(static_cast<std::size_t>(std::max<off_t>(sb.st_size, 0)) + 4096);
  for (;;) {
    if (size == buf.size())
      buf.resize(buf.size() * 2);
    auto n = ::read(fd, buf.data() + size, buf.size() - size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      throw bad_input(unreadable(errno));
    }
    if (n == 0)
      break;
    size += static_cast<std::size_t>(n);
  }
  out.read_ns = ns_since(t0);
  auto t1 = std::chrono::steady_clock::now();
  out.bytes = size;
  if (const void* nul = std::memchr(buf.data(), 0, size))
    throw bad_input("binary file (NUL byte at offset "
                    + std::to_string(static_cast<const char*>(nul) - buf.data())
                    + ")");
  // FNV-1a over the lower-cased letters of each word, lowered in place.
  constexpr std::uint64_t basis = 0xcbf29ce484222325ULL;
  constexpr std::uint64_t prime = 0x100000001b3ULL;
  auto* p = reinterpret_cast<unsigned char*>(buf.data());
  std::size_t start = 0;
  std::uint64_t hash = basis;
  bool in_word = false;
  try {
    for (std::size_t i = 0; i < size; ++i) {
      auto l = letter_table[p[i]];
      if (l != 0) {
        if (!in_word) {
          in_word = true;
          start = i;
          hash = basis;
        }
        p[i] = l;
        hash = (hash ^ l) * prime;
      } else if (in_word) {
        in_word = false;
        table.add(buf.data() + start, static_cast<std::uint32_t>(i - start),
                  hash);
      }
    }
    if (in_word)
      table.add(buf.data() + start, static_cast<std::uint32_t>(size - start),
                hash);
  } catch (...) {
    table.clear();
    throw;
  }
  out.words = table.take();
  for (auto& [w, n] : out.words)
    out.total_words += n;
  out.count_ns = ns_since(t1);
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
