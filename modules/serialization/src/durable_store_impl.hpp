#pragma once

// The durable store's state, shared by the files that implement it:
// durable_store.cpp (the public operations), durable_recovery.cpp (opening
// and checking the files) and durable_journal.cpp (the flusher thread:
// group commit and the compaction's swap of files). Internal to
// troupe::serialization.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "troupe/serialization/durable_store.hpp"

#include "durable_format.hpp"

namespace troupe::serialization {

namespace fs = std::filesystem;

class durable_store::impl {
public:
  impl(store_options opts, durable_callback on_durable);
  ~impl();

  recovered recover() const {
    return recovered_;
  }

  std::uint64_t append(std::string record);
  void flush();
  bool flush(std::chrono::nanoseconds timeout);
  void compact(std::string snapshot);

  bool needs_compaction() const {
    std::lock_guard guard{mtx_};
    return journal_records_ >= opts_.compact_after;
  }

  const fs::path& path() const {
    return opts_.path;
  }

  const fs::path& journal_path() const {
    return journal_path_;
  }

  std::uint64_t last_seq() const {
    std::lock_guard guard{mtx_};
    return next_seq_ - 1;
  }

  std::uint64_t durable_seq() const {
    std::lock_guard guard{mtx_};
    return durable_seq_;
  }

  store_stats stats() const {
    std::lock_guard guard{mtx_};
    return stats_;
  }

private:
  struct swap_request {
    std::uint64_t generation;
    std::uint64_t last_seq;
    bool done = false;
    std::string error; // set if the swap failed
  };

  /// What the files hold, checked.
  struct loaded {
    detail::snapshot_file snap;
    std::vector<std::string> records; // after the snapshot
    std::string warning;
    bool rewrite_journal = true; // missing, or of an older generation
    bool truncate = false;       // to journal_size (a torn tail)
    bool unmarked = false;       // its last batch has no mark after it
    std::size_t journal_size = 0;
  };

  void open_files();
  loaded load_files() const;
  loaded set_aside(const state_file_error& e);
  void prepare_journal(const loaded& files);
  void run_flusher();
  void write_batch(std::unique_lock<std::mutex>& lk);
  void swap_files(std::unique_lock<std::mutex>& lk);
  void fail(std::string what); // (mtx)
  void notify_durable(std::unique_lock<std::mutex>& lk, std::uint64_t seq);
  void check_not_flusher(const char* call) const;

  const store_options opts_;
  const durable_callback on_durable_;
  const fs::path journal_path_;
  const fs::path lock_path_;
  const fs::path state_tmp_;
  const fs::path journal_tmp_;
  const fs::path dir_;
  recovered recovered_;
  int lock_fd_ = -1;
  int journal_fd_ = -1;            // (flusher, after construction)
  std::uint64_t journal_size_ = 0; // (flusher) bytes of durable batches
  std::uint64_t generation_ = 0;   // (mtx) of the snapshot

  std::mutex compact_mtx_; // one compaction at a time

  mutable std::mutex mtx_;
  std::condition_variable work_cv_;    // for the flusher
  std::condition_variable durable_cv_; // for flush() and compact()
  std::vector<std::string> pending_;   // (mtx) not yet taken by the flusher
  std::uint64_t pending_first_ = 1;    // (mtx) seq of pending_.front()
  std::uint64_t next_seq_ = 1;         // (mtx)
  std::uint64_t durable_seq_ = 0;      // (mtx)
  std::size_t journal_records_ = 0;    // (mtx)
  std::optional<std::uint64_t> retain_after_; // (mtx) during a compaction
  std::vector<std::string> retained_; // (mtx) journalled, seq > retain_after_
  swap_request* swap_ = nullptr;      // (mtx) compaction's request
  bool stop_ = false;                 // (mtx)
  bool failed_ = false;               // (mtx)
  std::string failure_;               // (mtx)
  store_stats stats_;                 // (mtx)
  std::string buf_;                   // (flusher) encoded batch
  bool unsynced_mark_ = false;        // (flusher) the last mark awaits a sync
  std::thread flusher_;
};

} // namespace troupe::serialization
