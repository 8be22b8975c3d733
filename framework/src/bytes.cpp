#include "troupe/bytes.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>
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
  = detail::block_pool<Size, std::max<std::size_t>(1, (std::size_t{4} << 20)
                                                        / (Size * 64))>;

/// Each size class's pool.
struct pool_ops {
  void* (*allocate)();
  void (*deallocate)(void*) noexcept;
};

template <std::size_t Size>
constexpr pool_ops ops_for{&bytes_pool<Size>::allocate,
                           &bytes_pool<Size>::deallocate};

constexpr pool_ops pools[]
  = {ops_for<64>,   ops_for<128>,  ops_for<256>, ops_for<512>,
     ops_for<1024>, ops_for<2048>, ops_for<4096>};
static_assert(smallest << (std::size(pools) - 1) == largest);

/// The pool of a buffer of `n` bytes (0 < n <= largest).
const pool_ops& pool_of(std::size_t n) noexcept {
  std::size_t k = 0;
  for (auto cap = smallest; cap < n; cap <<= 1)
    ++k;
  return pools[k];
}

void* allocate_block(std::size_t n) {
  return n > largest ? ::operator new(n) : pool_of(n).allocate();
}

void deallocate_block(void* ptr, std::size_t n) noexcept {
  if (n > largest)
    ::operator delete(ptr);
  else
    pool_of(n).deallocate(ptr);
}

} // namespace

bytes::bytes(size_type n, char fill) {
  if (n == 0)
    return;
  allocate(n);
  std::memset(data_, fill, n);
}

bytes::bytes(std::string_view text) : bytes(text.data(), text.size()) {}

bytes::bytes(const void* data, size_type n) {
  if (n == 0)
    return;
  allocate(n);
  std::memcpy(data_, data, n);
}

bytes::bytes(const bytes& other) : bytes(other.data_, other.size_) {}

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
