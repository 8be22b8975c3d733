#include "troupe/shared_memory.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <troupe/error.hpp>

#include "block.hpp"
#include "publication.hpp"

namespace troupe::shm::detail {

namespace {

constexpr std::size_t max_name = 100;
constexpr int required_seals = F_SEAL_SHRINK | F_SEAL_GROW;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(),
                          "shared_memory: " + what);
}

std::string unique_name() {
  std::array<unsigned char, 6> r{};
  if (::getrandom(r.data(), r.size(), 0) != static_cast<ssize_t>(r.size()))
    throw_errno(errno, "no random bytes for a name");
  std::string name = "troupe_";
  for (auto c : r) {
    std::array<char, 3> hex{};
    std::snprintf(hex.data(), hex.size(), "%02x", c);
    name += hex.data();
  }
  return name;
}

} // namespace

block::~block() {
  served.reset(); // stops serving before the descriptor goes
  if (addr != nullptr)
    ::munmap(addr, size);
  if (fd >= 0)
    ::close(fd);
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > max_name
      || name.find_first_of(std::string_view{"/\0", 2}) != std::string::npos)
    throw value_error("shared_memory: a name has 1 to "
                      + std::to_string(max_name)
                      + " bytes and no '/' or NUL; got '" + name + "'");
}

std::shared_ptr<block> adopt(int fd, std::size_t size, std::string name) {
  auto b = std::make_shared<block>();
  b->fd = fd; // closed by ~block on every path below
  b->name = std::move(name);
  int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & required_seals) != required_seals)
    throw value_error("shared_memory: the descriptor received for '" + b->name
                      + "' is not a sealed memfd (a peer could resize it)");
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw_errno(errno, "fstat of '" + b->name + "'");
  if (size == 0 || static_cast<std::uint64_t>(st.st_size) < size)
    throw value_error("shared_memory: the block received as '" + b->name
                      + "' holds " + std::to_string(st.st_size)
                      + " bytes, not the " + std::to_string(size)
                      + " its record claims");
  void* addr = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED)
    throw_errno(errno, "mapping '" + b->name + "'");
  b->addr = static_cast<std::byte*>(addr);
  b->size = size;
  return b;
}

} // namespace troupe::shm::detail

namespace troupe {

shared_memory::shared_memory(std::shared_ptr<shm::detail::block> b)
  : block_(std::move(b)), size_(block_->size), name_(block_->name) {}

shared_memory::shared_memory(std::size_t size, std::string name) {
  if (size == 0)
    throw value_error("shared_memory: the size must be positive (got 0)");
  if (name.empty())
    name = shm::detail::unique_name();
  else
    shm::detail::check_name(name);
  int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    shm::detail::throw_errno(errno, "memfd_create");
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0
      || ::fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)
           != 0) {
    int err = errno;
    ::close(fd);
    shm::detail::throw_errno(err, "sizing a block of " + std::to_string(size)
                                    + " bytes");
  }
  *this = shared_memory{shm::detail::adopt(fd, size, std::move(name))};
}

std::span<std::byte> shared_memory::bytes() const {
  if (block_ == nullptr)
    throw state_error("shared_memory '" + name_ + "': the handle is closed");
  return {block_->addr, block_->size};
}

void shared_memory::close() noexcept {
  block_.reset();
}

int shared_memory::native_handle() const {
  if (block_ == nullptr)
    throw state_error("shared_memory '" + name_ + "': the handle is closed");
  return block_->fd;
}

shm::detail::block_record shared_memory::to_record() const {
  if (block_ == nullptr)
    throw state_error("shared_memory '" + name_
                      + "': a closed handle cannot be handed on");
  return {isolate::pass_descriptor(block_->fd, "shared_memory"), size_, name_};
}

shared_memory shared_memory::from_record(const shm::detail::block_record& rec) {
  int fd = isolate::take_descriptor(rec.slot);
  return shared_memory{
    shm::detail::adopt(fd, static_cast<std::size_t>(rec.size), rec.name)};
}

} // namespace troupe
