#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <troupe/serialization/error.hpp>

namespace troupe::serialization {

/// What `durable_store` does when its files are bad (empty, truncated,
/// foreign, of another format version, failing a checksum, damaged where
/// data was acknowledged, or not belonging together). Something that is
/// not a regular file at a path is refused under both.
enum class on_corrupt {
  /// The constructor throws `state_file_error`; nothing on disk changes.
  refuse,
  /// The bad files are renamed aside (`<file>.corrupt-<UTC time>`), a
  /// warning naming them goes to stderr and into `recovered::warning`, and
  /// the store starts empty.
  start_empty,
};

/// Options of a `durable_store`.
struct store_options {
  /// The state (snapshot) file. The journal is `path` + ".journal", the
  /// lock file `path` + ".lock"; temporary files `path` + ".tmp" and
  /// `path` + ".journal.tmp" exist only during a compaction. The directory
  /// must exist; each of the three must be a regular file or not exist (a
  /// symbolic link is refused: the store renames over its paths).
  std::filesystem::path path;
  /// What to do with bad files; see `on_corrupt`.
  on_corrupt corrupt = on_corrupt::refuse;
  /// Journal records (recovered plus appended) after which
  /// `needs_compaction()` turns true.
  std::size_t compact_after = 10000;
};

/// Counters of a `durable_store`'s work, for tests and benchmarks.
struct store_stats {
  std::uint64_t appends = 0;       ///< records appended
  std::uint64_t batches = 0;       ///< group commits written to the journal
  std::uint64_t syncs = 0;         ///< fsync/fdatasync calls, all files
  std::uint64_t bytes_written = 0; ///< bytes written, all files
  std::uint64_t compactions = 0;   ///< completed compactions
};

/// The durable state of a Manager: a snapshot plus a journal of records
/// appended after it, with group commit.
///
/// On disk: the state file holds the last snapshot (its generation and the
/// sequence number of the last record it includes); the journal holds a
/// header naming the snapshot generation it follows, then batches of
/// records, one batch per write + fdatasync (a group commit), each followed
/// by an acknowledgement mark (written after the sync, before the
/// acknowledgement, synced with the next batch) so that damage to
/// acknowledged records is told from a torn write. Every header, batch,
/// mark and snapshot carries a CRC-32; both files start with a magic and a
/// format version. Files are replaced only by writing a temporary file,
/// fsyncing it, renaming it over the old one and fsyncing the directory.
/// See docs/serialization.md, which also says what the format can and
/// cannot detect.
///
/// Sequence numbers count records over the life of the files: 1, 2, ...;
/// after a reopen they continue after the last recovered record.
///
/// Thread-safety: every member may be called from any thread. `append`
/// takes a mutex briefly and never waits for I/O; `flush` and `compact`
/// block. Ordering: records are journalled, and `on_durable` reports them,
/// in sequence order. Lifetime: one store per path at a time — a second one
/// (in this or another process) throws `state_file_error` (the lock file is
/// held); destroy the old store before opening the path again.
class durable_store {
public:
  /// Called by the flusher thread after a group commit (or a compaction)
  /// made every record up to `durable_seq` durable; `durable_seq` only
  /// grows. Must not block for long (it delays the next group commit), must
  /// not call `flush`, `compact` or destroy the store; an exception it
  /// throws is reported on stderr and ignored.
  using durable_callback = std::function<void(std::uint64_t durable_seq)>;

  /// Opens the store at `opts.path`, creating it if neither file exists,
  /// and reads and validates the snapshot and the journal. Blocks on file
  /// I/O (never on a FIFO: see below). A torn batch at the end of the
  /// journal with no acknowledgement mark after it (a crash during a group
  /// commit; never acknowledged) is dropped with a warning. Bad files throw
  /// `state_file_error` naming the file and what is wrong (empty,
  /// truncated at byte N of M, not a troupe state file, unsupported
  /// version, checksum mismatch, damage to acknowledged records,
  /// unreadable), unless `opts.corrupt` is `start_empty`: then they are
  /// renamed aside, a warning names them, and the store starts empty.
  /// Throws `state_file_error` under both when a path holds something other
  /// than a regular file (a FIFO, directory, device, socket or symbolic
  /// link: named in the message, never opened), when the path is in use
  /// by another store, or when a file cannot be created or written.
  durable_store(store_options opts, durable_callback on_durable);

  /// Makes everything appended durable (best effort: errors are reported
  /// on stderr), stops the flusher thread and releases the lock. Blocks.
  ~durable_store();

  durable_store(const durable_store&) = delete;
  durable_store& operator=(const durable_store&) = delete;

  /// What was on disk when the store was opened.
  struct recovered {
    /// The snapshot's bytes, if there was a snapshot.
    std::optional<std::string> snapshot;
    /// The journal's records after the snapshot, in sequence order.
    std::vector<std::string> journal;
    /// Empty, or what recovery reports (also printed on stderr): bad files
    /// set aside by `start_empty` (named), a torn write dropped from the
    /// journal's end (and whether records were lost), a missing journal.
    std::string warning;
  };

  /// Returns a copy of what was on disk at open: apply `snapshot`, then
  /// `journal` in order. Does not block; does not throw (but
  /// `std::bad_alloc`).
  [[nodiscard]] recovered recover() const;

  /// Queues `record` for the journal and returns its sequence number.
  /// Does not block on I/O: the flusher thread writes and fdatasyncs
  /// queued records in batches (group commit), then calls `on_durable`
  /// with the highest durable sequence number. Throws `value_error` for a
  /// record of 4 GiB or more, and `state_file_error` once a write or sync
  /// failed (the store is then unusable; reopen it).
  std::uint64_t append(std::string record);

  /// Blocks until every record appended before the call is durable.
  /// Throws `state_file_error` if a write or sync failed, `state_error`
  /// when called from `on_durable` (it would wait for itself).
  void flush();

  /// Blocks until every record appended before the call is durable or
  /// `timeout` passed; returns whether they are durable. A negative timeout
  /// throws `value_error`; otherwise throws as `flush()`.
  [[nodiscard]] bool flush(std::chrono::nanoseconds timeout);

  /// Replaces the snapshot with `snapshot`, which must be the state
  /// including every record appended so far, and starts a new journal with
  /// the records appended since (concurrent appends go on meanwhile).
  /// Blocks: writes a temporary file, fsyncs it, renames it over the state
  /// file, fsyncs the directory, then does the same for the journal. A
  /// crash at any step leaves files `recover` reads correctly: the old
  /// snapshot and journal, or the new snapshot and the old journal (whose
  /// records it includes are skipped), or the new pair. Throws
  /// `state_file_error` on an I/O error (before the state file was
  /// replaced, the store stays usable; after, it fails as for `append`),
  /// `state_error` when called from `on_durable`. Every record up to the
  /// snapshot's is durable afterwards.
  void compact(std::string snapshot);

  /// Whether the journal holds `compact_after` records or more since the
  /// last compaction (counting recovered ones). Does not block.
  [[nodiscard]] bool needs_compaction() const;

  /// The state file's path. Does not block.
  [[nodiscard]] const std::filesystem::path& path() const;

  /// The journal's path. Does not block.
  [[nodiscard]] const std::filesystem::path& journal_path() const;

  /// The sequence number of the last appended (or recovered) record; 0 if
  /// none. Does not block.
  [[nodiscard]] std::uint64_t last_seq() const;

  /// The highest sequence number known durable. Does not block.
  [[nodiscard]] std::uint64_t durable_seq() const;

  /// Counters since open. Does not block.
  [[nodiscard]] store_stats stats() const;

private:
  class impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::serialization
