#pragma once

#include <compare>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace troupe {

/// A byte string for payloads that one process makes and another drops,
/// as Python's `bytes` between processes: a fixed-size buffer, cheap to
/// move through a channel, freed wherever its last holder ends.
///
/// Why not `std::string`: glibc's malloc returns a block freed on another
/// thread to the allocating thread's arena under that arena's lock, so a
/// producer allocating strings and a consumer freeing them contend on it
/// for every item (docs/benchmarks.md, "Channels": 1 KiB strings move at
/// about 0.5-1 M/s, bytes at several times that). `bytes` up to 4 KiB come
/// from per-size block pools with per-thread caches that hand freed blocks
/// back in batches of 64 (one lock per batch); larger ones from `operator
/// new`.
///
/// Memory: each size class (64 B to 4 KiB, powers of two) keeps at most
/// 128 free blocks per thread and 4 MiB in its shared depot; the rest goes
/// back to the system.
///
/// Thread-safety: a `bytes` object is a value (no sharing between copies);
/// distinct objects may be used from any threads. Not null-terminated.
class bytes {
public:
  using value_type = char;
  using size_type = std::size_t;
  using iterator = char*;
  using const_iterator = const char*;

  /// Empty; does not allocate.
  bytes() noexcept = default;

  /// `n` copies of `fill` (as `std::string(n, fill)`).
  bytes(size_type n, char fill);

  /// A copy of `text`.
  explicit bytes(std::string_view text);

  /// A copy of `n` bytes at `data`.
  bytes(const void* data, size_type n);

  bytes(const bytes& other);

  bytes(bytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

  bytes& operator=(const bytes& other);

  bytes& operator=(bytes&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  ~bytes() {
    release();
  }

  [[nodiscard]] char* data() noexcept {
    return data_;
  }

  [[nodiscard]] const char* data() const noexcept {
    return data_;
  }

  [[nodiscard]] size_type size() const noexcept {
    return size_;
  }

  [[nodiscard]] bool empty() const noexcept {
    return size_ == 0;
  }

  [[nodiscard]] char& operator[](size_type i) noexcept {
    return data_[i];
  }

  [[nodiscard]] char operator[](size_type i) const noexcept {
    return data_[i];
  }

  [[nodiscard]] iterator begin() noexcept {
    return data_;
  }

  [[nodiscard]] iterator end() noexcept {
    return data_ + size_;
  }

  [[nodiscard]] const_iterator begin() const noexcept {
    return data_;
  }

  [[nodiscard]] const_iterator end() const noexcept {
    return data_ + size_;
  }

  /// The bytes as a view (valid while this object lives unchanged).
  [[nodiscard]] std::string_view view() const noexcept {
    return {data_, size_};
  }

  /// A `std::string` copy.
  [[nodiscard]] std::string str() const {
    return std::string{view()};
  }

  friend bool operator==(const bytes& x, const bytes& y) noexcept {
    return x.view() == y.view();
  }

  friend std::strong_ordering operator<=>(const bytes& x,
                                          const bytes& y) noexcept {
    return x.view() <=> y.view();
  }

  /// CAF serialization (as a string), so `bytes` can be a message type.
  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, bytes& x) {
    if constexpr (Inspector::reads_state) {
      std::string copy = x.str();
      return f(copy);
    } else {
      std::string copy;
      auto result = f(copy);
      x = bytes{copy};
      return result;
    }
  }

private:
  /// Allocates room for `n` bytes (n > 0) into `data_`, `size_`.
  void allocate(size_type n);

  void release() noexcept {
    if (data_ != nullptr)
      deallocate(data_, size_);
  }

  static void deallocate(char* data, size_type n) noexcept;

  char* data_ = nullptr;
  size_type size_ = 0;
};

} // namespace troupe
