#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "troupe/detail/mpmc_ring.hpp"

namespace troupe::detail {

/// Takes back the credit of deliveries an attached actor handled; see
/// `troupe::attach`. Implemented by the queue.
class credit_line {
public:
  virtual ~credit_line() = default;
  /// `items` delivered under attachment `generation` were handled (their
  /// message was destroyed), in `messages` batches (0 for a `delivery`,
  /// which counts as an item only). Credit of an earlier attachment is
  /// ignored.
  virtual void give_back(std::uint32_t generation, std::uint32_t items,
                         std::uint32_t messages) noexcept = 0;
};

/// True on a thread that is handing queued items to an attached actor.
inline thread_local bool in_pump = false;

/// Set when a delivery is destroyed during its own send: the actor is gone.
inline thread_local bool delivery_bounced = false;

/// Sends items to an attached actor (`troupe::attach`). Called only by the
/// thread that runs the queue's pump.
template <class T>
class pump_target {
public:
  virtual ~pump_target() = default;
  /// Whether items go in batches (`deliveries`) rather than one per
  /// message (`delivery`).
  [[nodiscard]] virtual bool batched() const noexcept = 0;
  /// The most items one batch carries.
  [[nodiscard]] virtual std::uint32_t max_batch() const noexcept = 0;
  /// Sends one item. A dead actor's mailbox destroys the message at once,
  /// which the pump sees through `delivery_bounced`.
  virtual void deliver(T&& x, const std::shared_ptr<credit_line>& line,
                       std::uint32_t generation)
    = 0;
  /// Sends `xs` (left empty) in one message, as `deliver(x, ...)`.
  virtual void deliver(std::vector<T>& xs,
                       const std::shared_ptr<credit_line>& line,
                       std::uint32_t generation)
    = 0;
};

/// Feeds a queue's attached actor (`troupe::attach`) with bounded credit:
/// the actor, its credit, and the loop that hands it items while credit
/// lasts. The queue's storage says where items come from (`drain`'s `pop`)
/// and who runs the pump (one thread at a time: the "pump owner").
///
/// The credit lives in one atomic word: the attachment's generation (bits
/// 40-63), the batches it may still have in flight (bits 32-39, batched
/// attachments only) and its free item credit (bits 0-31). A new
/// generation voids the credit of the one before, so late returns of a
/// detached actor's deliveries change nothing. Only the pump lowers the
/// credit; returns and detaches may change it at any time.
template <class T>
class queue_pump {
public:
  /// Whether the current attachment may take another message now. Any
  /// thread; a put that finds it true asks for the pump.
  [[nodiscard]] bool has_credit() const noexcept {
    return may_send(credit_.load());
  }

  /// Whether an actor is attached. (pump owner)
  [[nodiscard]] bool attached() const noexcept {
    return target_ != nullptr;
  }

  /// Voids the credit of the current attachment, whichever it is, so that
  /// its pump, if one runs, stops at its next item. Any thread.
  void void_current() noexcept {
    auto word = credit_.load();
    while (!credit_.compare_exchange_weak(word, next_generation(word))) {
    }
  }

  /// Moves the credit to the next generation, without credit, if
  /// attachment `gen` is still the current one; returns whether it did.
  /// Any thread.
  bool void_credit(std::uint32_t gen) noexcept {
    auto word = credit_.load();
    do {
      if (generation(word) != gen)
        return false;
    } while (!credit_.compare_exchange_weak(word, next_generation(word)));
    return true;
  }

  /// Installs `target` under a new generation, with `limit` items in
  /// flight at most; returns the generation. (pump owner)
  std::uint32_t set_target(std::shared_ptr<pump_target<T>> target,
                           std::uint32_t limit) {
    // A single-item attachment's batch count never moves: 1 in flight
    // always "left".
    // GCC 12 reports `target` as used uninitialized where attach_target,
    // a virtual member compiled for every queue, is never called (a false
    // positive under -O2).
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic push
#  pragma GCC diagnostic ignored "-Wuninitialized"
#endif
    std::uint64_t batches = target->batched() ? batches_in_flight : 1;
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic pop
#endif
    auto word = credit_.load();
    std::uint64_t next = 0;
    do {
      next = next_generation(word) | (batches << message_shift) | limit;
    } while (!credit_.compare_exchange_weak(word, next));
    target_ = std::move(target);
    target_gen_ = generation(next);
    return target_gen_;
  }

  /// Takes back the credit of `items` handled in `messages` batches under
  /// attachment `gen`; returns whether the caller should now run the pump
  /// (false for an earlier attachment, and during the pump's own send,
  /// where a destroyed delivery means that the actor is gone and the pump
  /// must not be re-entered). Any thread.
  bool credit_returned(std::uint32_t gen, std::uint32_t items,
                       std::uint32_t messages) noexcept {
    auto word = credit_.load();
    do {
      if (generation(word) != gen)
        return false;
    } while (!credit_.compare_exchange_weak(
      word, word + items + (std::uint64_t{messages} << message_shift)));
    if (in_pump) {
      delivery_bounced = true;
      return false;
    }
    return true;
  }

  /// Hands items taken with `pop` (`bool(std::optional<T>&) noexcept`) to
  /// the attached target, as many at once as its batch and the credit
  /// allow; drops the target once it is detached or its actor is gone.
  /// `line()` gives the credit line the deliveries return credit to.
  /// Returns how many items it sent. (pump owner)
  template <class Pop, class Line>
  std::size_t drain(Pop pop, Line line_of) noexcept {
    if (target_ == nullptr)
      return 0;
    const bool batched = target_->batched();
    const auto batch = batched ? target_->max_batch() : 1;
    std::shared_ptr<credit_line> line;
    std::optional<T> x;
    std::size_t sent = 0;
    bool alive = true;
    auto prev = std::exchange(in_pump, true);
    for (;;) {
      auto word = credit_.load();
      if (generation(word) != target_gen_) {
        alive = false; // detached
        break;
      }
      if (!may_send(word))
        break;
      std::uint32_t got = 0;
      if (!batched) {
        if (!pop(x))
          break;
        got = 1;
      } else {
        auto want = std::min(credit(word), batch);
        while (got < want && pop(x)) {
          batch_.push_back(std::move(*x));
          ++got;
        }
        if (got == 0)
          break;
      }
      // Only the pump lowers the credit. A detach may void it meanwhile;
      // the items taken still go, as they left the queue before it.
      const std::uint64_t cost
        = got + (batched ? std::uint64_t{1} << message_shift : 0);
      while (generation(word) == target_gen_
             && !credit_.compare_exchange_weak(word, word - cost)) {
      }
      if (line == nullptr)
        line = line_of();
      delivery_bounced = false;
      if (!batched)
        target_->deliver(std::move(*x), line, target_gen_);
      else
        target_->deliver(batch_, line, target_gen_);
      alive = !delivery_bounced;
      batch_.clear();
      sent += got;
      if (!alive)
        break;
    }
    in_pump = prev;
    if (!alive) {
      // The actor is gone (a delivery bounced) or was detached.
      void_credit(target_gen_);
      target_.reset();
    }
    return sent;
  }

private:
  static constexpr std::uint64_t credit_mask = 0xffff'ffff;
  static constexpr unsigned message_shift = 32;
  static constexpr unsigned generation_shift = 40;

  /// Batches a batched attachment has in flight at most: while the actor
  /// handles one, the next waits in its mailbox, and the items put
  /// meanwhile gather in the queue for the one after (natural batching).
  /// A single-item attachment is limited by its item credit only.
  static constexpr std::uint32_t batches_in_flight = 2;

  static std::uint32_t generation(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> generation_shift);
  }

  static std::uint32_t credit(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word & credit_mask);
  }

  static std::uint32_t messages(std::uint64_t word) noexcept {
    return static_cast<std::uint32_t>(word >> message_shift) & 0xff;
  }

  static bool may_send(std::uint64_t word) noexcept {
    return credit(word) != 0 && messages(word) != 0;
  }

  /// A word of the next generation, without credit (the 24-bit generation
  /// wraps).
  static std::uint64_t next_generation(std::uint64_t word) noexcept {
    return static_cast<std::uint64_t>((generation(word) + 1) & 0xff'ffff)
           << generation_shift;
  }

  // Read by every put of a queue with an attached actor, written by the
  // pump and by returns: a line of its own.
  alignas(ring_line) std::atomic<std::uint64_t> credit_{0};
  // The attached actor, if any, and the scratch batch. (pump owner)
  alignas(ring_line) std::shared_ptr<pump_target<T>> target_;
  std::uint32_t target_gen_ = 0;
  std::vector<T> batch_;
};

} // namespace troupe::detail
