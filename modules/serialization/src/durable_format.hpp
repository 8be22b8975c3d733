#pragma once

// The durable store's on-disk format: the bytes of the state file and the
// journal (headers, batches of records, acknowledgement marks, checksums),
// encoded and parsed from memory. Internal to troupe::serialization; the
// files that hold these bytes are in durable_files.hpp.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <troupe/serialization/error.hpp>

namespace troupe::serialization::detail {

/// The state file's format version (written and read).
constexpr std::uint32_t state_format_version = 1;
/// The journal's format version written: 2 adds acknowledgement marks.
constexpr std::uint32_t journal_format_version = 2;

constexpr std::size_t state_header_size = 56;
constexpr std::size_t journal_header_size = 48;
constexpr std::size_t mark_size = 32;

/// The header of a state file holding `snapshot`.
std::string state_header(std::uint64_t generation, std::uint64_t last_seq,
                         std::string_view snapshot);

/// The header of a journal (current version) following snapshot
/// `generation`, whose last record is `base`.
std::string journal_header(std::uint64_t generation, std::uint64_t base);

/// Appends one batch holding `records` (sequence numbers first_seq, ...).
void encode_batch(std::string& out, std::uint64_t first_seq,
                  const std::vector<std::string>& records);

/// Appends the acknowledgement mark written at byte `offset` of a journal
/// whose records up to `last_seq` were synced: it says the journal's bytes
/// before `offset` were acknowledged.
void encode_mark(std::string& out, std::uint64_t last_seq,
                 std::uint64_t offset);

/// Throws `state_file_error` "<kind> <file>: <what>".
[[noreturn]] void bad_file(const std::filesystem::path& file, const char* kind,
                           const std::string& what);

/// The whole of regular file `file`, or nullopt if it does not exist.
/// Refuses anything else as `check_regular` does, without blocking (it
/// opens with O_NONBLOCK and O_NOFOLLOW), and reads no more than the
/// file's size when opened.
std::optional<std::string> read_regular_file(const std::filesystem::path& file,
                                             const char* kind);

struct snapshot_file {
  std::uint64_t generation = 0;
  std::uint64_t last_seq = 0;
  std::optional<std::string> bytes;
};

/// Checks and decodes a state file's bytes; throws `state_file_error`.
snapshot_file parse_state(const std::filesystem::path& file,
                          std::string_view bytes);

struct journal_file {
  std::uint32_t version = 0;
  std::uint64_t generation = 0;
  std::uint64_t base = 0;
  std::vector<std::string> records; // sequence numbers base + 1, ...
  std::size_t valid_size = 0;       // bytes before a dropped tail
  /// Whether the last kept batch has no acknowledgement mark after it.
  bool unmarked = false;
  std::string torn; // describes a dropped tail, or empty
};

/// Checks and decodes a journal's bytes (version 1 or 2). Damage to
/// acknowledged data throws `state_file_error`; a tail that was never
/// acknowledged is dropped and described in `torn`.
journal_file parse_journal(const std::filesystem::path& file,
                           std::string_view bytes);

} // namespace troupe::serialization::detail
