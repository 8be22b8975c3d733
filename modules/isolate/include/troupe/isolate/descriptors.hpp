#pragma once
/// File descriptors that travel with an `os_process`'s start arguments.
///
/// A type whose value is an open file (a shared-memory block, say) cannot
/// cross into another OS process as bytes: the descriptor must go along,
/// and the kernel passes it (`SCM_RIGHTS` on the control socket, with the
/// start record). Such a type's `serialize()` calls `pass_descriptor(fd)`
/// while saving and writes the slot it returns; while loading in the child
/// it reads the slot and calls `take_descriptor(slot)`.
///
/// Only an `os_process`'s start arguments carry descriptors (so also a
/// supervised `start_os_process` child's, at each restart). Anywhere else
/// — a message, a pool task, a durable store — `pass_descriptor` throws
/// `value_error` saying so.

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace troupe::isolate {

/// The most descriptors one `os_process`'s arguments can carry (the
/// kernel's limit for one message, `SCM_MAX_FD`).
inline constexpr std::size_t max_descriptors = 253;

/// Saving: duplicates `fd` into the descriptors of the arguments being
/// encoded on this thread and returns its slot. Throws `value_error` when
/// no `os_process`'s arguments are being encoded here (naming `what`, e.g.
/// "shared_memory"), or past `max_descriptors`; `std::system_error` when
/// `fd` cannot be duplicated.
std::uint32_t pass_descriptor(int fd, const char* what);

/// Loading, in the child: the descriptor in `slot`, which the caller owns
/// from now on. Each slot is taken once. Throws `value_error` when there is
/// no such slot or it was taken (a malformed record).
int take_descriptor(std::uint32_t slot);

/// One `sendmsg` on the Unix socket `sock`: `bytes` with `fds` attached
/// (`SCM_RIGHTS`; at most `max_descriptors`, travelling with the first of
/// the bytes). Retries on `EINTR`; never raises `SIGPIPE`. Returns the
/// number of bytes sent (a stream socket may take fewer than all; send the
/// rest with plain writes), or -1 with `errno` set.
ssize_t send_with_descriptors(int sock, std::span<const char> bytes,
                              std::span<const int> fds);

/// What one `receive_with_descriptors` got.
struct received_chunk {
  ssize_t bytes = 0;            ///< as `recvmsg`: 0 at end of file, -1 on error
  bool descriptors_cut = false; ///< more descriptors came than were allowed
};

/// One `recvmsg` on `sock` into `bytes`, appending to `fds` the
/// descriptors that came with them (close-on-exec; the caller owns them),
/// making room for at most `max_fds` (<= `max_descriptors`). Retries on
/// `EINTR`. When more came, the kernel closed the rest and
/// `descriptors_cut` says so.
received_chunk receive_with_descriptors(int sock, std::span<char> bytes,
                                        std::vector<int>& fds,
                                        std::size_t max_fds = max_descriptors);

namespace detail {

/// While alive, `pass_descriptor` on this thread collects into it. Nests
/// (the innermost collects). Closes what it holds unless `take()`n.
class descriptor_capture {
public:
  descriptor_capture();
  ~descriptor_capture();
  descriptor_capture(const descriptor_capture&) = delete;
  descriptor_capture& operator=(const descriptor_capture&) = delete;

  /// The descriptors collected, in slot order; the caller owns them.
  std::vector<int> take() noexcept;

private:
  friend std::uint32_t troupe::isolate::pass_descriptor(int, const char*);
  std::vector<int> fds_;
  descriptor_capture* outer_;
};

/// Owned descriptors (closed with it). Move-only.
class descriptor_set {
public:
  descriptor_set() = default;
  explicit descriptor_set(std::vector<int> fds) noexcept
    : fds_(std::move(fds)) {}
  descriptor_set(descriptor_set&& other) noexcept
    : fds_(std::move(other.fds_)) {
    other.fds_.clear();
  }
  descriptor_set& operator=(descriptor_set&& other) noexcept;
  descriptor_set(const descriptor_set&) = delete;
  descriptor_set& operator=(const descriptor_set&) = delete;
  ~descriptor_set();

  [[nodiscard]] const std::vector<int>& fds() const noexcept {
    return fds_;
  }

private:
  std::vector<int> fds_;
};

/// Child side: the descriptors that came with the start record, for
/// `take_descriptor`. Descriptors never taken stay open.
void set_received_descriptors(std::vector<int> fds);

} // namespace detail

} // namespace troupe::isolate
