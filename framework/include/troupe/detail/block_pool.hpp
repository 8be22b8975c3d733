#pragma once

#include <cstddef>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace troupe::detail {

/// Recycles fixed-size memory blocks between threads, for objects made on
/// one thread and destroyed on another: a process's state and an actor's
/// storage are allocated by the spawner and usually freed by a scheduler
/// worker.
///
/// Why: glibc's malloc serves such a pattern badly. A block freed on
/// another thread goes back to the allocating thread's arena under its
/// lock, and blocks over 1,032 bytes (CAF's actor storage) bypass the
/// per-thread cache entirely; spawning 10,000 actors spent most of the
/// spawning thread's time in `_int_malloc` and `malloc_consolidate`
/// (docs/benchmarks.md, "Processes and actors against raw CAF").
///
/// How: every thread keeps a cache of free blocks. A thread that frees more
/// than it allocates hands batches of `batch` blocks to a shared depot; a
/// thread that allocates more than it frees takes whole batches from it.
/// One lock acquisition moves 64 blocks.
///
/// Memory: each thread caches at most `2 * batch` blocks and the depot at
/// most `DepotBatches * batch`; beyond that blocks go back to `operator
/// delete`. A thread's cache is freed when the thread ends.
///
/// Thread-safety: `allocate` and `deallocate` may be called from any thread,
/// including while threads end (a thread whose cache is gone uses `operator
/// new`/`delete` directly). Under AddressSanitizer the pool is bypassed, so
/// use-after-free stays detectable.
template <std::size_t Size, std::size_t DepotBatches = 256>
class block_pool {
public:
  static_assert(Size >= sizeof(void*)
                && Size % __STDCPP_DEFAULT_NEW_ALIGNMENT__ == 0);
  static_assert(DepotBatches >= 1);

  static constexpr std::size_t batch = 64;
  static constexpr std::size_t depot_batches = DepotBatches;

  [[nodiscard]] static void* allocate() {
#if !defined(__SANITIZE_ADDRESS__)
    if (!cache_gone) {
      auto& c = cache();
      if (c.head == nullptr)
        c.refill();
      if (auto* x = c.head) {
        c.head = x->next;
        --c.count;
        return x;
      }
    }
#endif
    return ::operator new(Size);
  }

  static void deallocate(void* ptr) noexcept {
#if !defined(__SANITIZE_ADDRESS__)
    if (!cache_gone) {
      auto& c = cache();
      auto* x = static_cast<node*>(ptr);
      x->next = c.head;
      c.head = x;
      if (++c.count >= 2 * batch)
        c.spill();
      return;
    }
#endif
    ::operator delete(ptr);
  }

private:
  struct node {
    node* next;
  };

  /// Full batches (`batch` linked blocks each) no thread caches. Never
  /// destroyed: threads may free blocks during static destruction.
  struct depot {
    std::mutex mtx;
    std::vector<node*> batches; // capacity reserved: no allocation under mtx

    depot() {
      batches.reserve(depot_batches);
    }

    static depot& get() {
      static auto* instance = new depot;
      return *instance;
    }
  };

  struct thread_cache {
    node* head = nullptr;
    std::size_t count = 0;

    /// Takes one batch from the depot, if it has one.
    void refill() {
      auto& d = depot::get();
      std::lock_guard guard{d.mtx};
      if (d.batches.empty())
        return;
      head = d.batches.back();
      d.batches.pop_back();
      count = batch;
    }

    /// Moves `batch` blocks to the depot, or frees them if it is full.
    void spill() noexcept {
      auto* first = head;
      auto* last = head;
      for (std::size_t i = 1; i < batch; ++i)
        last = last->next;
      head = last->next;
      last->next = nullptr;
      count -= batch;
      {
        auto& d = depot::get();
        std::lock_guard guard{d.mtx};
        if (d.batches.size() < depot_batches) {
          d.batches.push_back(first);
          return;
        }
      }
      free_list(first);
    }

    static void free_list(node* x) noexcept {
      while (x != nullptr)
        ::operator delete(std::exchange(x, x->next));
    }

    ~thread_cache() {
      cache_gone = true;
      free_list(head);
    }
  };

  static thread_cache& cache() {
    thread_local thread_cache instance;
    return instance;
  }

  /// Set once this thread's cache has been destroyed (trivially
  /// destructible, so still readable afterwards).
  static inline thread_local bool cache_gone = false;
};

/// `block_pool` for objects of type `T` (rounded up to a cache line, so
/// types of similar size share one pool).
template <class T>
using pool_for = block_pool<(sizeof(T) + 63) / 64 * 64>;

/// A standard allocator over `block_pool`, for `std::allocate_shared`:
/// single objects come from the pool, arrays from `operator new`.
template <class T>
struct pool_allocator {
  using value_type = T;

  pool_allocator() noexcept = default;

  template <class U>
  pool_allocator(const pool_allocator<U>&) noexcept {
    // nop
  }

  [[nodiscard]] T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
    if (n == 1)
      return static_cast<T*>(pool_for<T>::allocate());
    return static_cast<T*>(::operator new(n * sizeof(T)));
  }

  void deallocate(T* ptr, std::size_t n) noexcept {
    if (n == 1)
      pool_for<T>::deallocate(ptr);
    else
      ::operator delete(ptr);
  }

  template <class U>
  bool operator==(const pool_allocator<U>&) const noexcept {
    return true;
  }
};

} // namespace troupe::detail
