#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>

#include "troupe/detail/channel.hpp"
#include "troupe/detail/queue_pump.hpp"
#include "troupe/queue_options.hpp"

namespace troupe::detail {

/// The shared state behind every handle of a `queue`, `simple_queue` or
/// `joinable_queue`: what the handles, `select`, `wait` and `attach` call.
///
/// The storage is chosen once, when the queue is made (`make_queue_state`,
/// as SObjectizer's `make_mchain` picks an mchain's queue class), and each
/// operation is one virtual call into it:
/// - `ring_queue_state`: a bounded queue whose overflow policy is `block`,
///   `fail` or `drop_newest` and whose `T` moves without throwing keeps its
///   items in a lock-free `mpmc_ring`; its mutex only parks and wakes.
/// - `locked_queue_state`: every other queue (unbounded, `drop_oldest`,
///   joinable) keeps them in a deque guarded by `mtx`.
///
/// Thread-safety: every member may be called from any thread at once;
/// members marked (mtx) expect `mtx` held.
/// Lifetime: shared by the handles (an attached actor holds it weakly);
/// destroying it destroys the items left in it.
template <class T>
class queue_state : public channel_core,
                    public credit_line,
                    public std::enable_shared_from_this<queue_state<T>> {
public:
  ~queue_state() override = default;

  // -- put and get ------------------------------------------------------------

  /// Stores a copy of `x`, waiting as `w` allows. The copy is made only
  /// when it is stored. Never called for a `T` that cannot be copied
  /// (`queue`'s copying puts require a copyable `T`).
  virtual status put(const T& x, const ext::deadline& w) = 0;

  /// Stores `x`, moved from only when stored, waiting as `w` allows.
  virtual status put(T&& x, const ext::deadline& w) = 0;

  /// Takes the oldest item into `out`, waiting as `w` allows.
  virtual status get(std::optional<T>& out, const ext::deadline& w) = 0;

  // -- observers and close ----------------------------------------------------

  /// Items queued now (a snapshot).
  [[nodiscard]] virtual std::size_t size() const = 0;

  [[nodiscard]] virtual bool full() const = 0;

  [[nodiscard]] virtual bool is_closed() const = 0;

  /// Items discarded by the drop policies so far.
  [[nodiscard]] virtual std::size_t dropped() const = 0;

  /// Closes the queue and wakes every waiter; idempotent.
  virtual void close() = 0;

  [[nodiscard]] std::size_t capacity() const noexcept {
    return capacity_;
  }

  [[nodiscard]] overflow policy() const noexcept {
    return policy_;
  }

  // -- select and wait --------------------------------------------------------

  /// Whether a get would not block (an item, or closed). (mtx)
  [[nodiscard]] virtual bool readable_locked() const = 0;

  /// Registers a `select` or `wait` call watching this queue.
  virtual void watch_select(select_waiter* w) {
    watch(w);
  }

  /// Undoes a `watch_select(w)` that returned.
  virtual void unwatch_select(select_waiter* w) {
    unwatch(w);
  }

  // -- attach -----------------------------------------------------------------

  /// Attaches `target` (replacing any attached actor) with `limit` items
  /// in flight at most; returns the attachment's generation.
  virtual std::uint32_t attach_target(std::shared_ptr<pump_target<T>> target,
                                      std::uint32_t limit)
    = 0;

  /// Ends attachment `gen` (a detach, or its actor ended); nothing if a
  /// later attachment replaced it. Once this returns, no item is sent to
  /// that actor any more.
  virtual void detach_target(std::uint32_t gen) = 0;

protected:
  queue_state(std::size_t capacity, overflow policy)
    : capacity_(capacity), policy_(policy) {}

  /// Hands items taken with `pop` to the attached actor; see
  /// `queue_pump::drain`. (pump owner)
  template <class Pop>
  std::size_t drain_to_target(Pop pop) noexcept {
    return pump_.drain(pop, [this]() -> std::shared_ptr<credit_line> {
      return this->shared_from_this();
    });
  }

  const std::size_t capacity_;
  const overflow policy_;
  queue_pump<T> pump_;
};

/// Stands for the copying put of a `T` that cannot be copied, which no
/// caller reaches: `queue` offers it only for copyable types, but a virtual
/// member is compiled for every `T`.
[[noreturn]] inline void put_of_move_only() noexcept {
  std::terminate();
}

/// Throws what a put that returned `s` (`closed` or `would_block`) means
/// for its caller: `closed`, or `full` with the reason.
[[noreturn]] void throw_put_failed(status s, std::size_t capacity,
                                   overflow policy, bool timed);

/// Throws what a get named `what` that returned `s` (`closed` or
/// `would_block`) means for its caller: `closed`, or `empty` with the
/// reason.
[[noreturn]] void throw_get_failed(status s, bool timed, const char* what);

} // namespace troupe::detail
