// Locks across OS processes: the OS-process level under a lock's word.

#include "troupe/cross_process.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <troupe/error.hpp>
#include <troupe/ext/futex.hpp>
#include <troupe/ext/process_level.hpp>
#include <troupe/ext/spin.hpp>
#include <troupe/ext/stop.hpp>
#include <troupe/isolate/descriptors.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace troupe::shm::detail {

namespace {

constexpr std::uint64_t page_magic = 0x314b434f4c505254; // "TRPLOCK1"
constexpr std::size_t page_size = 4096;
/// Linux's largest pid (PID_MAX_LIMIT on 64-bit): a word past it names no
/// process (a holder scribbled on it), so it is taken over.
constexpr std::uint32_t pid_limit = std::uint32_t{1} << 22;
/// Spins before sleeping: a critical section is usually short, and a
/// futex sleep and wake-up across processes costs ~12 µs.
constexpr int spin_rounds = 400;
/// A sleeper wakes at least this often to check that the holder lives.
constexpr auto liveness_period = std::chrono::milliseconds{10};

[[noreturn]] void throw_errno(int e, const char* what) {
  throw std::system_error(e, std::generic_category(), what);
}

/// The page: the holder's pid (0: free), the number of sleepers, and
/// whether the last holder's process ended holding it.
struct lock_page {
  std::uint64_t magic;
  std::atomic<std::uint32_t> owner;
  std::atomic<std::uint32_t> sleepers;
  std::atomic<std::uint32_t> abandoned;
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free);

/// Whether the process `pid` has ended (a zombie counts as ended). Keeps a
/// pidfd for the last pid asked about.
class liveness {
public:
  liveness() = default;
  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;
  ~liveness() {
    if (fd_ >= 0)
      ::close(fd_);
  }

  bool ended(std::uint32_t pid) {
    if (pid == 0 || pid > pid_limit)
      return true;
    if (pid != pid_) {
      if (fd_ >= 0)
        ::close(fd_);
      pid_ = pid;
      fd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (fd_ < 0 && errno == ESRCH)
        return true;
    }
    if (fd_ < 0) // no descriptor to spare: ask by pid (a zombie then looks
                 // alive until its parent reaps it)
      return ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

private:
  std::uint32_t pid_ = 0;
  int fd_ = -1;
};

/// The OS-process level: the page, mapped, and its descriptor.
class os_level final : public ext::process_level {
public:
  /// Takes ownership of `fd` (closed on failure too).
  explicit os_level(int fd)
    : fd_(fd), me_(static_cast<std::uint32_t>(::getpid())) {
    void* addr
      = ::mmap(nullptr, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (addr == MAP_FAILED) {
      auto e = errno;
      ::close(fd_);
      throw_errno(e, "lock: mmap of the shared lock page");
    }
    page_ = static_cast<lock_page*>(addr);
  }

  os_level(const os_level&) = delete;
  os_level& operator=(const os_level&) = delete;

  ~os_level() override {
    ::munmap(page_, page_size);
    ::close(fd_);
  }

  /// A new page, free.
  static std::shared_ptr<os_level> make() {
    int fd = ::memfd_create("troupe.lock", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
      throw_errno(errno, "lock: memfd_create");
    if (::ftruncate(fd, page_size) != 0
        || ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
             != 0) {
      auto e = errno;
      ::close(fd);
      throw_errno(e, "lock: sealing the shared lock page");
    }
    auto level = std::make_shared<os_level>(fd);
    level->page_->magic = page_magic;
    return level;
  }

  /// The page that came with a start record; checked before use.
  static std::shared_ptr<os_level> adopt(int fd) {
    struct stat st {};
    int seals = ::fcntl(fd, F_GET_SEALS);
    if (::fstat(fd, &st) != 0 || st.st_size != static_cast<off_t>(page_size)
        || seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == 0) {
      ::close(fd);
      throw value_error("lock: the descriptor that came for a shared lock is "
                        "not a sealed lock page");
    }
    auto level = std::make_shared<os_level>(fd);
    if (level->page_->magic != page_magic)
      throw value_error("lock: the shared lock page has no lock's mark");
    return level;
  }

  [[nodiscard]] int fd() const noexcept {
    return fd_;
  }

  bool acquire(ext::deadline until, bool& owner_died) override {
    if (!take(until, owner_died))
      return false;
    if (page_->abandoned.load(std::memory_order_relaxed) != 0
        && page_->abandoned.exchange(0) != 0)
      owner_died = true;
    return true;
  }

  void release(bool holder_ended) noexcept override {
    if (holder_ended)
      page_->abandoned.store(1, std::memory_order_relaxed);
    page_->owner.store(0, std::memory_order_seq_cst);
    if (page_->sleepers.load(std::memory_order_seq_cst) > 0)
      ext::futex_wake_one_shared(&page_->owner);
  }

  [[nodiscard]] bool held() const noexcept override {
    return page_->owner.load(std::memory_order_acquire) != 0;
  }

private:
  bool take(ext::deadline until, bool& owner_died) {
    auto& owner = page_->owner;
    std::uint32_t w = 0;
    if (owner.compare_exchange_strong(w, me_, std::memory_order_acquire,
                                      std::memory_order_relaxed))
      return true;
    for (int i = 0; !until.is_poll() && i < spin_rounds; ++i) {
      ext::cpu_relax();
      w = 0;
      if (owner.load(std::memory_order_relaxed) == 0
          && owner.compare_exchange_strong(w, me_, std::memory_order_acquire,
                                           std::memory_order_relaxed))
        return true;
    }
    liveness holder;
    for (;;) {
      w = owner.load(std::memory_order_acquire);
      if (w == 0) {
        if (owner.compare_exchange_strong(w, me_, std::memory_order_acquire,
                                          std::memory_order_relaxed))
          return true;
        continue;
      }
      // Our own pid: another lock of this OS process over the same page
      // holds it (or is giving it back); wait as for anyone.
      if (w != me_ && holder.ended(w)) {
        if (owner.compare_exchange_strong(w, me_, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
          owner_died = true;
          return true;
        }
        continue;
      }
      if (until.is_poll())
        return false;
      if (ext::stop_requested())
        ext::throw_terminated();
      auto now = std::chrono::steady_clock::now();
      if (!until.is_forever() && now >= until.when())
        return false;
      auto wake = now + liveness_period;
      if (!until.is_forever() && until.when() < wake)
        wake = until.when();
      page_->sleepers.fetch_add(1, std::memory_order_seq_cst);
      ext::futex_wait_shared(&owner, w, ext::deadline::at(wake));
      page_->sleepers.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  int fd_;
  std::uint32_t me_;
  lock_page* page_ = nullptr;
};

using lock_record = std::tuple<std::uint32_t, std::string>; // slot, name

template <class Lock>
std::string save_lock(const Lock& l, const char* what) {
  auto level = ext::share_across_processes(
    l, [] { return std::shared_ptr<ext::process_level>{os_level::make()}; });
  auto* os = dynamic_cast<os_level*>(level.get());
  if (os == nullptr)
    throw value_error(std::string{what} + " '" + l.name()
                      + "' is shared across OS processes by another module; "
                        "it cannot also cross this way");
  auto slot = isolate::pass_descriptor(os->fd(), what);
  return troupe::serialization::to_bytes(lock_record{slot, l.name()});
}

std::shared_ptr<ext::process_level> load_level(const std::string& bytes,
                                               std::string& name) {
  auto rec = troupe::serialization::from_bytes<lock_record>(bytes);
  name = std::move(std::get<1>(rec));
  return os_level::adopt(isolate::take_descriptor(std::get<0>(rec)));
}

} // namespace

} // namespace troupe::shm::detail

namespace troupe::isolate {

std::string argument_codec<owned_lock>::save(const owned_lock& l) {
  return shm::detail::save_lock(l, "lock");
}

owned_lock argument_codec<owned_lock>::load(const std::string& bytes) {
  std::string name;
  auto level = shm::detail::load_level(bytes, name);
  return ext::lock_over(child_runtime(), std::move(level),
                        {.name = std::move(name)});
}

std::string argument_codec<rlock>::save(const rlock& l) {
  return shm::detail::save_lock(l, "rlock");
}

rlock argument_codec<rlock>::load(const std::string& bytes) {
  std::string name;
  auto level = shm::detail::load_level(bytes, name);
  return ext::rlock_over(child_runtime(), std::move(level),
                         {.name = std::move(name)});
}

} // namespace troupe::isolate
