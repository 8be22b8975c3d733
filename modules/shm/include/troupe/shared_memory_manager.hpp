#pragma once
/// `troupe::shared_memory_manager`: Python's
/// `multiprocessing.managers.SharedMemoryManager`. See
/// docs/shared-memory.md.

#include <cstddef>
#include <initializer_list>
#include <mutex>
#include <string>
#include <vector>

#include <troupe/shareable_list.hpp>
#include <troupe/shared_memory.hpp>

namespace troupe {

/// Makes blocks and lists and keeps them until `shutdown()` (or its
/// destruction): Python's `with SharedMemoryManager() as smm:`.
///
/// Python needs the manager so that blocks are unlinked at the end; in
/// troupe a block is freed with its last holder anyway, so the manager is
/// a scope: it holds a handle of everything it made, and `shutdown()` lets
/// those go. Handles given out stay valid (as in Python, where a process
/// that still maps a block keeps using it after the manager unlinked it);
/// the memory goes when the last of them is closed, here and in every
/// process it was handed to.
///
///     troupe::shared_memory_manager smm;
///     auto sl = smm.shareable_list(std::views::iota(0, 2000));
///     troupe::os_process p1{rt, troupe::entry<do_work>, sl, 0, 1000};
///
/// Thread-safety: every member may be called from any thread.
class shared_memory_manager {
public:
  shared_memory_manager() = default;
  ~shared_memory_manager();
  shared_memory_manager(const shared_memory_manager&) = delete;
  shared_memory_manager& operator=(const shared_memory_manager&) = delete;

  /// A new zero-filled block of `size` bytes (Python's
  /// `smm.SharedMemory(size)`). `state_error` after `shutdown()`.
  troupe::shared_memory shared_memory(std::size_t size);

  /// A new list (Python's `smm.ShareableList(sequence)`). `state_error`
  /// after `shutdown()`.
  troupe::shareable_list
  shareable_list(std::initializer_list<troupe::shareable_list::item> items);

  template <std::ranges::input_range R>
  troupe::shareable_list shareable_list(R&& r) {
    return keep(troupe::shareable_list{std::forward<R>(r)});
  }

  /// Lets go of every block it made (Python's `shutdown()`). Idempotent;
  /// nothing can be made afterwards.
  void shutdown() noexcept;

  /// How many blocks it holds.
  [[nodiscard]] std::size_t blocks() const;

private:
  troupe::shareable_list keep(troupe::shareable_list sl);
  void check_open() const;

  mutable std::mutex mtx_;
  std::vector<troupe::shared_memory> held_;
  bool shut_down_ = false;
};

} // namespace troupe
