#include "troupe/isolate/descriptors.hpp"

#include <cerrno>
#include <mutex>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include <troupe/error.hpp>

namespace troupe::isolate {

namespace {

thread_local detail::descriptor_capture* current_capture = nullptr;

struct received_table {
  std::mutex mtx;
  std::vector<int> fds; // -1: taken
};

received_table& received() {
  static auto* table = new received_table; // children exit, never unwind
  return *table;
}

} // namespace

std::uint32_t pass_descriptor(int fd, const char* what) {
  auto* cap = current_capture;
  if (cap == nullptr)
    throw value_error(
      std::string{"troupe: a "} + what
      + " crosses into another OS process only as an argument of an "
        "os_process (or of a start_os_process child); it cannot be "
        "serialized into a message, a pool task or a store");
  if (cap->fds_.size() >= max_descriptors)
    throw value_error("troupe: an os_process's arguments carry at most "
                      + std::to_string(max_descriptors)
                      + " open objects (shared memory blocks and the like)");
  int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (copy < 0)
    throw std::system_error(errno, std::generic_category(),
                            std::string{"troupe: duplicating a "} + what);
  cap->fds_.push_back(copy);
  return static_cast<std::uint32_t>(cap->fds_.size() - 1);
}

int take_descriptor(std::uint32_t slot) {
  auto& table = received();
  std::lock_guard guard{table.mtx};
  if (slot >= table.fds.size() || table.fds[slot] < 0)
    throw value_error("troupe: the start record names descriptor "
                      + std::to_string(slot) + ", which "
                      + (slot >= table.fds.size() ? "did not come with it"
                                                  : "was taken already"));
  int fd = table.fds[slot];
  table.fds[slot] = -1;
  return fd;
}

namespace detail {

descriptor_capture::descriptor_capture() : outer_(current_capture) {
  current_capture = this;
}

descriptor_capture::~descriptor_capture() {
  current_capture = outer_;
  for (int fd : fds_)
    ::close(fd);
}

std::vector<int> descriptor_capture::take() noexcept {
  return std::exchange(fds_, {});
}

descriptor_set& descriptor_set::operator=(descriptor_set&& other) noexcept {
  if (this != &other) {
    for (int fd : fds_)
      ::close(fd);
    fds_ = std::exchange(other.fds_, {});
  }
  return *this;
}

descriptor_set::~descriptor_set() {
  for (int fd : fds_)
    ::close(fd);
}

void set_received_descriptors(std::vector<int> fds) {
  auto& table = received();
  std::lock_guard guard{table.mtx};
  table.fds = std::move(fds);
}

} // namespace detail

} // namespace troupe::isolate
