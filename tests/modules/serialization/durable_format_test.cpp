// Recovery's decisions about a journal's bytes, taken from memory: which
// records it keeps, which tail it drops as a torn write, and which damage
// it refuses because the records were acknowledged (the v2 marks).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "durable_format.hpp"

namespace {

using namespace troupe::serialization;
using namespace troupe::serialization::detail;

/// A version 2 journal after snapshot generation 1 ending at record 0:
/// batch a (records 1, 2) with its mark, then batch b (record 3) with its.
struct sample {
  std::string bytes;
  std::size_t end_mark_a = 0; // offset after batch a's mark
  std::size_t end_b = 0;      // offset after batch b, before its mark
};

sample make_sample() {
  sample s;
  s.bytes = journal_header(1, 0);
  encode_batch(s.bytes, 1, {"one", "two"});
  encode_mark(s.bytes, 2, s.bytes.size());
  s.end_mark_a = s.bytes.size();
  encode_batch(s.bytes, 3, {"three"});
  s.end_b = s.bytes.size();
  encode_mark(s.bytes, 3, s.bytes.size());
  return s;
}

struct journal_case {
  const char* name;
  /// Turns the sample into the bytes recovery reads.
  std::string (*damage)(const sample&);
  bool refused; // throws state_file_error
  std::vector<std::string> records;
  bool torn; // a tail was dropped (and described)
  bool unmarked;
};

std::string flip(std::string bytes, std::size_t at) {
  bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
  return bytes;
}

const journal_case journal_cases[] = {
  {"whole",
   [](const sample& s) { return s.bytes; },
   false,
   {"one", "two", "three"},
   false,
   false},
  {"crash before the last mark",
   [](const sample& s) { return s.bytes.substr(0, s.end_b); },
   false,
   {"one", "two", "three"},
   false,
   true},
  {"torn inside the unacknowledged last batch",
   [](const sample& s) { return s.bytes.substr(0, s.end_b - 2); },
   false,
   {"one", "two"},
   true,
   false},
  {"damaged unacknowledged last batch",
   [](const sample& s) {
     return flip(s.bytes.substr(0, s.end_b), s.end_b - 1);
   },
   false,
   {"one", "two"},
   true,
   false},
  {"damaged acknowledged last batch",
   [](const sample& s) { return flip(s.bytes, s.end_b - 1); },
   true,
   {},
   false,
   false},
  {"damaged acknowledged first batch",
   [](const sample& s) { return flip(s.bytes, journal_header_size + 1); },
   true,
   {},
   false,
   false},
  {"torn header",
   [](const sample&) { return journal_header(1, 0).substr(0, 10); },
   true,
   {},
   false,
   false},
  {"empty",
   [](const sample&) { return std::string{}; },
   true,
   {},
   false,
   false},
  {"header alone",
   [](const sample&) { return journal_header(1, 0); },
   false,
   {},
   false,
   false},
};

TEST(
  durable_format,
  recovery_keeps_acknowledged_records_and_drops_only_an_unacknowledged_tail) {
  const auto s = make_sample();
  for (const auto& c : journal_cases) {
    SCOPED_TRACE(c.name);
    auto bytes = c.damage(s);
    if (c.refused) {
      EXPECT_THROW(parse_journal("j", bytes), state_file_error);
      continue;
    }
    auto j = parse_journal("j", bytes);
    EXPECT_EQ(j.version, journal_format_version);
    EXPECT_EQ(j.generation, 1u);
    EXPECT_EQ(j.base, 0u);
    EXPECT_EQ(j.records, c.records);
    EXPECT_EQ(!j.torn.empty(), c.torn) << j.torn;
    EXPECT_EQ(j.unmarked, c.unmarked);
    if (c.torn)
      EXPECT_LT(j.valid_size, bytes.size());
    else
      EXPECT_EQ(j.valid_size, bytes.size());
  }
}

TEST(durable_format, a_state_file_round_trips_and_refuses_any_damaged_byte) {
  const std::string snapshot = "the snapshot";
  auto bytes = state_header(4, 9, snapshot) + snapshot;
  auto snap = parse_state("s", bytes);
  EXPECT_EQ(snap.generation, 4u);
  EXPECT_EQ(snap.last_seq, 9u);
  EXPECT_EQ(snap.bytes, std::optional<std::string>{snapshot});
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    SCOPED_TRACE(at);
    EXPECT_THROW(parse_state("s", flip(bytes, at)), state_file_error);
  }
  EXPECT_THROW(parse_state("s", bytes.substr(0, bytes.size() - 1)),
               state_file_error);
}

} // namespace
