#include "troupe/serialization/durable_store.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <initializer_list>
#include <limits>
#include <mutex>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable_format.hpp"

namespace troupe::serialization {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// -- files --------------------------------------------------------------------

std::string errno_text(int err) {
  return std::system_category().message(err);
}

/// Writes all of `data` at the file offset; returns 0 or an errno value.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

fs::path directory_of(const fs::path& file) {
  auto dir = file.parent_path();
  return dir.empty() ? fs::path{"."} : dir;
}

/// Makes renames and creations in `dir` durable.
void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    io_error(dir, "open directory", errno);
  if (::fsync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    io_error(dir, "fsync directory", err);
  }
  ::close(fd);
}

void rename_file(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    auto err = errno;
    throw state_file_error{to.string(), "cannot rename " + from.string()
                                          + " to " + to.string() + ": "
                                          + errno_text(err)};
  }
}

/// Writes `pieces` into a new `file` (replacing one left over) and fsyncs
/// it. Returns the open descriptor if `keep_open`, else -1.
int write_new_file(const fs::path& file,
                   std::initializer_list<std::string_view> pieces,
                   bool keep_open) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    io_error(file, "create", errno);
  for (auto data : pieces) {
    if (auto err = write_all(fd, data); err != 0) {
      ::close(fd);
      ::unlink(file.c_str());
      io_error(file, "write", err);
    }
  }
  if (::fsync(fd) != 0) {
    auto err = errno;
    ::close(fd);
    ::unlink(file.c_str());
    io_error(file, "fsync", err);
  }
  if (keep_open)
    return fd;
  ::close(fd);
  return -1;
}

fs::path with_suffix(const fs::path& file, const char* suffix) {
  auto result = file;
  result += suffix;
  return result;
}

/// Renames `file` to `<file>.corrupt-<UTC time>[.N]`; returns the new name.
fs::path move_aside(const fs::path& file) {
  auto now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, ".corrupt-%Y%m%dT%H%M%SZ", &tm);
  auto target = with_suffix(file, stamp);
  std::error_code ec;
  for (int i = 1; fs::exists(target, ec); ++i)
    target = with_suffix(
      file, (std::string{stamp} + "." + std::to_string(i)).c_str());
  rename_file(file, target);
  return target;
}

void warn(const std::string& text) {
  auto line = "troupe: " + text + "\n";
  std::fputs(line.c_str(), stderr);
}

} // namespace

// -- the store ----------------------------------------------------------------

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
    snapshot_file snap;
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

durable_store::impl::impl(store_options opts, durable_callback on_durable)
  : opts_(std::move(opts)), on_durable_(std::move(on_durable)),
    journal_path_(with_suffix(opts_.path, ".journal")),
    lock_path_(with_suffix(opts_.path, ".lock")),
    state_tmp_(with_suffix(opts_.path, ".tmp")),
    journal_tmp_(with_suffix(opts_.path, ".journal.tmp")),
    dir_(directory_of(opts_.path)) {
  if (opts_.path.empty())
    throw value_error{"durable_store: store_options::path is empty"};
  try {
    open_files();
  } catch (...) {
    if (journal_fd_ >= 0)
      ::close(journal_fd_);
    if (lock_fd_ >= 0)
      ::close(lock_fd_);
    throw;
  }
  flusher_ = std::thread{[this] { run_flusher(); }};
}

durable_store::impl::~impl() {
  {
    std::lock_guard guard{mtx_};
    stop_ = true;
  }
  work_cv_.notify_one();
  flusher_.join();
  // The last batch's mark would otherwise reach the disk only with a later
  // sync that never comes: after a power loss, damage to that batch would
  // then read as a torn write.
  if (unsynced_mark_ && !failed_) {
    if (::fdatasync(journal_fd_) == 0)
      ++stats_.syncs;
    else
      warn("cannot fdatasync journal " + journal_path_.string() + ": "
           + errno_text(errno));
  }
  if (journal_fd_ >= 0)
    ::close(journal_fd_);
  if (lock_fd_ >= 0)
    ::close(lock_fd_); // releases the lock
}

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

std::uint64_t durable_store::impl::append(std::string record) {
  if (record.size() >= std::numeric_limits<std::uint32_t>::max())
    throw value_error{"durable_store::append: a record of "
                      + std::to_string(record.size())
                      + " bytes is too large (the limit is 4 GiB - 1)"};
  std::unique_lock lk{mtx_};
  if (failed_)
    throw state_file_error{journal_path_.string(), failure_};
  auto seq = next_seq_++;
  pending_.push_back(std::move(record));
  ++journal_records_;
  ++stats_.appends;
  bool wake = pending_.size() == 1;
  lk.unlock();
  if (wake)
    work_cv_.notify_one();
  return seq;
}

void durable_store::impl::check_not_flusher(const char* call) const {
  if (std::this_thread::get_id() == flusher_.get_id())
    throw state_error{std::string{"durable_store::"} + call
                      + " called from the on_durable callback would wait "
                        "for itself"};
}

void durable_store::impl::flush() {
  check_not_flusher("flush()");
  std::unique_lock lk{mtx_};
  auto target = next_seq_ - 1;
  durable_cv_.wait(lk, [&] { return failed_ || durable_seq_ >= target; });
  if (durable_seq_ < target)
    throw state_file_error{journal_path_.string(), failure_};
}

bool durable_store::impl::flush(std::chrono::nanoseconds timeout) {
  if (timeout < std::chrono::nanoseconds::zero())
    throw value_error{"durable_store::flush: negative timeout"};
  check_not_flusher("flush()");
  std::unique_lock lk{mtx_};
  auto target = next_seq_ - 1;
  auto durable = durable_cv_.wait_for(
    lk, timeout, [&] { return failed_ || durable_seq_ >= target; });
  if (durable && durable_seq_ < target)
    throw state_file_error{journal_path_.string(), failure_};
  return durable;
}

void durable_store::impl::compact(std::string snapshot) {
  check_not_flusher("compact()");
  std::lock_guard one_at_a_time{compact_mtx_};
  swap_request request{};
  {
    std::lock_guard guard{mtx_};
    if (failed_)
      throw state_file_error{journal_path_.string(), failure_};
    request.generation = generation_ + 1;
    request.last_seq = next_seq_ - 1;
    retain_after_ = request.last_seq;
    retained_.clear();
  }
  // The slow part runs here while group commits to the old journal go on.
  try {
    auto header = state_header(request.generation, request.last_seq, snapshot);
    write_new_file(state_tmp_, {header, snapshot}, false);
  } catch (...) {
    std::lock_guard guard{mtx_};
    retain_after_.reset();
    retained_.clear();
    throw;
  }
  std::unique_lock lk{mtx_};
  stats_.syncs += 1;
  stats_.bytes_written += state_header_size + snapshot.size();
  swap_ = &request;
  work_cv_.notify_one();
  durable_cv_.wait(lk, [&] { return request.done; });
  if (!request.error.empty())
    throw state_file_error{opts_.path.string(), request.error};
}

void durable_store::impl::fail(std::string what) {
  if (!failed_) {
    failed_ = true;
    failure_ = std::move(what)
               + "; the store accepts no more records (reopen "
                 "it to recover what is durable)";
    warn(failure_);
  }
  durable_cv_.notify_all();
}

void durable_store::impl::notify_durable(std::unique_lock<std::mutex>& lk,
                                         std::uint64_t seq) {
  if (!on_durable_)
    return;
  lk.unlock();
  try {
    on_durable_(seq);
  } catch (const std::exception& e) {
    warn(std::string{"durable_store: the on_durable callback threw: "}
         + e.what());
  } catch (...) {
    warn("durable_store: the on_durable callback threw");
  }
  lk.lock();
}

void durable_store::impl::run_flusher() {
  std::unique_lock lk{mtx_};
  for (;;) {
    work_cv_.wait(
      lk, [&] { return stop_ || swap_ != nullptr || !pending_.empty(); });
    if (swap_ != nullptr) {
      swap_files(lk);
    } else if (!pending_.empty()) {
      if (failed_) {
        pending_.clear(); // never durable; append() now throws
        durable_cv_.notify_all();
      } else {
        write_batch(lk);
      }
    } else if (stop_) {
      return;
    }
  }
}

void durable_store::impl::write_batch(std::unique_lock<std::mutex>& lk) {
  std::vector<std::string> batch;
  batch.swap(pending_);
  auto first = pending_first_;
  pending_first_ += batch.size();
  auto last = first + batch.size() - 1;
  lk.unlock();
  const auto size_before = journal_size_;
  buf_.clear();
  encode_batch(buf_, first, batch);
  int err = write_all(journal_fd_, buf_);
  const char* op = "write";
  if (err == 0 && ::fdatasync(journal_fd_) != 0) {
    err = errno;
    op = "fdatasync";
  }
  if (err != 0) {
    // Leave no partial batch for later batches to follow; after a failed
    // sync nothing about the file can be trusted, so the store stops.
    if (::ftruncate(journal_fd_, static_cast<off_t>(journal_size_)) != 0) {
      // Then recovery finds a torn batch at the end and drops it.
    }
    lk.lock();
    fail("cannot " + std::string{op} + " journal " + journal_path_.string()
         + ": " + errno_text(err));
    return;
  }
  journal_size_ += buf_.size();
  // The mark goes to the page cache without a sync of its own: it survives
  // a crash of this process at once and reaches the disk with the next
  // batch's fdatasync (or the destructor's). A second sync per batch would
  // halve a lone writer's rate.
  buf_.clear();
  encode_mark(buf_, last, journal_size_);
  int mark_err = write_all(journal_fd_, buf_);
  if (mark_err == 0) {
    journal_size_ += buf_.size();
    unsynced_mark_ = true;
  } else if (::ftruncate(journal_fd_, static_cast<off_t>(journal_size_)) == 0) {
    // The batch lacks a mark, as after a crash before it: still valid, and
    // the next batch's mark covers it.
    mark_err = 0;
  }
  lk.lock();
  ++stats_.batches;
  ++stats_.syncs;
  stats_.bytes_written += journal_size_ - size_before;
  if (retain_after_) {
    for (std::size_t i = 0; i < batch.size(); ++i)
      if (first + i > *retain_after_)
        retained_.push_back(std::move(batch[i]));
  }
  durable_seq_ = last;
  durable_cv_.notify_all();
  // The batch is durable whatever became of its mark: acknowledge it.
  notify_durable(lk, last);
  if (mark_err != 0) {
    // A partial mark is stuck in the file; later batches after it would
    // read as damage in the middle.
    fail("cannot write journal " + journal_path_.string() + ": "
         + errno_text(mark_err));
  }
}

void durable_store::impl::swap_files(std::unique_lock<std::mutex>& lk) {
  auto& request = *swap_;
  swap_ = nullptr;
  if (failed_) {
    ::unlink(state_tmp_.c_str());
    request.error = failure_;
    request.done = true;
    durable_cv_.notify_all();
    return;
  }
  auto retained = std::move(retained_);
  retained_.clear();
  retain_after_.reset();
  lk.unlock();
  std::string error;
  bool fatal = false;
  int new_fd = -1;
  std::uint64_t written = 0;
  try {
    auto content = journal_header(request.generation, request.last_seq);
    if (!retained.empty()) {
      encode_batch(content, request.last_seq + 1, retained);
      encode_mark(content, request.last_seq + retained.size(), content.size());
    }
    new_fd = write_new_file(journal_tmp_, {content}, true);
    written = content.size();
    rename_file(state_tmp_, opts_.path);
    // From here on the new snapshot is the state; an error leaves the
    // files recoverable but the store's view of them uncertain.
    fatal = true;
    sync_directory(dir_);
    rename_file(journal_tmp_, journal_path_);
    sync_directory(dir_);
  } catch (const state_file_error& e) {
    error = e.what();
    if (new_fd >= 0)
      ::close(new_fd);
    ::unlink(journal_tmp_.c_str());
    if (!fatal)
      ::unlink(state_tmp_.c_str());
  }
  lk.lock();
  request.done = true;
  if (!error.empty()) {
    request.error = error;
    if (fatal)
      fail(error);
    durable_cv_.notify_all();
    return;
  }
  ::close(journal_fd_);
  journal_fd_ = new_fd;
  journal_size_ = written;
  unsynced_mark_ = false; // the new journal was synced whole
  generation_ = request.generation;
  // Records still queued that the snapshot includes are durable in it.
  if (pending_first_ <= request.last_seq) {
    auto covered = std::min<std::uint64_t>(
      request.last_seq - pending_first_ + 1, pending_.size());
    pending_.erase(pending_.begin(),
                   pending_.begin() + static_cast<std::ptrdiff_t>(covered));
    pending_first_ += covered;
  }
  journal_records_ = retained.size() + pending_.size();
  stats_.syncs += 3; // journal file, directory twice
  stats_.bytes_written += written;
  ++stats_.compactions;
  bool advanced = request.last_seq > durable_seq_;
  durable_seq_ = std::max(durable_seq_, request.last_seq);
  durable_cv_.notify_all();
  if (advanced)
    notify_durable(lk, durable_seq_);
}

// -- durable_store ------------------------------------------------------------

durable_store::durable_store(store_options opts, durable_callback on_durable)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(on_durable))) {
  // nop
}

durable_store::~durable_store() = default;

durable_store::recovered durable_store::recover() const {
  return impl_->recover();
}

std::uint64_t durable_store::append(std::string record) {
  return impl_->append(std::move(record));
}

void durable_store::flush() {
  impl_->flush();
}

bool durable_store::flush(std::chrono::nanoseconds timeout) {
  return impl_->flush(timeout);
}

void durable_store::compact(std::string snapshot) {
  impl_->compact(std::move(snapshot));
}

bool durable_store::needs_compaction() const {
  return impl_->needs_compaction();
}

const std::filesystem::path& durable_store::path() const {
  return impl_->path();
}

const std::filesystem::path& durable_store::journal_path() const {
  return impl_->journal_path();
}

std::uint64_t durable_store::last_seq() const {
  return impl_->last_seq();
}

std::uint64_t durable_store::durable_seq() const {
  return impl_->durable_seq();
}

store_stats durable_store::stats() const {
  return impl_->stats();
}

} // namespace troupe::serialization
