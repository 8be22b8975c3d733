#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <gtest/gtest.h>

#include <troupe/serialization/durable_store.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace ts = troupe::serialization;
namespace fs = std::filesystem;
using namespace std::string_literals;

namespace {

std::string read_bytes(const fs::path& file) {
  std::string out(fs::file_size(file), '\0');
  std::ifstream in{file, std::ios::binary};
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream out{file, std::ios::binary | std::ios::trunc};
  out << bytes;
}

std::vector<std::string> records(int first, int last) {
  std::vector<std::string> out;
  for (int i = first; i <= last; ++i)
    out.push_back("record-" + std::to_string(i));
  return out;
}

std::string le32(std::uint32_t x) {
  std::string out;
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((x >> (8 * i)) & 0xFF));
  return out;
}

std::string le64(std::uint64_t x) {
  return le32(static_cast<std::uint32_t>(x))
         + le32(static_cast<std::uint32_t>(x >> 32));
}

std::uint32_t crc32(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

/// A journal in format version 1 (as troupe wrote it before acknowledgement
/// marks), following no snapshot, holding `batches`; written here byte by
/// byte from the format's description so the test does not depend on the
/// code it checks.
std::string
version_1_journal(const std::vector<std::vector<std::string>>& batches) {
  std::string out{"TROUPE-JOURNAL\0\0", 16};
  out += le32(1) + le32(0) + le64(0) + le64(0);
  out += le32(crc32(out)) + le32(0);
  std::uint64_t seq = 1;
  for (const auto& batch : batches) {
    std::string payload;
    for (const auto& r : batch)
      payload += le32(static_cast<std::uint32_t>(r.size())) + r;
    auto header = le32(0x48435442)
                  + le32(static_cast<std::uint32_t>(batch.size())) + le64(seq)
                  + le64(payload.size()) + le32(crc32(payload));
    header += le32(crc32(header));
    out += header + payload;
    seq += batch.size();
  }
  return out;
}

/// The files (and lock) of other stores are other tests' business: every
/// test gets a fresh directory, removed afterwards.
class durable_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = fs::temp_directory_path()
           / ("troupe-durable-store-" + std::to_string(::getpid()) + "-"
              + std::to_string(rd()));
    fs::create_directories(dir_);
    state_ = dir_ / "state";
    journal_ = dir_ / "state.journal";
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ts::store_options options(ts::on_corrupt corrupt = ts::on_corrupt::refuse) {
    return {.path = state_, .corrupt = corrupt};
  }

  std::unique_ptr<ts::durable_store> open(ts::on_corrupt corrupt
                                          = ts::on_corrupt::refuse) {
    return std::make_unique<ts::durable_store>(options(corrupt), nullptr);
  }

  /// Opens, appends `rs` one flush each (one batch each), closes.
  void write_batches(const std::vector<std::string>& rs) {
    auto store = open();
    for (const auto& r : rs) {
      store->append(r);
      store->flush();
    }
  }

  /// The message of the state_file_error opening throws (refuse).
  std::string refusal() {
    try {
      open();
    } catch (const ts::state_file_error& e) {
      return e.what();
    }
    ADD_FAILURE() << "opening did not throw state_file_error";
    return {};
  }

  /// Opens a store on another thread and returns the message of the
  /// state_file_error it throws ("" if it opened). If it has not returned
  /// by the deadline the test fails: a wait on `fifo` is released by
  /// opening and closing its write end; anything else ends the binary
  /// rather than hang it.
  std::string open_error_in_time(ts::on_corrupt corrupt,
                                 const fs::path& fifo = {}) {
    std::promise<std::string> done;
    auto result = done.get_future();
    std::thread opener{[&] {
      try {
        ts::durable_store store{options(corrupt), nullptr};
        done.set_value("");
      } catch (const ts::state_file_error& e) {
        done.set_value(e.what());
      } catch (const std::exception& e) {
        done.set_value(std::string{"not a state_file_error: "} + e.what());
      }
    }};
    if (result.wait_for(std::chrono::seconds{10})
        != std::future_status::ready) {
      ADD_FAILURE() << "opening the store did not return within 10 s";
      int fd = fifo.empty() ? -1 : ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
      if (fd < 0) {
        std::fputs("durable_store_test: opening the store hangs\n", stderr);
        std::_Exit(1);
      }
      ::close(fd);
    }
    opener.join();
    return result.get();
  }

  /// Files in the directory whose names contain ".corrupt-".
  std::vector<fs::path> set_aside() {
    std::vector<fs::path> out;
    for (const auto& entry : fs::directory_iterator{dir_})
      if (entry.path().filename().string().find(".corrupt-")
          != std::string::npos)
        out.push_back(entry.path());
    return out;
  }

  /// Damages the state file with `damage`, then checks that refuse throws
  /// naming the file and `problem` and changes nothing, and that
  /// start_empty sets the file aside unchanged, names it and starts empty.
  template <class Damage>
  void expect_bad_state_file(Damage damage, const std::string& problem) {
    {
      auto store = open();
      for (const auto& r : records(1, 3))
        store->append(r);
      store->compact("snapshot-3");
      store->append("record-4");
    }
    auto bytes = read_bytes(state_);
    damage(bytes);
    write_bytes(state_, bytes);
    auto what = refusal();
    EXPECT_NE(what.find(state_.string()), std::string::npos) << what;
    EXPECT_NE(what.find(problem), std::string::npos) << what;
    EXPECT_EQ(read_bytes(state_), bytes) << "refuse changed the file";
    auto store = open(ts::on_corrupt::start_empty);
    auto rec = store->recover();
    EXPECT_FALSE(rec.snapshot);
    EXPECT_TRUE(rec.journal.empty());
    EXPECT_NE(rec.warning.find(problem), std::string::npos) << rec.warning;
    auto aside = set_aside();
    ASSERT_EQ(aside.size(), 2u); // the state file and its journal
    for (const auto& file : aside)
      EXPECT_NE(rec.warning.find(file.string()), std::string::npos)
        << rec.warning;
    auto moved_state
      = aside[0].filename().string().find("journal") == std::string::npos
          ? aside[0]
          : aside[1];
    EXPECT_EQ(read_bytes(moved_state), bytes);
    EXPECT_FALSE(fs::exists(state_));
    EXPECT_EQ(store->append("fresh"), 1u);
  }

  fs::path dir_;
  fs::path state_;
  fs::path journal_;
};

// docs/serialization.md quotes this function.
using kv = std::map<std::string, std::string>;

/// Opens the store at `path`, rebuilds the state from it, sets `key` to
/// `value` durably and returns the state.
kv open_and_set(const fs::path& path, const std::string& key,
                const std::string& value) {
  namespace ts = troupe::serialization;
  ts::durable_store store{{.path = path, .compact_after = 2},
                          [](std::uint64_t /* seq */) {
                            // Records up to seq are durable: acknowledge.
                          }};
  kv state;
  auto rec = store.recover();
  if (rec.snapshot)
    state = ts::from_bytes<kv>(*rec.snapshot);
  for (const auto& record : rec.journal) {
    auto [k, v] = ts::from_bytes<std::pair<std::string, std::string>>(record);
    state[k] = v;
  }
  state[key] = value;
  store.append(ts::to_bytes(std::pair{key, value}));
  if (store.needs_compaction())
    store.compact(ts::to_bytes(state));
  return state;
} // the destructor flushes

} // namespace

TEST_F(durable_store_test, docs_example_rebuilds_the_state_across_opens) {
  EXPECT_EQ(open_and_set(state_, "a", "1"), (kv{{"a", "1"}}));
  EXPECT_EQ(open_and_set(state_, "b", "2"), (kv{{"a", "1"}, {"b", "2"}}));
  EXPECT_TRUE(fs::exists(state_)) << "two records: compacted";
  EXPECT_EQ(open_and_set(state_, "a", "3"), (kv{{"a", "3"}, {"b", "2"}}));
  auto rec = open()->recover();
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(rec.journal.size(), 1u);
}

TEST_F(durable_store_test, a_new_store_recovers_nothing) {
  auto store = open();
  auto rec = store->recover();
  EXPECT_FALSE(rec.snapshot);
  EXPECT_TRUE(rec.journal.empty());
  EXPECT_TRUE(rec.warning.empty());
  EXPECT_EQ(store->path(), state_);
  EXPECT_TRUE(fs::exists(journal_));
  EXPECT_EQ(store->last_seq(), 0u);
}

TEST_F(durable_store_test,
       append_numbers_records_and_flush_makes_them_durable) {
  std::atomic<std::uint64_t> reported{0};
  std::atomic<bool> other_thread{false};
  auto caller = std::this_thread::get_id();
  ts::durable_store store{options(), [&](std::uint64_t seq) {
                            EXPECT_GT(seq, reported.load());
                            // Before `reported`, which the test waits for.
                            other_thread = std::this_thread::get_id() != caller;
                            reported = seq;
                          }};
  EXPECT_EQ(store.append("a"), 1u);
  EXPECT_EQ(store.append("b"), 2u);
  EXPECT_EQ(store.append("c"), 3u);
  store.flush();
  EXPECT_EQ(store.durable_seq(), 3u);
  // flush() waits for durability, not for the callback.
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (reported < 3 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(reported, 3u);
  EXPECT_TRUE(other_thread);
}

TEST_F(durable_store_test, a_timed_flush_reports_durability) {
  auto store = open();
  EXPECT_TRUE(store->flush(std::chrono::seconds{0})) << "nothing appended";
  store->append("a");
  EXPECT_TRUE(store->flush(std::chrono::seconds{20}));
  EXPECT_EQ(store->durable_seq(), 1u);
  EXPECT_THROW(static_cast<void>(store->flush(std::chrono::seconds{-1})),
               troupe::value_error);
}

TEST_F(durable_store_test, reopening_recovers_the_records_in_order) {
  write_batches(records(1, 5));
  auto store = open();
  auto rec = store->recover();
  EXPECT_FALSE(rec.snapshot);
  EXPECT_EQ(rec.journal, records(1, 5));
  EXPECT_TRUE(rec.warning.empty()) << rec.warning;
}

TEST_F(durable_store_test, the_destructor_makes_appended_records_durable) {
  {
    auto store = open();
    for (const auto& r : records(1, 100))
      store->append(r);
  }
  EXPECT_EQ(open()->recover().journal, records(1, 100));
}

TEST_F(durable_store_test, sequence_numbers_continue_after_a_reopen) {
  write_batches(records(1, 3));
  auto store = open();
  EXPECT_EQ(store->last_seq(), 3u);
  EXPECT_EQ(store->durable_seq(), 3u);
  EXPECT_EQ(store->append("record-4"), 4u);
}

TEST_F(durable_store_test, records_of_any_bytes_and_sizes_survive) {
  std::vector<std::string> rs{""s, "\0\0\0"s, std::string(1 << 20, 'x'),
                              "TROUPE-JOURNAL"s, "BTCH"s};
  write_batches(rs);
  EXPECT_EQ(open()->recover().journal, rs);
}

TEST_F(durable_store_test, compaction_replaces_the_journal_with_a_snapshot) {
  {
    auto store = open();
    for (const auto& r : records(1, 5))
      store->append(r);
    store->compact("snapshot-5");
    EXPECT_EQ(store->durable_seq(), 5u) << "the snapshot made them durable";
    EXPECT_EQ(store->append("record-6"), 6u);
    EXPECT_EQ(store->append("record-7"), 7u);
    EXPECT_EQ(store->stats().compactions, 1u);
  }
  auto store = open();
  auto rec = store->recover();
  ASSERT_TRUE(rec.snapshot);
  EXPECT_EQ(*rec.snapshot, "snapshot-5");
  EXPECT_EQ(rec.journal, records(6, 7));
  EXPECT_EQ(store->append("record-8"), 8u);
  store->compact("snapshot-8");
  store->compact("snapshot-8 again");
  store.reset();
  rec = open()->recover();
  EXPECT_EQ(*rec.snapshot, "snapshot-8 again");
  EXPECT_TRUE(rec.journal.empty());
  EXPECT_FALSE(fs::exists(dir_ / "state.tmp"));
  EXPECT_FALSE(fs::exists(dir_ / "state.journal.tmp"));
}

TEST_F(durable_store_test, compaction_keeps_records_appended_while_it_runs) {
  std::vector<std::uint64_t> seqs;
  {
    auto store = open();
    for (const auto& r : records(1, 1000))
      store->append(r);
    std::atomic<bool> go{false};
    std::thread appender{[&] {
      go = true;
      for (const auto& r : records(1001, 3000))
        seqs.push_back(store->append(r));
    }};
    while (!go)
      std::this_thread::yield();
    store->compact(std::string(1 << 20, 's')); // the state up to record 1000+
    appender.join();
  }
  auto rec = open()->recover();
  ASSERT_TRUE(rec.snapshot);
  // The snapshot stands for every record appended before compact() began;
  // whatever came after is in the journal, nothing twice, nothing lost.
  ASSERT_EQ(seqs.size(), 2000u);
  auto in_snapshot = 3000 - rec.journal.size();
  EXPECT_GE(in_snapshot, 1000u);
  EXPECT_EQ(rec.journal, records(static_cast<int>(in_snapshot) + 1, 3000));
}

TEST_F(durable_store_test, needs_compaction_after_compact_after_records) {
  auto opts = options();
  opts.compact_after = 3;
  {
    ts::durable_store store{opts, nullptr};
    store.append("1");
    store.append("2");
    EXPECT_FALSE(store.needs_compaction());
    store.append("3");
    EXPECT_TRUE(store.needs_compaction());
  }
  ts::durable_store store{opts, nullptr};
  EXPECT_TRUE(store.needs_compaction()) << "recovered records count";
  store.compact("state");
  EXPECT_FALSE(store.needs_compaction());
}

TEST_F(durable_store_test, a_torn_last_batch_is_dropped_and_the_rest_kept) {
  write_batches(records(1, 4));
  auto bytes = read_bytes(journal_);
  // Mid-way through record 4, before its acknowledgement mark (32 bytes).
  fs::resize_file(journal_, bytes.size() - 32 - 3);
  {
    auto store = open();
    auto rec = store->recover();
    EXPECT_EQ(rec.journal, records(1, 3));
    EXPECT_NE(rec.warning.find("torn write"), std::string::npos) << rec.warning;
    EXPECT_NE(rec.warning.find(journal_.string()), std::string::npos);
    EXPECT_EQ(store->append("record-4 again"), 4u);
  }
  // The torn bytes were cut off: later batches do not follow damage.
  auto rec = open()->recover();
  EXPECT_TRUE(rec.warning.empty()) << rec.warning;
  auto expected = records(1, 3);
  expected.push_back("record-4 again");
  EXPECT_EQ(rec.journal, expected);
}

TEST_F(durable_store_test, a_torn_batch_header_is_dropped) {
  write_batches(records(1, 2));
  auto size = read_bytes(journal_).size();
  {
    std::ofstream out{journal_, std::ios::binary | std::ios::app};
    out << "BTC"; // the start of a batch header
  }
  ASSERT_EQ(read_bytes(journal_).size(), size + 3);
  auto rec = open()->recover();
  EXPECT_EQ(rec.journal, records(1, 2));
  EXPECT_NE(rec.warning.find("incomplete batch header"), std::string::npos)
    << rec.warning;
}

TEST_F(durable_store_test, zeros_after_the_last_batch_are_a_torn_write) {
  write_batches(records(1, 2));
  {
    std::ofstream out{journal_, std::ios::binary | std::ios::app};
    out << std::string(4096, '\0'); // the file grew, the data never came
  }
  auto rec = open()->recover();
  EXPECT_EQ(rec.journal, records(1, 2));
  EXPECT_NE(rec.warning.find("torn write"), std::string::npos) << rec.warning;
}

TEST_F(durable_store_test,
       a_damaged_complete_last_batch_is_corruption_not_a_torn_write) {
  write_batches(records(1, 3));
  auto bytes = read_bytes(journal_);
  auto at = bytes.find("record-3");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 2] ^= 0x20; // media damage after its acknowledgement
  write_bytes(journal_, bytes);
  auto what = refusal();
  EXPECT_NE(what.find(journal_.string()), std::string::npos) << what;
  EXPECT_NE(what.find("batch checksum mismatch"), std::string::npos) << what;
  EXPECT_NE(what.find("acknowledged records are damaged"), std::string::npos)
    << what;
  EXPECT_EQ(read_bytes(journal_), bytes) << "refuse changed the file";
  auto store = open(ts::on_corrupt::start_empty);
  auto rec = store->recover();
  EXPECT_TRUE(rec.journal.empty());
  EXPECT_NE(rec.warning.find("acknowledged records are damaged"),
            std::string::npos)
    << rec.warning;
  ASSERT_EQ(set_aside().size(), 1u); // there was no state file
  EXPECT_EQ(read_bytes(set_aside()[0]), bytes);
}

TEST_F(durable_store_test,
       a_bit_flip_anywhere_in_acknowledged_records_is_detected_as_corruption) {
  {
    auto store = open();
    int next = 1;
    for (int size : {1, 3, 2, 1}) { // four acknowledged batches
      for (int i = 0; i < size; ++i, ++next)
        store->append("record-" + std::to_string(next));
      store->flush();
    }
  }
  const auto good = read_bytes(journal_);
  const auto all = records(1, 7);
  // Every byte but the last acknowledgement mark's belongs to a header, a
  // record or a mark that other marks vouch for.
  const auto last_mark = good.size() - 32;
  std::mt19937 rng{20261205};
  std::size_t detected = 0;
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    auto bytes = good;
    bytes[pos] ^= static_cast<char>(1 << (rng() % 8));
    write_bytes(journal_, bytes);
    try {
      auto rec = open()->recover();
      EXPECT_GE(pos, last_mark)
        << "a bit flip at byte " << pos
        << " was taken for a torn write: " << rec.warning;
      EXPECT_EQ(rec.journal, all) << "byte " << pos;
      EXPECT_NE(rec.warning.find("no acknowledged record was lost"),
                std::string::npos)
        << "byte " << pos << ": " << rec.warning;
    } catch (const ts::state_file_error& e) {
      ++detected;
      std::string what = e.what();
      EXPECT_LT(pos, last_mark) << what;
      EXPECT_NE(what.find(journal_.string()), std::string::npos) << what;
    }
  }
  EXPECT_EQ(detected, last_mark);
}

TEST_F(durable_store_test,
       a_torn_last_batch_cut_at_any_offset_is_dropped_as_never_acknowledged) {
  write_batches(records(1, 2));
  const auto before = read_bytes(journal_).size(); // ends with a mark
  write_batches({"record-3-of-some-length"});
  const auto good = read_bytes(journal_);
  const auto mark = good.size() - 32; // record 3's acknowledgement mark
  auto expected = records(1, 2);
  for (auto cut = before; cut < good.size(); ++cut) {
    write_bytes(journal_, good.substr(0, cut));
    std::vector<std::string> journal;
    std::string warning;
    {
      auto store = open();
      journal = store->recover().journal;
      warning = store->recover().warning;
    }
    if (cut < mark) {
      // Record 3's group commit never completed: it was never acknowledged.
      EXPECT_EQ(journal, records(1, 2)) << "cut at " << cut;
    } else {
      // Synced whole; only its mark is missing or cut short.
      EXPECT_EQ(journal, (std::vector<std::string>{"record-1", "record-2",
                                                   "record-3-of-some-length"}))
        << "cut at " << cut;
    }
    if (cut == before || cut == mark) {
      EXPECT_TRUE(warning.empty()) << "cut at " << cut << ": " << warning;
    } else {
      EXPECT_NE(warning.find("dropped"), std::string::npos) << warning;
      EXPECT_NE(warning.find(journal_.string()), std::string::npos) << warning;
      EXPECT_NE(warning.find("bytes from byte "
                             + std::to_string(cut < mark ? before : mark)),
                std::string::npos)
        << "cut at " << cut << ": " << warning;
      if (cut - (cut < mark ? before : mark) < 36)
        EXPECT_NE(warning.find("no acknowledged record was lost"),
                  std::string::npos)
          << "cut at " << cut << ": " << warning;
      else
        EXPECT_NE(warning.find("its records were never acknowledged"),
                  std::string::npos)
          << "cut at " << cut << ": " << warning;
    }
    // The tail was cut off and what was kept is vouched for now: reopening
    // warns no more, and damage to it would be corruption.
    auto rec = open()->recover();
    EXPECT_TRUE(rec.warning.empty()) << "cut at " << cut << ": " << rec.warning;
    EXPECT_EQ(rec.journal, journal) << "cut at " << cut;
  }
}

TEST_F(durable_store_test, an_acknowledgement_mark_is_in_the_file_at_once) {
  // What a crash of the process right after an acknowledgement leaves: the
  // journal as the page cache holds it while the store is still open.
  std::string bytes;
  {
    auto store = open();
    auto opened = store->stats();
    store->append("record-1");
    store->flush();
    store->append("record-2");
    store->flush();
    bytes = read_bytes(journal_);
    auto stats = store->stats();
    EXPECT_EQ(stats.batches - opened.batches, 2u);
    EXPECT_EQ(stats.syncs - opened.syncs, 2u) << "one sync per group commit";
  }
  auto at = bytes.find("record-2");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x01;
  write_bytes(journal_, bytes);
  auto what = refusal();
  EXPECT_NE(what.find("acknowledged records are damaged"), std::string::npos)
    << what;
}

TEST_F(durable_store_test,
       a_version_1_journal_is_read_and_rewritten_in_the_current_version) {
  write_bytes(journal_,
              version_1_journal({{"record-1"}, {"record-2", "record-3"}}));
  {
    auto store = open();
    auto rec = store->recover();
    EXPECT_EQ(rec.journal, records(1, 3));
    EXPECT_TRUE(rec.warning.empty()) << rec.warning;
    EXPECT_EQ(store->append("record-4"), 4u);
  }
  auto bytes = read_bytes(journal_);
  ASSERT_GE(bytes.size(), 20u);
  EXPECT_EQ(bytes.substr(16, 4), le32(2)) << "the format version";
  EXPECT_EQ(open()->recover().journal, records(1, 4));
}

TEST_F(durable_store_test,
       a_damaged_last_batch_of_a_version_1_journal_is_dropped_as_ambiguous) {
  auto bytes = version_1_journal({{"record-1"}, {"record-2"}, {"record-3"}});
  bytes[bytes.size() - 2] ^= 0x20; // inside record 3
  write_bytes(journal_, bytes);
  auto rec = open()->recover();
  EXPECT_EQ(rec.journal, records(1, 2));
  EXPECT_NE(rec.warning.find("format version 1"), std::string::npos)
    << rec.warning;
  EXPECT_NE(rec.warning.find("or damage to acknowledged records"),
            std::string::npos)
    << rec.warning;
  // Damage followed by a batch is corruption in version 1 too.
  bytes = version_1_journal({{"record-1"}, {"record-2"}, {"record-3"}});
  bytes[bytes.find("record-2") + 1] ^= 0x20;
  write_bytes(journal_, bytes);
  EXPECT_NE(refusal().find("damaged in the middle"), std::string::npos);
}

TEST_F(durable_store_test,
       anything_but_a_regular_file_at_a_path_is_refused_at_once_naming_it) {
  struct odd {
    const char* name;
    std::function<bool(const fs::path&)> make; // false: cannot here
    std::vector<std::string> says;
  };
  const auto elsewhere = dir_ / "elsewhere";
  std::vector<odd> odds{
    {"a FIFO",
     [](const fs::path& p) { return ::mkfifo(p.c_str(), 0644) == 0; },
     {"is a FIFO"}},
    {"a directory",
     [](const fs::path& p) { return fs::create_directory(p); },
     {"is a directory"}},
    {"a device",
     [](const fs::path& p) {
       return ::mknod(p.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
     },
     {"is a character device"}},
    {"a link to /dev/zero",
     [](const fs::path& p) {
       fs::create_symlink("/dev/zero", p);
       return true;
     },
     {"is a symbolic link to /dev/zero (a character device)"}},
    {"a link to a FIFO",
     [&](const fs::path& p) {
       fs::create_symlink(elsewhere, p);
       return ::mkfifo(elsewhere.c_str(), 0644) == 0;
     },
     {"is a symbolic link to " + elsewhere.string() + " (a FIFO"}},
    {"a link to a regular file",
     [&](const fs::path& p) {
       write_bytes(elsewhere, "data");
       fs::create_symlink(elsewhere, p);
       return true;
     },
     {"(a regular file)", "does not follow links"}},
    {"a dangling link",
     [&](const fs::path& p) {
       fs::create_symlink(elsewhere, p);
       return true;
     },
     {"is a symbolic link to " + elsewhere.string(), "cannot be followed"}},
  };
  int checked = 0;
  for (const auto& o : odds) {
    for (const auto& target : {state_, journal_, dir_ / "state.lock"}) {
      for (auto corrupt :
           {ts::on_corrupt::refuse, ts::on_corrupt::start_empty}) {
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        if (!o.make(target)) {
          std::fprintf(stderr, "skipped %s: cannot make one here\n", o.name);
          continue;
        }
        auto type = fs::symlink_status(target).type();
        auto start = std::chrono::steady_clock::now();
        auto what = open_error_in_time(
          corrupt, fs::is_fifo(fs::status(target)) ? target : fs::path{});
        auto took = std::chrono::steady_clock::now() - start;
        SCOPED_TRACE(
          std::string{o.name} + " at " + target.string()
          + (corrupt == ts::on_corrupt::refuse ? ", refuse" : ", start_empty"));
        EXPECT_LT(took, std::chrono::seconds{2});
        EXPECT_NE(what.find(target.string() + " is "), std::string::npos)
          << what;
        for (const auto& text : o.says)
          EXPECT_NE(what.find(text), std::string::npos) << what;
        EXPECT_EQ(fs::symlink_status(target).type(), type)
          << "it was not replaced";
        EXPECT_TRUE(set_aside().empty()) << "nor set aside";
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 36);
}

TEST_F(durable_store_test, damage_in_the_middle_of_the_journal_is_refused) {
  write_batches(records(1, 3));
  auto bytes = read_bytes(journal_);
  auto at = bytes.find("record-1");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = 'R';
  write_bytes(journal_, bytes);
  auto what = refusal();
  EXPECT_NE(what.find(journal_.string()), std::string::npos) << what;
  EXPECT_NE(what.find("damaged in the middle"), std::string::npos) << what;
  EXPECT_EQ(read_bytes(journal_), bytes);
  auto store = open(ts::on_corrupt::start_empty);
  EXPECT_TRUE(store->recover().journal.empty());
  ASSERT_EQ(set_aside().size(), 1u); // there was no state file
  EXPECT_EQ(read_bytes(set_aside()[0]), bytes);
}

TEST_F(durable_store_test, an_empty_state_file_is_refused_or_set_aside) {
  expect_bad_state_file([](std::string& b) { b.clear(); }, "empty (0 bytes)");
}

TEST_F(durable_store_test, a_truncated_state_file_is_refused_or_set_aside) {
  expect_bad_state_file([](std::string& b) { b.resize(b.size() - 4); },
                        "truncated at byte ");
}

TEST_F(durable_store_test, a_state_file_cut_inside_its_header_is_truncated) {
  write_bytes(state_, std::string{"TROUPE-STATE"});
  auto what = refusal();
  EXPECT_NE(what.find("truncated at byte 12 of 56"), std::string::npos) << what;
}

TEST_F(durable_store_test, a_state_file_cut_short_names_both_sizes) {
  {
    auto store = open();
    store->compact("a snapshot of 24 bytes..");
  }
  auto bytes = read_bytes(state_);
  ASSERT_EQ(bytes.size(), 56u + 24u);
  fs::resize_file(state_, 70);
  auto what = refusal();
  EXPECT_NE(what.find("truncated at byte 70 of 80"), std::string::npos) << what;
}

TEST_F(durable_store_test, a_foreign_state_file_is_refused_or_set_aside) {
  expect_bad_state_file(
    [](std::string& b) { b = "#!/bin/sh\necho this is some other program\n"; },
    "not a troupe state file");
}

TEST_F(durable_store_test, a_state_file_failing_its_checksum_is_refused) {
  expect_bad_state_file([](std::string& b) { b.back() ^= 1; },
                        "checksum mismatch");
}

TEST_F(durable_store_test, a_damaged_state_header_is_refused) {
  expect_bad_state_file([](std::string& b) { b[30] ^= 1; },
                        "header checksum mismatch");
}

TEST_F(durable_store_test, another_format_version_is_refused) {
  expect_bad_state_file([](std::string& b) { b[16] = 2; },
                        "unsupported format version 2");
}

TEST_F(durable_store_test, trailing_bytes_in_the_state_file_are_refused) {
  expect_bad_state_file([](std::string& b) { b += "extra"; },
                        "5 unexpected bytes");
}

TEST_F(durable_store_test, a_foreign_journal_is_refused) {
  write_batches(records(1, 1));
  write_bytes(journal_, "some log file\n");
  auto what = refusal();
  EXPECT_NE(what.find("not a troupe journal"), std::string::npos) << what;
  EXPECT_NE(what.find(journal_.string()), std::string::npos) << what;
  write_bytes(journal_, "");
  what = refusal();
  EXPECT_NE(what.find("empty"), std::string::npos) << what;
}

TEST_F(durable_store_test, files_that_do_not_belong_together_are_refused) {
  {
    auto store = open();
    store->append("x");
    store->compact("generation 1");
    store->compact("generation 2");
  }
  fs::remove(state_);
  auto what = refusal();
  EXPECT_NE(what.find("does not belong"), std::string::npos) << what;
  EXPECT_NE(what.find("is missing"), std::string::npos) << what;
}

TEST_F(durable_store_test,
       a_missing_journal_recovers_the_snapshot_with_a_warning) {
  {
    auto store = open();
    store->append("x");
    store->compact("state");
  }
  fs::remove(journal_);
  auto store = open();
  auto rec = store->recover();
  EXPECT_EQ(*rec.snapshot, "state");
  EXPECT_NE(rec.warning.find("is missing"), std::string::npos) << rec.warning;
  EXPECT_EQ(store->append("y"), 2u);
}

TEST_F(durable_store_test, a_crash_between_the_compaction_renames_recovers) {
  // The files a crash after the state file's rename and before the
  // journal's leaves: the new snapshot (up to record 3) and the old journal
  // (records 1 to 5; 4 and 5 were appended while the snapshot was written).
  {
    auto store = open();
    for (const auto& r : records(1, 3))
      store->append(r);
    store->compact("snapshot-3");
  }
  auto new_state = read_bytes(state_);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  write_batches(records(1, 5));
  write_bytes(state_, new_state);
  write_bytes(dir_ / "state.journal.tmp", "half a new journal");
  {
    auto store = open();
    auto rec = store->recover();
    EXPECT_EQ(*rec.snapshot, "snapshot-3");
    EXPECT_EQ(rec.journal, records(4, 5));
    EXPECT_EQ(store->append("record-6"), 6u);
  }
  EXPECT_FALSE(fs::exists(dir_ / "state.journal.tmp"));
  auto rec = open()->recover();
  EXPECT_EQ(*rec.snapshot, "snapshot-3");
  EXPECT_EQ(rec.journal, records(4, 6));
}

TEST_F(durable_store_test, a_snapshot_newer_than_all_of_an_old_journal_wins) {
  // A crash between the renames, where the snapshot includes records the
  // old journal never got (they were still queued).
  {
    auto store = open();
    for (const auto& r : records(1, 5))
      store->append(r);
    store->compact("snapshot-5");
  }
  auto new_state = read_bytes(state_);
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  write_batches(records(1, 2));
  write_bytes(state_, new_state);
  auto store = open();
  auto rec = store->recover();
  EXPECT_EQ(*rec.snapshot, "snapshot-5");
  EXPECT_TRUE(rec.journal.empty());
  EXPECT_EQ(store->append("record-6"), 6u);
}

TEST_F(durable_store_test, a_crash_before_the_renames_keeps_the_old_files) {
  write_batches(records(1, 2));
  write_bytes(dir_ / "state.tmp", "a snapshot that was never renamed");
  auto rec = open()->recover();
  EXPECT_FALSE(rec.snapshot);
  EXPECT_EQ(rec.journal, records(1, 2));
  EXPECT_FALSE(fs::exists(dir_ / "state.tmp"));
}

TEST_F(durable_store_test, random_damage_never_crashes_nor_invents_records) {
  {
    auto store = open();
    for (const auto& r : records(1, 3))
      store->append(r);
    store->compact("snapshot-3");
    for (const auto& r : records(4, 8)) {
      store->append(r);
      if (r.back() % 2 == 0)
        store->flush(); // batches of 1 and 2 records
    }
  }
  const auto good_state = read_bytes(state_);
  const auto good_journal = read_bytes(journal_);
  const auto all = records(4, 8);
  std::mt19937 rng{4711};
  int refused = 0;
  for (int round = 0; round < 300; ++round) {
    auto state = good_state;
    auto journal = good_journal;
    auto& victim = rng() % 3 == 0 ? state : journal;
    auto pos = [&] { return rng() % victim.size(); };
    switch (rng() % 3) {
      case 0:
        victim[pos()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1:
        victim.resize(pos());
        break;
      default:
        victim.insert(pos(), 1, static_cast<char>(rng()));
        break;
    }
    write_bytes(state_, state);
    write_bytes(journal_, journal);
    try {
      auto rec = open()->recover();
      // Whatever it accepts is the snapshot and a prefix of the records.
      ASSERT_TRUE(rec.snapshot) << "round " << round;
      EXPECT_EQ(*rec.snapshot, "snapshot-3") << "round " << round;
      ASSERT_LE(rec.journal.size(), all.size()) << "round " << round;
      EXPECT_TRUE(
        std::equal(rec.journal.begin(), rec.journal.end(), all.begin()))
        << "round " << round;
    } catch (const ts::state_file_error&) {
      ++refused;
    }
  }
  EXPECT_GT(refused, 0);
}

TEST_F(durable_store_test, a_second_store_on_the_same_path_is_refused) {
  auto store = open();
  auto what = refusal();
  EXPECT_NE(what.find("is in use"), std::string::npos) << what;
  store.reset();
  EXPECT_NO_THROW(open());
}

TEST_F(durable_store_test, appends_from_several_threads_all_survive_in_order) {
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::vector<std::vector<std::uint64_t>> seqs(threads);
  {
    auto store = open();
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i)
          seqs[t].push_back(
            store->append("t" + std::to_string(t) + "-" + std::to_string(i)));
      });
    for (auto& th : ts)
      th.join();
    store->flush();
    EXPECT_EQ(store->durable_seq(), std::uint64_t{threads * per_thread});
  }
  std::set<std::uint64_t> all;
  for (const auto& s : seqs) {
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    all.insert(s.begin(), s.end());
  }
  ASSERT_EQ(all.size(), std::size_t{threads * per_thread});
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), std::uint64_t{threads * per_thread});
  auto rec = open()->recover();
  ASSERT_EQ(rec.journal.size(), std::size_t{threads * per_thread});
  for (int t = 0; t < threads; ++t)
    for (int i = 0; i < per_thread; ++i)
      ASSERT_EQ(rec.journal[seqs[t][i] - 1],
                "t" + std::to_string(t) + "-" + std::to_string(i));
}

TEST_F(durable_store_test, group_commit_syncs_far_less_often_than_appends) {
  auto store = open();
  auto before = store->stats();
  for (int i = 0; i < 20000; ++i)
    store->append("record-" + std::to_string(i));
  store->flush();
  auto after = store->stats();
  EXPECT_EQ(after.appends - before.appends, 20000u);
  EXPECT_GE(after.batches, 1u);
  EXPECT_LE((after.batches - before.batches) * 10, 20000u)
    << "batches: " << after.batches - before.batches;
  EXPECT_LE((after.syncs - before.syncs) * 10, 20000u);
  EXPECT_GT(after.bytes_written, 20000u * 8);
}

TEST_F(durable_store_test, flush_from_the_callback_is_refused) {
  std::atomic<ts::durable_store*> self{nullptr};
  std::atomic<int> refused{0};
  ts::durable_store store{options(), [&](std::uint64_t) {
                            try {
                              if (auto* s = self.load())
                                s->flush();
                            } catch (const troupe::state_error&) {
                              ++refused;
                            }
                          }};
  self = &store;
  store.append("x");
  store.flush();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (refused == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(refused, 1);
  self = nullptr;
}

TEST_F(durable_store_test,
       a_failed_write_stops_the_store_and_loses_nothing_durable) {
  // RLIMIT_FSIZE makes the journal's next large write fail (EFBIG).
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  struct restore {
    rlimit limit;
    ~restore() {
      ::setrlimit(RLIMIT_FSIZE, &limit);
    }
  } guard{old};
  {
    auto store = open();
    store->append("durable-1");
    store->flush();
    rlimit small = old;
    small.rlim_cur = 1 << 16;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    store->append(std::string(1 << 17, 'x'));
    EXPECT_THROW(store->flush(), ts::state_file_error);
    EXPECT_THROW(store->append("after"), ts::state_file_error);
    EXPECT_THROW(store->compact("s"), ts::state_file_error);
    ::setrlimit(RLIMIT_FSIZE, &old);
  }
  auto rec = open()->recover();
  EXPECT_EQ(rec.journal, std::vector<std::string>{"durable-1"});
  EXPECT_TRUE(rec.warning.empty())
    << "the partial batch was cut off: " << rec.warning;
}

TEST_F(durable_store_test, an_empty_path_is_a_value_error) {
  EXPECT_THROW(ts::durable_store({.path = ""}, nullptr), troupe::value_error);
}
