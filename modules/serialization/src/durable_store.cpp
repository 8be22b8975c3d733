// The durable store's public operations: opening (the recovery itself is
// in durable_recovery.cpp), append, flush and compact, which hand their
// work to the flusher thread (durable_journal.cpp).

#include <cerrno>
#include <limits>
#include <utility>

#include <unistd.h>

#include "durable_files.hpp"
#include "durable_store_impl.hpp"

namespace troupe::serialization {

using namespace detail;

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
