#include "bootstrap.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include <troupe/isolate/descriptors.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace troupe::isolate::detail {

namespace {

/// Larger frames are refused: arguments this big belong in shared memory.
constexpr std::uint64_t max_frame = std::uint64_t{1} << 30;

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void read_all(int fd, char* data, std::size_t size) {
  while (size > 0) {
    auto n = ::read(fd, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      throw std::runtime_error(std::string{"reading the start record: "}
                               + std::strerror(errno));
    if (n == 0)
      throw std::runtime_error("the parent closed the link before sending "
                               "the start record");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

/// Sends `head` with `fds` attached (the first bytes carry them).
bool send_head(int fd, std::array<char, 8>& head, std::span<const int> fds) {
  if (fds.empty())
    return write_all(fd, head.data(), head.size());
  auto n = send_with_descriptors(fd, head, fds);
  if (n < 0)
    return false;
  auto sent = static_cast<std::size_t>(n);
  return write_all(fd, head.data() + sent, head.size() - sent);
}

/// Receives `head`, and the descriptors that come with its first bytes
/// into `fds`.
void receive_head(int fd, std::array<char, 8>& head, std::vector<int>& fds) {
  auto got = receive_with_descriptors(fd, head, fds);
  if (got.bytes < 0)
    throw std::runtime_error(std::string{"reading the start record: "}
                             + std::strerror(errno));
  if (got.bytes == 0)
    throw std::runtime_error("the parent closed the link before sending "
                             "the start record");
  if (got.descriptors_cut)
    throw std::runtime_error("the start record came with more descriptors "
                             "than a start record may carry");
  auto n = static_cast<std::size_t>(got.bytes);
  read_all(fd, head.data() + n, head.size() - n);
}

void close_all(std::vector<int>& fds) {
  for (int f : fds)
    ::close(f);
  fds.clear();
}

} // namespace

bool write_bootstrap(int fd, const bootstrap& b, std::span<const int> fds) {
  auto body = troupe::serialization::to_bytes(b);
  std::array<char, 8> head{};
  auto size = static_cast<std::uint64_t>(body.size());
  for (std::size_t i = 0; i < head.size(); ++i)
    head[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return send_head(fd, head, fds) && write_all(fd, body.data(), body.size());
}

bootstrap read_bootstrap(int fd, std::vector<int>& fds) {
  std::array<char, 8> head{};
  try {
    receive_head(fd, head, fds);
    std::uint64_t size = 0;
    for (std::size_t i = 0; i < head.size(); ++i)
      size |= static_cast<std::uint64_t>(static_cast<unsigned char>(head[i]))
              << (8 * i);
    if (size > max_frame)
      throw std::runtime_error("the start record claims " + std::to_string(size)
                               + " bytes (at most 1 GiB)");
    std::string body(size, '\0');
    read_all(fd, body.data(), body.size());
    auto b = troupe::serialization::from_bytes<bootstrap>(body);
    if (b.descriptors != fds.size())
      throw std::runtime_error(
        "the start record names " + std::to_string(b.descriptors)
        + " descriptors and came with " + std::to_string(fds.size()));
    return b;
  } catch (...) {
    close_all(fds);
    throw;
  }
}

} // namespace troupe::isolate::detail
