#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>

#include "troupe/actor.hpp"
#include "troupe/error.hpp"
#include "troupe/queue.hpp"

namespace troupe {

/// An item an attached queue delivered to an actor (see `attach`). The
/// actor handles `troupe::delivery<T>&` and reads `value()`; when the
/// message is destroyed, after the handler returned, the credit it used
/// goes back to the queue, which then delivers the next item. A copy of a
/// delivery carries the value but no credit.
template <class T>
class delivery {
public:
  delivery() = default;

  delivery(T x, std::shared_ptr<detail::credit_line> line)
    : value_(std::move(x)), line_(std::move(line)) {
  }

  delivery(const delivery& other) : value_(other.value_) {
  }

  delivery(delivery&& other) noexcept = default;

  delivery& operator=(const delivery& other) {
    value_ = other.value_;
    return *this;
  }

  delivery& operator=(delivery&& other) noexcept {
    give_back();
    value_ = std::move(other.value_);
    line_ = std::move(other.line_);
    return *this;
  }

  ~delivery() {
    give_back();
  }

  [[nodiscard]] T& value() & noexcept {
    return value_;
  }

  [[nodiscard]] const T& value() const& noexcept {
    return value_;
  }

private:
  void give_back() noexcept {
    if (auto line = std::move(line_))
      line->give_back();
  }

  T value_{};
  std::shared_ptr<detail::credit_line> line_;
};

namespace detail {

/// Feeds an attached queue's items to one actor within a credit.
template <class T>
class actor_target : public pump_target<T>,
                     public credit_line,
                     public std::enable_shared_from_this<actor_target<T>> {
public:
  actor_target(caf::actor dest, std::size_t credit,
               std::weak_ptr<queue_state<T>> q)
    : dest_(std::move(dest)), credit_(credit), q_(std::move(q)) {
  }

  bool has_credit() override {
    return !dead_.load(std::memory_order_acquire)
           && credit_.load(std::memory_order_acquire) > 0;
  }

  bool deliver(T&& x) override {
    credit_.fetch_sub(1, std::memory_order_acq_rel);
    caf::anon_send(dest_, delivery<T>{std::move(x), this->shared_from_this()});
    return !dead_.load(std::memory_order_acquire);
  }

  void give_back() override {
    credit_.fetch_add(1, std::memory_order_acq_rel);
    if (in_pump) {
      // Destroyed during our own send: the actor is gone.
      dead_.store(true, std::memory_order_release);
      return;
    }
    // Every return refills at once: an actor may keep deliveries until
    // more arrive, so holding credit back could stall it.
    if (auto q = q_.lock())
      q->pump();
  }

  void stop() {
    dead_.store(true, std::memory_order_release);
  }

  [[nodiscard]] std::size_t credit() const noexcept {
    return credit_.load(std::memory_order_acquire);
  }

private:
  caf::actor dest_;
  std::atomic<std::size_t> credit_;
  std::atomic<bool> dead_{false};
  std::weak_ptr<queue_state<T>> q_;
};

} // namespace detail

/// A queue attached to an actor (see `attach`). Cheap to copy.
template <class T>
class attachment {
public:
  explicit attachment(std::shared_ptr<detail::queue_state<T>> q,
                      std::shared_ptr<detail::actor_target<T>> target)
    : q_(std::move(q)), target_(std::move(target)) {
  }

  /// Stops delivering: items not yet delivered stay in the queue for
  /// `get()`; items already delivered still arrive. Does not block.
  void detach() {
    target_->stop();
    q_->set_target(nullptr);
  }

private:
  std::shared_ptr<detail::queue_state<T>> q_;
  std::shared_ptr<detail::actor_target<T>> target_;
};

/// Attaches `q` to an event-based actor, which then consumes it without
/// blocking a thread: each item arrives in the actor's mailbox as a
/// `troupe::delivery<T>` message, at most `credit` of them delivered and
/// not yet handled at any time. The credit of an item returns when the
/// actor has handled it (its message is destroyed), and the queue sends the
/// next one; a slow actor therefore leaves items in the queue, and a
/// bounded queue then blocks (or fails, or drops, per its policy) its
/// producers: backpressure holds end to end.
///
/// Ordering: items arrive in queue order (they are sent under the queue's
/// lock, and a mailbox keeps the order of one sender). Other consumers may
/// still `get()` from the queue; each item goes to exactly one of them.
/// When the actor ends, delivery stops and later items stay in the queue;
/// items in its mailbox at that moment are lost with it. Does not block;
/// throws `value_error` for a zero credit or an invalid actor.
///
/// `T` must be copy-constructible and default-constructible (CAF message
/// types); `delivery<T>` is marked local-only, so it never crosses a node.
template <class T>
attachment<T> attach(const queue<T>& q, const caf::actor& consumer,
                     std::size_t credit = 64) {
  static_assert(std::is_copy_constructible_v<T>
                  && std::is_default_constructible_v<T>,
                "attach(): items travel as CAF messages, so T must be "
                "copy- and default-constructible");
  if (credit == 0)
    throw value_error("attach(): the credit must be at least 1");
  if (!consumer)
    throw value_error("attach(): the actor handle is invalid");
  auto target = std::make_shared<detail::actor_target<T>>(consumer, credit,
                                                          q.state());
  std::weak_ptr<detail::actor_target<T>> weak = target;
  caf::actor_cast<caf::abstract_actor*>(consumer)->attach_functor([weak] {
    if (auto t = weak.lock())
      t->stop();
  });
  q.state()->set_target(target);
  return attachment<T>{q.state(), std::move(target)};
}

/// As `attach(q, caf_actor, credit)`, for an actor spawned with
/// `troupe::spawn`.
template <class T>
attachment<T> attach(const queue<T>& q, const troupe::actor& consumer,
                     std::size_t credit = 64) {
  return attach(q, consumer.handle(), credit);
}

} // namespace troupe

namespace caf {

/// Deliveries stay inside one OS process (they carry a credit pointer).
template <class T>
struct allowed_unsafe_message_type<troupe::delivery<T>> : std::true_type {};

} // namespace caf
