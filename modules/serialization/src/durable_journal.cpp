// The flusher thread: group commit (one write and one fdatasync per batch
// of records, then its acknowledgement mark) and a compaction's swap of the
// state file and journal.

#include <algorithm>
#include <cerrno>
#include <exception>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include "durable_files.hpp"
#include "durable_store_impl.hpp"

namespace troupe::serialization {

using namespace detail;

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

} // namespace troupe::serialization
