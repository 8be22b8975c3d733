#pragma once
/// `troupe::shared_memory`: a block of memory shared by processes, threads
/// or OS processes alike (Python's `multiprocessing.shared_memory.
/// SharedMemory`). See docs/shared-memory.md.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <troupe/isolate/descriptors.hpp>

namespace troupe {

namespace shm::detail {

struct block;

/// What a handle's record carries across an OS-process boundary.
struct block_record {
  std::uint32_t slot = 0;
  std::uint64_t size = 0;
  std::string name;
};

} // namespace shm::detail

/// A block of `size()` bytes that every holder maps: Python's
/// `SharedMemory(create=True, size=n)`, without Python's ways to leak it.
///
/// The block is a sealed `memfd`, not a name in `/dev/shm`: the kernel
/// frees it when its last holder is gone — every handle closed in every
/// process, however those processes ended (a SIGKILL included). Nothing is
/// to be unlinked and there is no resource tracker. Its size is sealed: no
/// holder can shrink it under the others (or grow it).
///
/// Handing it on: pass a handle to a `process` (it is copied: both refer
/// to the same block) or as an argument of an `os_process` (the descriptor
/// goes with the start record; the child maps the same pages — no copy).
/// Other programs of the same user may attach by name once the block is
/// `publish()`ed.
///
///     troupe::shared_memory shm{1 << 20};
///     std::ranges::fill(shm.bytes(), std::byte{7});
///     troupe::os_process reader{rt, troupe::entry<checksum>, shm};
///
/// Thread-safety: a handle is a value (as `std::shared_ptr`): distinct
/// handles may be used from any threads; one handle must not be `close()`d
/// while another thread uses it. The bytes themselves are shared memory:
/// writers and readers of the same bytes need their own synchronization
/// (a lock, an event, a channel), as in Python.
class shared_memory {
public:
  /// An empty handle (as after `close()`).
  shared_memory() noexcept = default;

  /// Creates a zero-filled block of `size` bytes (Python's
  /// `SharedMemory(create=True, size=size)`), named `name`, or a unique
  /// name (`troupe_` and 12 hex digits) when empty. The name only matters
  /// to `publish()`. Throws `value_error` for a size of zero or a name that
  /// is longer than 100 bytes or holds '/' or '\0'; `std::system_error`
  /// when the OS refuses the memory.
  explicit shared_memory(std::size_t size, std::string name = {});

  /// Attaches to the block another program of this user `publish()`ed as
  /// `name` (Python's `SharedMemory(name)`). Throws `value_error` when no
  /// block is published under `name` (or it is not one of troupe's),
  /// `troupe::error` when its owner refuses (another user) or does not
  /// answer within `timeout`.
  static shared_memory attach(std::string_view name,
                              std::chrono::milliseconds timeout
                              = std::chrono::seconds{5});

  /// The bytes (Python's `buf`). Throws `state_error` on a closed handle.
  [[nodiscard]] std::span<std::byte> bytes() const;

  /// The block's size in bytes (Python's `size`); still known after
  /// `close()`.
  [[nodiscard]] std::size_t size() const noexcept {
    return size_;
  }

  /// The block's name (Python's `name`); still known after `close()`.
  [[nodiscard]] const std::string& name() const noexcept {
    return name_;
  }

  /// Lets this handle go (Python's `close()`): the block stays mapped in
  /// this process while another handle of it lives here, and exists while
  /// any process holds it. Idempotent. There is no `unlink()`: nothing
  /// outlives the last holder.
  void close() noexcept;

  /// Whether this handle was closed (or is empty).
  [[nodiscard]] bool closed() const noexcept {
    return block_ == nullptr;
  }

  /// Opt-in: serves the block to `attach(name())` from other programs run
  /// by the same user (the server checks each peer's uid on its socket,
  /// an abstract Unix socket named after the block). Served until the last
  /// handle in this process is closed. Throws `value_error` when the name
  /// is published already (here or by another program), `state_error` on
  /// a closed handle. Idempotent for the same block.
  void publish() const;

  /// The block's file descriptor (a `memfd`), e.g. to `mmap` it with other
  /// flags; owned by the block. `state_error` on a closed handle.
  [[nodiscard]] int native_handle() const;

  /// Whether the two handles refer to the same block.
  friend bool operator==(const shared_memory& x,
                         const shared_memory& y) noexcept {
    return x.block_ == y.block_;
  }

  /// Crosses into an os_process as its descriptor (see
  /// troupe/isolate/descriptors.hpp); into nothing else.
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    shm::detail::block_record rec;
    if constexpr (Archive::is_saving::value)
      rec = to_record();
    ar& rec.slot& rec.size& rec.name;
    if constexpr (!Archive::is_saving::value)
      *this = from_record(rec);
  }

private:
  explicit shared_memory(std::shared_ptr<shm::detail::block> b);

  shm::detail::block_record to_record() const;
  static shared_memory from_record(const shm::detail::block_record& rec);

  std::shared_ptr<shm::detail::block> block_;
  std::size_t size_ = 0;
  std::string name_;
};

} // namespace troupe
