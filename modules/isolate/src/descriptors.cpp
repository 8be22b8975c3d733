#include "troupe/isolate/descriptors.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/socket.h>
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

ssize_t send_with_descriptors(int sock, std::span<const char> bytes,
                              std::span<const int> fds) {
  if (fds.size() > max_descriptors) {
    errno = EINVAL;
    return -1;
  }
  // sendmsg does not write through iov_base; the cast only meets its type.
  iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control;
  if (!fds.empty()) {
    control.resize(CMSG_SPACE(sizeof(int) * fds.size()));
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    auto* c = CMSG_FIRSTHDR(&msg);
    if (c == nullptr) { // cannot be: the buffer has room for one
      errno = EINVAL;
      return -1;
    }
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n = 0;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

received_chunk receive_with_descriptors(int sock, std::span<char> bytes,
                                        std::vector<int>& fds,
                                        std::size_t max_fds) {
  max_fds = std::clamp<std::size_t>(max_fds, 1, max_descriptors);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * max_fds));
  iovec iov{bytes.data(), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  received_chunk out;
  do {
    out.bytes = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (out.bytes < 0 && errno == EINTR);
  if (out.bytes < 0)
    return out;
  for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    auto count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  out.descriptors_cut = (msg.msg_flags & MSG_CTRUNC) != 0;
  return out;
}

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
