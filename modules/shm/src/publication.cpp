#include "publication.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <span>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <troupe/error.hpp>
#include <troupe/isolate/descriptors.hpp>
#include <troupe/shared_memory.hpp>

#include "block.hpp"

namespace troupe::shm::detail {

namespace {

/// The answer's first byte.
enum class answer : std::uint8_t { ok = 1, refused = 2 };

/// An answer: its kind, then the block's size (little-endian).
constexpr std::size_t answer_size = 9;

socklen_t make_address(const std::string& name, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  auto path = socket_name(name); // begins with '\0': abstract
  std::memcpy(addr.sun_path, path.data(), path.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
}

struct fd_closer {
  int fd;
  ~fd_closer() {
    if (fd >= 0)
      ::close(fd);
  }
};

void send_answer(int conn, answer a, std::uint64_t size, int fd) {
  std::array<char, answer_size> buf{};
  buf[0] = static_cast<char>(a);
  for (std::size_t i = 0; i < 8; ++i)
    buf[1 + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  auto fds = fd < 0 ? std::span<const int>{} : std::span<const int>{&fd, 1};
  // A short or failed send: the asker sees a short answer and says so.
  (void)isolate::send_with_descriptors(conn, buf, fds);
}

} // namespace

std::string socket_name(const std::string& block_name) {
  return std::string{"\0troupe.shm.", 12} + block_name;
}

publication::publication(const std::string& name, int fd, std::size_t size)
  : size_(size), name_(name) {
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0)
    throw std::system_error(errno, std::generic_category(),
                            "shared_memory::publish: socket");
  sockaddr_un addr{};
  auto len = make_address(name, addr);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    ::close(listen_fd_);
    if (err == EADDRINUSE)
      throw value_error("shared_memory::publish: the name '" + name
                        + "' is published already (by this or another "
                          "program)");
    throw std::system_error(err, std::generic_category(),
                            "shared_memory::publish: bind");
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  fd_ = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (::listen(listen_fd_, 16) != 0 || stop_fd_ < 0 || fd_ < 0) {
    int err = errno;
    for (int f : {listen_fd_, stop_fd_, fd_})
      if (f >= 0)
        ::close(f);
    throw std::system_error(err, std::generic_category(),
                            "shared_memory::publish");
  }
  thread_ = std::thread{[this] { serve(); }};
}

publication::~publication() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof(one));
  thread_.join();
  ::close(listen_fd_);
  ::close(stop_fd_);
  ::close(fd_);
}

void publication::serve() {
  for (;;) {
    std::array<pollfd, 2> fds{{{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    if ((fds[1].revents & POLLIN) != 0)
      return;
    if ((fds[0].revents & POLLIN) == 0)
      continue;
    fd_closer conn{::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC)};
    if (conn.fd < 0)
      continue;
    ucred peer{};
    socklen_t len = sizeof(peer);
    bool same_user
      = ::getsockopt(conn.fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) == 0
        && peer.uid == ::geteuid();
    if (same_user)
      send_answer(conn.fd, answer::ok, size_, fd_);
    else
      send_answer(conn.fd, answer::refused, 0, -1);
  }
}

} // namespace troupe::shm::detail

namespace troupe {

void shared_memory::publish() const {
  if (block_ == nullptr)
    throw state_error("shared_memory '" + name_
                      + "': a closed handle cannot be published");
  std::lock_guard guard{block_->mtx};
  if (block_->served == nullptr)
    block_->served = std::make_unique<shm::detail::publication>(
      block_->name, block_->fd, block_->size);
}

shared_memory shared_memory::attach(std::string_view name,
                                    std::chrono::milliseconds timeout) {
  std::string n{name};
  shm::detail::check_name(n);
  shm::detail::fd_closer sock{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0)
    throw std::system_error(errno, std::generic_category(),
                            "shared_memory::attach: socket");
  sockaddr_un addr{};
  auto len = shm::detail::make_address(n, addr);
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  if (::connect(sock.fd, reinterpret_cast<sockaddr*>(&addr), len) != 0)
    throw value_error("shared_memory::attach: no block named '" + n
                      + "' is published (the program that made it calls "
                        "publish(), and serves it while it holds the block)");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<char, shm::detail::answer_size> buf{};
  std::size_t got = 0;
  std::vector<int> fds;
  while (got < buf.size()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    pollfd p{sock.fd, POLLIN, 0};
    int ready
      = ::poll(&p, 1, static_cast<int>(std::max<long>(left.count(), 0)));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      break;
    auto r = isolate::receive_with_descriptors(
               sock.fd, std::span{buf}.subspan(got), fds, 4)
               .bytes;
    if (r <= 0)
      break;
    got += static_cast<std::size_t>(r);
  }
  auto close_fds = [&] {
    for (int f : fds)
      ::close(f);
  };
  if (got < buf.size()) {
    close_fds();
    throw error("shared_memory::attach: the owner of '" + n
                + "' did not answer within " + std::to_string(timeout.count())
                + " ms");
  }
  if (static_cast<shm::detail::answer>(buf[0])
      == shm::detail::answer::refused) {
    close_fds();
    throw error("shared_memory::attach: the owner of '" + n
                + "' refused: it serves only programs run by its own user");
  }
  std::uint64_t size = 0;
  for (std::size_t i = 0; i < 8; ++i)
    size |= static_cast<std::uint64_t>(static_cast<unsigned char>(buf[1 + i]))
            << (8 * i);
  if (static_cast<shm::detail::answer>(buf[0]) != shm::detail::answer::ok
      || fds.size() != 1) {
    close_fds();
    throw value_error("shared_memory::attach: the answer for '" + n
                      + "' is not troupe's");
  }
  return shared_memory{shm::detail::adopt(fds[0], size, n)};
}

} // namespace troupe
