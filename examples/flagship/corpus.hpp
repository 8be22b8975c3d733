#pragma once

// The flagship's input and its unit of work, independent of troupe: a
// generator for the embedded sample input and the word counter a worker
// runs on one file.

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace flagship {

/// A file's words and how often each occurs, in no particular order.
using word_counts = std::vector<std::pair<std::string, std::int64_t>>;

/// What counting one file gives.
struct file_counts {
  word_counts words;
  std::int64_t total_words = 0;
  std::uintmax_t bytes = 0;
  std::int64_t read_ns = 0;  ///< time spent opening and reading the file
  std::int64_t count_ns = 0; ///< time spent tokenising and counting

  /// For Boost.Serialization (a worker in another OS process sends it
  /// back); a template, so this header needs no serialization library.
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& words& total_words& bytes& read_ns& count_ns;
  }
};

/// A file that cannot be counted, whatever the number of attempts: the
/// message says why ("binary file (NUL byte at offset 12)", "unreadable:
/// Permission denied").
class bad_input : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Counts the words of `path`: maximal runs of ASCII letters, lowercased;
/// every other byte separates words. Throws `bad_input` for a file that
/// cannot be opened or read, or that contains a NUL byte (binary).
/// Reads the whole file with one buffer per thread and counts into a hash
/// table per thread (no allocation per word), so it runs at a few hundred
/// MB/s per core.
file_counts count_words(const char* path);

/// As above.
inline file_counts count_words(const std::filesystem::path& path) {
  return count_words(path.c_str());
}

/// Writes the embedded sample input into `dir` (created if missing):
/// `files` text files under four sub-folders, drawn from a fixed
/// vocabulary with a Zipf-like law by a generator seeded with `seed`, plus
/// one binary file, so that a run shows how bad input is reported. The
/// same `files` and `seed` give the same bytes. Throws
/// `std::filesystem::filesystem_error` or `std::runtime_error` on I/O
/// errors.
void generate_sample(const std::filesystem::path& dir, int files,
                     std::uint64_t seed);

} // namespace flagship
