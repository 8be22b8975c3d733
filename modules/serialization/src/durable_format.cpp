#include "durable_format.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include <boost/crc.hpp>

namespace troupe::serialization::detail {

namespace fs = std::filesystem;

namespace {

// -- on-disk format (little-endian integers) ----------------------------------
//
// State file, version 1:
//   0  char[16] "TROUPE-STATE" + 4 NULs
//  16  u32 format version
//  20  u32 flags (0)
//  24  u64 generation (1 for the first compaction, +1 each)
//  32  u64 sequence number of the last record the snapshot includes
//  40  u64 snapshot length L
//  48  u32 CRC-32 of the snapshot
//  52  u32 CRC-32 of bytes 0..52
//  56  the snapshot, L bytes; the file ends there
//
// Journal, version 2 (version 1 is the same without marks):
//   0  char[16] "TROUPE-JOURNAL" + 2 NULs
//  16  u32 format version
//  20  u32 flags (0)
//  24  u64 generation of the snapshot this journal follows (0: none)
//  32  u64 base: the snapshot's last sequence number
//  40  u32 CRC-32 of bytes 0..40
//  44  u32 0 (checked: outside the checksum)
//  48  entries, each a batch or a mark:
//      batch, one group commit:
//        0  u32 magic "BTCH"
//        4  u32 record count (>= 1)
//        8  u64 sequence number of its first record (the previous + 1)
//       16  u64 payload length P
//       24  u32 CRC-32 of the payload
//       28  u32 CRC-32 of bytes 0..28
//       32  payload: per record, u32 length then the record's bytes
//      acknowledgement mark, written after a batch's sync and before its
//      records are acknowledged:
//        0  u32 magic "ACKD"
//        4  u32 flags (0)
//        8  u64 sequence number of the last record before it
//       16  u64 its own byte offset: everything before it was acknowledged
//       24  u32 0
//       28  u32 CRC-32 of bytes 0..28

constexpr std::uint32_t oldest_journal_version = 1;
constexpr std::size_t magic_size = 16;
constexpr char state_magic[magic_size + 1] = "TROUPE-STATE\0\0\0\0";
constexpr char journal_magic[magic_size + 1] = "TROUPE-JOURNAL\0\0";
constexpr std::size_t batch_header_size = 32;
constexpr std::uint32_t batch_magic = 0x48435442; // "BTCH"
constexpr std::uint32_t mark_magic = 0x444B4341;  // "ACKD"
/// The fewest bytes holding a record: a batch header and one length.
constexpr std::size_t smallest_batch = batch_header_size + 4;

std::uint32_t crc32(const char* data, std::size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

void put_u32(std::string& out, std::uint32_t x) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

void put_u64(std::string& out, std::uint64_t x) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t x = 0;
  for (int i = 3; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

std::uint64_t get_u64(const char* p) {
  std::uint64_t x = 0;
  for (int i = 7; i >= 0; --i)
    x = (x << 8) | static_cast<unsigned char>(p[i]);
  return x;
}

} // namespace

// -- encoding -----------------------------------------------------------------

std::string state_header(std::uint64_t generation, std::uint64_t last_seq,
                         std::string_view snapshot) {
  std::string out{state_magic, magic_size};
  put_u32(out, state_format_version);
  put_u32(out, 0);
  put_u64(out, generation);
  put_u64(out, last_seq);
  put_u64(out, snapshot.size());
  put_u32(out, crc32(snapshot.data(), snapshot.size()));
  put_u32(out, crc32(out.data(), out.size()));
  return out;
}

std::string journal_header(std::uint64_t generation, std::uint64_t base) {
  std::string out{journal_magic, magic_size};
  put_u32(out, journal_format_version);
  put_u32(out, 0);
  put_u64(out, generation);
  put_u64(out, base);
  put_u32(out, crc32(out.data(), out.size()));
  put_u32(out, 0);
  return out;
}

void encode_batch(std::string& out, std::uint64_t first_seq,
                  const std::vector<std::string>& records) {
  auto start = out.size();
  out.resize(start + batch_header_size);
  for (const auto& r : records) {
    put_u32(out, static_cast<std::uint32_t>(r.size()));
    out.append(r);
  }
  auto payload = out.size() - start - batch_header_size;
  std::string header;
  put_u32(header, batch_magic);
  put_u32(header, static_cast<std::uint32_t>(records.size()));
  put_u64(header, first_seq);
  put_u64(header, payload);
  put_u32(header, crc32(out.data() + start + batch_header_size, payload));
  put_u32(header, crc32(header.data(), header.size()));
  std::memcpy(out.data() + start, header.data(), batch_header_size);
}

void encode_mark(std::string& out, std::uint64_t last_seq,
                 std::uint64_t offset) {
  auto start = out.size();
  put_u32(out, mark_magic);
  put_u32(out, 0);
  put_u64(out, last_seq);
  put_u64(out, offset);
  put_u32(out, 0);
  put_u32(out, crc32(out.data() + start, mark_size - 4));
}

// -- errors -------------------------------------------------------------------

void bad_file(const fs::path& file, const char* kind, const std::string& what) {
  throw state_file_error{file.string(),
                         std::string{kind} + " " + file.string() + ": " + what};
}

// -- parsing ------------------------------------------------------------------

namespace {

/// Checks a file's magic, version (between `oldest` and `newest`) and
/// header size; `kind` names it in messages ("state file", "journal").
void check_header(const fs::path& file, const char* kind,
                  std::string_view bytes, const char* magic,
                  std::size_t header_size, std::uint32_t oldest,
                  std::uint32_t newest, const char* foreign) {
  if (bytes.empty())
    bad_file(file, kind, "empty (0 bytes)");
  auto prefix = std::min(bytes.size(), magic_size);
  if (std::memcmp(bytes.data(), magic, prefix) != 0)
    bad_file(file, kind, foreign);
  if (bytes.size() < magic_size + 4)
    bad_file(file, kind,
             "truncated at byte " + std::to_string(bytes.size()) + " of "
               + std::to_string(header_size) + " (inside the header)");
  auto version = get_u32(bytes.data() + magic_size);
  if (version < oldest || version > newest)
    bad_file(file, kind,
             "unsupported format version " + std::to_string(version)
               + " (this build reads version "
               + (oldest == newest
                    ? std::to_string(newest)
                    : std::to_string(oldest) + " to " + std::to_string(newest))
               + "; written by another troupe version, or damaged)");
  if (bytes.size() < header_size)
    bad_file(file, kind,
             "truncated at byte " + std::to_string(bytes.size()) + " of "
               + std::to_string(header_size) + " (inside the header)");
}

} // namespace

snapshot_file parse_state(const fs::path& file, std::string_view bytes) {
  constexpr const char* kind = "state file";
  check_header(file, kind, bytes, state_magic, state_header_size,
               state_format_version, state_format_version,
               "not a troupe state file (bad magic: it does not start with "
               "\"TROUPE-STATE\")");
  const char* p = bytes.data();
  if (get_u32(p + 52) != crc32(p, 52))
    bad_file(file, kind, "header checksum mismatch (the file is damaged)");
  snapshot_file result;
  result.generation = get_u64(p + 24);
  result.last_seq = get_u64(p + 32);
  auto length = get_u64(p + 40);
  if (length > std::numeric_limits<std::uint64_t>::max() - state_header_size)
    bad_file(file, kind,
             "impossible snapshot length " + std::to_string(length));
  auto expected = state_header_size + length;
  if (bytes.size() < expected)
    bad_file(file, kind,
             "truncated at byte " + std::to_string(bytes.size()) + " of "
               + std::to_string(expected));
  if (bytes.size() > expected)
    bad_file(file, kind,
             std::to_string(bytes.size() - expected)
               + " unexpected bytes after the snapshot's end at byte "
               + std::to_string(expected) + " (the file is damaged)");
  if (get_u32(p + 48) != crc32(p + state_header_size, length))
    bad_file(file, kind,
             "checksum mismatch in the snapshot (the file is "
             "damaged)");
  result.bytes.emplace(bytes.substr(state_header_size));
  return result;
}

namespace {

/// Whether a header of `size` bytes with `magic` and a correct checksum
/// (of its first size - 4 bytes, stored in its last 4) starts at `at`.
bool valid_entry(std::string_view bytes, std::size_t at, std::uint32_t magic) {
  if (bytes.size() - at < batch_header_size)
    return false;
  const char* h = bytes.data() + at;
  return get_u32(h) == magic && get_u32(h + 28) == crc32(h, 28);
}

static_assert(mark_size == batch_header_size,
              "valid_entry checks both with one size");

struct later_entry {
  std::size_t at;
  bool mark;
};

/// The first valid batch header or mark (if `marks`) in `bytes[from, end)`.
std::optional<later_entry> entry_after(std::string_view bytes, std::size_t from,
                                       bool marks) {
  for (auto at = from; at + batch_header_size <= bytes.size(); ++at) {
    if (valid_entry(bytes, at, batch_magic))
      return later_entry{at, false};
    if (marks && valid_entry(bytes, at, mark_magic))
      return later_entry{at, true};
  }
  return std::nullopt;
}

/// What the unreadable entry at `at` looked like, for messages.
std::string describe_entry(std::string_view bytes, std::size_t at, bool marks) {
  auto rest = bytes.substr(at);
  auto starts = [&](const char* magic) {
    auto n = std::min<std::size_t>(rest.size(), 4);
    return std::memcmp(rest.data(), magic, n) == 0;
  };
  std::string name
    = marks ? "batch header or acknowledgement mark" : "batch header";
  if (starts("BTCH"))
    name = "batch header";
  else if (marks && starts("ACKD"))
    name = "acknowledgement mark";
  return (rest.size() < batch_header_size ? "incomplete " : "damaged ") + name;
}

} // namespace

journal_file parse_journal(const fs::path& file, std::string_view bytes) {
  constexpr const char* kind = "journal";
  check_header(file, kind, bytes, journal_magic, journal_header_size,
               oldest_journal_version, journal_format_version,
               "not a troupe journal (bad magic: it does not start with "
               "\"TROUPE-JOURNAL\")");
  const char* p = bytes.data();
  // Bytes 44..48 are outside the header's checksum; every version writes
  // zeros there, so any other value is damage.
  if (get_u32(p + 40) != crc32(p, 40) || get_u32(p + 44) != 0)
    bad_file(file, kind, "header checksum mismatch (the file is damaged)");
  journal_file result;
  result.version = get_u32(p + 16);
  result.generation = get_u64(p + 24);
  result.base = get_u64(p + 32);
  const bool marks = result.version >= 2;
  auto next_seq = result.base + 1;
  std::size_t at = journal_header_size;
  // The flusher writes a batch, syncs it, appends a mark saying everything
  // before the mark is acknowledged, and only then acknowledges the batch
  // and writes the next one. So bad bytes followed by a valid mark or batch
  // were synced before: damage to acknowledged (or at least durable) data,
  // an error. Bad bytes running to the end with no mark after them are
  // what a crash during a group commit leaves: dropped, with a warning.
  // Version 1 has no marks, and a bad last batch is ambiguous there.
  auto drop_tail = [&](std::size_t resume_from, const std::string& what) {
    if (auto later = entry_after(bytes, resume_from, marks)) {
      if (later->mark)
        bad_file(file, kind,
                 what + " at byte " + std::to_string(at)
                   + ", before the acknowledgement mark at byte "
                   + std::to_string(later->at)
                   + ": acknowledged records are damaged (the journal is "
                     "damaged in the middle, not torn at its end)");
      bad_file(file, kind,
               what + " at byte " + std::to_string(at)
                 + ", followed by a batch at byte " + std::to_string(later->at)
                 + " (the journal is damaged in the middle, not torn at its "
                   "end)");
    }
    auto dropped = bytes.size() - at;
    auto where = std::to_string(dropped) + " bytes from byte "
                 + std::to_string(at) + ": " + what;
    result.valid_size = at;
    if (dropped < smallest_batch)
      result.torn = "dropped the end of journal " + file.string() + " (" + where
                    + "); too few bytes to hold a record (a torn or damaged "
                      "batch header or acknowledgement mark), so no "
                      "acknowledged record was lost";
    else if (marks)
      result.torn = "dropped a torn write at the end of journal "
                    + file.string() + " (" + where
                    + "); no acknowledgement mark follows it, so the group "
                      "commit that wrote it never completed and its records "
                      "were never acknowledged";
    else
      result.torn = "dropped the end of journal " + file.string() + " (" + where
                    + "); a format version 1 journal has no acknowledgement "
                      "marks, so this is a torn write (a crash during a "
                      "group commit, whose records were never acknowledged) "
                      "or damage to acknowledged records, which are lost";
  };
  while (at < bytes.size()) {
    const char* h = p + at;
    if (marks && valid_entry(bytes, at, mark_magic)) {
      auto seq = get_u64(h + 8);
      auto offset = get_u64(h + 16);
      if (offset != at || seq != next_seq - 1)
        bad_file(file, kind,
                 "the acknowledgement mark at byte " + std::to_string(at)
                   + " claims record " + std::to_string(seq) + " at byte "
                   + std::to_string(offset) + ", but follows record "
                   + std::to_string(next_seq - 1)
                   + " (the journal is damaged)");
      result.unmarked = false;
      at += mark_size;
      continue;
    }
    if (!valid_entry(bytes, at, batch_magic)) {
      drop_tail(at + 1, describe_entry(bytes, at, marks));
      return result;
    }
    auto count = get_u32(h + 4);
    auto first = get_u64(h + 8);
    auto payload = get_u64(h + 16);
    if (payload > bytes.size() - at - batch_header_size) {
      // The header is intact and its batch runs past the end: a write cut
      // short. Whatever follows lies inside its declared payload.
      drop_tail(bytes.size(),
                "a batch declaring " + std::to_string(payload)
                  + " bytes of records, "
                  + std::to_string(bytes.size() - at - batch_header_size)
                  + " are there");
      return result;
    }
    auto end = at + batch_header_size + payload;
    const char* body = h + batch_header_size;
    if (get_u32(h + 24) != crc32(body, payload)) {
      drop_tail(end, "batch checksum mismatch");
      return result;
    }
    if (first != next_seq)
      bad_file(file, kind,
               "records out of sequence at byte " + std::to_string(at)
                 + ": expected sequence number " + std::to_string(next_seq)
                 + ", found " + std::to_string(first));
    if (count == 0 || count > payload / 4)
      bad_file(file, kind,
               "malformed batch at byte " + std::to_string(at) + ": "
                 + std::to_string(count) + " records in "
                 + std::to_string(payload) + " bytes");
    std::size_t off = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (payload - off < 4)
        bad_file(file, kind,
                 "malformed batch at byte " + std::to_string(at) + ": record "
                   + std::to_string(i) + " overruns it");
      auto len = get_u32(body + off);
      off += 4;
      if (len > payload - off)
        bad_file(file, kind,
                 "malformed batch at byte " + std::to_string(at) + ": record "
                   + std::to_string(i) + " overruns it");
      result.records.emplace_back(body + off, len);
      off += len;
    }
    if (off != payload)
      bad_file(file, kind,
               "malformed batch at byte " + std::to_string(at) + ": "
                 + std::to_string(payload - off)
                 + " bytes after its last record");
    next_seq += count;
    result.unmarked = marks;
    at = end;
  }
  result.valid_size = at;
  return result;
}

} // namespace troupe::serialization::detail
