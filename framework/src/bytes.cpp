#include "troupe/bytes.hpp"

#include <algorithm>
#include <cstring>
#include <new>

#include "troupe/detail/block_pool.hpp"

namespace troupe {

namespace {

// Size classes: 64 B << k for k = 0..6, up to 4 KiB. Each class's depot
// keeps at most 4 MiB (and one batch at least).
constexpr std::size_t smallest = 64;
constexpr std::size_t largest = 4096;

template <std::size_t Size>
using bytes_pool
  = detail::block_pool<Size, std::max<std::size_t>(
                               1, (std::size_t{4} << 20) / (Size * 64))>;

/// The class index of a buffer of `n` bytes (0 < n <= largest).
int size_class(std::size_t n) noexcept {
  int k = 0;
  for (auto cap = smallest; cap < n; cap <<= 1)
    ++k;
  return k;
}

void* allocate_block(std::size_t n) {
  if (n > largest)
    return ::operator new(n);
  switch (size_class(n)) {
    case 0:
      return bytes_pool<64>::allocate();
    case 1:
      return bytes_pool<128>::allocate();
    case 2:
      return bytes_pool<256>::allocate();
    case 3:
      return bytes_pool<512>::allocate();
    case 4:
      return bytes_pool<1024>::allocate();
    case 5:
      return bytes_pool<2048>::allocate();
    default:
      return bytes_pool<4096>::allocate();
  }
}

void deallocate_block(void* ptr, std::size_t n) noexcept {
  if (n > largest) {
    ::operator delete(ptr);
    return;
  }
  switch (size_class(n)) {
    case 0:
      bytes_pool<64>::deallocate(ptr);
      break;
    case 1:
      bytes_pool<128>::deallocate(ptr);
      break;
    case 2:
      bytes_pool<256>::deallocate(ptr);
      break;
    case 3:
      bytes_pool<512>::deallocate(ptr);
      break;
    case 4:
      bytes_pool<1024>::deallocate(ptr);
      break;
    case 5:
      bytes_pool<2048>::deallocate(ptr);
      break;
    default:
      bytes_pool<4096>::deallocate(ptr);
      break;
  }
}

} // namespace

bytes::bytes(size_type n, char fill) {
  if (n == 0)
    return;
  allocate(n);
  std::memset(data_, fill, n);
}

bytes::bytes(std::string_view text) : bytes(text.data(), text.size()) {
}

bytes::bytes(const void* data, size_type n) {
  if (n == 0)
    return;
  allocate(n);
  std::memcpy(data_, data, n);
}

bytes::bytes(const bytes& other) : bytes(other.data_, other.size_) {
}

bytes& bytes::operator=(const bytes& other) {
  if (this != &other)
    *this = bytes{other};
  return *this;
}

void bytes::allocate(size_type n) {
  data_ = static_cast<char*>(allocate_block(n));
  size_ = n;
}

void bytes::deallocate(char* data, size_type n) noexcept {
  deallocate_block(data, n);
}

} // namespace troupe
