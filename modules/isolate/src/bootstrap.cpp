#include "bootstrap.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <sys/socket.h>
#include <unistd.h>

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

} // namespace

bool write_bootstrap(int fd, const bootstrap& b) {
  auto body = troupe::serialization::to_bytes(b);
  std::array<char, 8> head{};
  auto size = static_cast<std::uint64_t>(body.size());
  for (std::size_t i = 0; i < head.size(); ++i)
    head[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  return write_all(fd, head.data(), head.size())
         && write_all(fd, body.data(), body.size());
}

bootstrap read_bootstrap(int fd) {
  std::array<char, 8> head{};
  read_all(fd, head.data(), head.size());
  std::uint64_t size = 0;
  for (std::size_t i = 0; i < head.size(); ++i)
    size |= static_cast<std::uint64_t>(static_cast<unsigned char>(head[i]))
            << (8 * i);
  if (size > max_frame)
    throw std::runtime_error("the start record claims " + std::to_string(size)
                             + " bytes (at most 1 GiB)");
  std::string body(size, '\0');
  read_all(fd, body.data(), body.size());
  return troupe::serialization::from_bytes<bootstrap>(body);
}

} // namespace troupe::isolate::detail
