// Opening a durable store: locking its files, reading and checking them,
// deciding what of the journal recovery keeps, and preparing the journal
// for appends.

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "durable_files.hpp"
#include "durable_store_impl.hpp"

namespace troupe::serialization {

using namespace detail;

void durable_store::impl::open_files() {
  // Something other than a regular file at one of the paths (a FIFO whose
  // open would wait for a writer, /dev/zero that never ends, a directory)
  // is refused before anything is opened or created.
  check_regular(opts_.path, "state file");
  check_regular(journal_path_, "journal");
  check_regular(lock_path_, "lock file");
  lock_fd_
    = ::open(lock_path_.c_str(),
             O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (lock_fd_ < 0) {
    auto err = errno;
    if (err == ELOOP)
      check_regular(lock_path_, "lock file"); // throws, naming the link
    io_error(lock_path_, "create the lock file", err);
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    auto err = errno;
    if (err == EWOULDBLOCK)
      throw state_file_error{opts_.path.string(),
                             "state file " + opts_.path.string()
                               + " is in use: another durable_store (in this "
                                 "or another process) holds "
                               + lock_path_.string()};
    io_error(lock_path_, "lock", err);
  }
  // Left over by a compaction that crashed before its renames: never part
  // of the state.
  ::unlink(state_tmp_.c_str());
  ::unlink(journal_tmp_.c_str());
  loaded files;
  try {
    files = load_files();
  } catch (const not_a_regular_file&) {
    throw; // not our file to set aside
  } catch (const state_file_error& e) {
    if (opts_.corrupt == on_corrupt::refuse)
      throw;
    // Only bad files land here: errors creating or writing files below
    // always throw, and never set good files aside.
    files = set_aside(e);
  }
  prepare_journal(files);
  if (!files.warning.empty())
    warn(files.warning);
  generation_ = files.snap.generation;
  next_seq_ = files.snap.last_seq + files.records.size() + 1;
  pending_first_ = next_seq_;
  durable_seq_ = next_seq_ - 1;
  journal_records_ = files.records.size();
  recovered_.snapshot = std::move(files.snap.bytes);
  recovered_.journal = std::move(files.records);
  recovered_.warning = std::move(files.warning);
}

durable_store::impl::loaded durable_store::impl::load_files() const {
  loaded result;
  auto state_bytes = read_regular_file(opts_.path, "state file");
  auto journal_bytes = read_regular_file(journal_path_, "journal");
  if (state_bytes)
    result.snap = parse_state(opts_.path, *state_bytes);
  state_bytes.reset();
  if (!journal_bytes) {
    if (result.snap.bytes)
      result.warning = "journal " + journal_path_.string()
                       + " is missing; recovered the state file "
                       + opts_.path.string() + " alone";
    return result;
  }
  auto& snap = result.snap;
  auto jour = parse_journal(journal_path_, *journal_bytes);
  auto journal_size = journal_bytes->size();
  journal_bytes.reset();
  auto mismatch = [&](const std::string& what) {
    throw state_file_error{journal_path_.string(),
                           "journal " + journal_path_.string()
                             + " does not belong with state file "
                             + opts_.path.string() + ": " + what};
  };
  if (jour.generation > snap.generation)
    mismatch("it follows snapshot generation " + std::to_string(jour.generation)
             + ", but the state file "
             + (snap.bytes ? "has generation " + std::to_string(snap.generation)
                           : std::string{"is missing"}));
  if (jour.generation == snap.generation && jour.base != snap.last_seq)
    mismatch("both are generation " + std::to_string(snap.generation)
             + ", but the journal starts after record "
             + std::to_string(jour.base) + " and the snapshot ends at record "
             + std::to_string(snap.last_seq));
  if (jour.base > snap.last_seq)
    mismatch("the journal starts after record " + std::to_string(jour.base)
             + ", the snapshot ends at record " + std::to_string(snap.last_seq)
             + ": records are missing");
  // An older journal is what a crash between a compaction's two renames
  // leaves: its records up to the snapshot's last one are in the snapshot.
  auto skip
    = std::min<std::uint64_t>(snap.last_seq - jour.base, jour.records.size());
  result.records.assign(
    std::make_move_iterator(jour.records.begin()
                            + static_cast<std::ptrdiff_t>(skip)),
    std::make_move_iterator(jour.records.end()));
  // A journal of the snapshot's generation is appended to, unless it has
  // an older format version: then it is rewritten in the current one.
  if (jour.generation == snap.generation
      && jour.version == journal_format_version) {
    result.rewrite_journal = false;
    result.journal_size = jour.valid_size;
    result.truncate = jour.valid_size < journal_size;
    result.unmarked = jour.unmarked;
  }
  result.warning = std::move(jour.torn);
  return result;
}

durable_store::impl::loaded
durable_store::impl::set_aside(const state_file_error& e) {
  std::string moved;
  for (const auto* file : {&opts_.path, &journal_path_}) {
    std::error_code ec;
    if (!fs::exists(*file, ec))
      continue;
    auto aside = move_aside(*file);
    moved
      += (moved.empty() ? "" : ", ") + file->string() + " to " + aside.string();
  }
  sync_directory(dir_);
  ++stats_.syncs;
  loaded result;
  result.warning = std::string{e.what()} + "; moved " + moved
                   + " and started empty (on_corrupt::start_empty)";
  return result;
}

void durable_store::impl::prepare_journal(const loaded& files) {
  const auto& snap = files.snap;
  if (files.rewrite_journal) {
    auto content = journal_header(snap.generation, snap.last_seq);
    if (!files.records.empty()) {
      encode_batch(content, snap.last_seq + 1, files.records);
      encode_mark(content, snap.last_seq + files.records.size(),
                  content.size());
    }
    journal_fd_ = write_new_file(journal_tmp_, {content}, true);
    rename_file(journal_tmp_, journal_path_);
    sync_directory(dir_);
    stats_.syncs += 2;
    stats_.bytes_written += content.size();
    journal_size_ = content.size();
    return;
  }
  journal_fd_ = ::open(journal_path_.c_str(),
                       O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (journal_fd_ < 0)
    io_error(journal_path_, "open", errno);
  journal_size_ = files.journal_size;
  if (files.truncate) {
    // Later batches must not follow the torn one, or the next recovery
    // would see damage in the middle.
    if (::ftruncate(journal_fd_, static_cast<off_t>(journal_size_)) != 0)
      io_error(journal_path_, "truncate", errno);
  }
  if (files.unmarked) {
    // Its records were recovered, so they count as acknowledged from now
    // on: damage to them must be found as such.
    std::string mark;
    encode_mark(mark, snap.last_seq + files.records.size(), journal_size_);
    if (auto err = write_all(journal_fd_, mark); err != 0)
      io_error(journal_path_, "write", err);
    journal_size_ += mark.size();
    stats_.bytes_written += mark.size();
  }
  if (files.truncate || files.unmarked) {
    if (::fsync(journal_fd_) != 0)
      io_error(journal_path_, "fsync", errno);
    stats_.syncs += 1;
  }
}

} // namespace troupe::serialization
