#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>

#include "troupe/actor.hpp"
#include "troupe/error.hpp"
#include "troupe/joinable_queue.hpp"
#include "troupe/queue.hpp"

namespace troupe {

namespace detail {

/// The credit one message from an attached queue holds, given back to the
/// queue when the message is destroyed (or assigned over). A copy holds
/// none, as it is not the delivered message; a move takes it along.
class held_credit {
public:
  held_credit() = default;

  held_credit(std::shared_ptr<credit_line> line, std::uint32_t generation,
              std::uint32_t items, std::uint32_t messages) noexcept
    : line_(std::move(line)), generation_(generation), items_(items),
      messages_(messages) {}

  held_credit(const held_credit&) noexcept {
    // A copy holds no credit.
  }

  held_credit(held_credit&&) noexcept = default;

  held_credit& operator=(const held_credit&) noexcept {
    return *this; // keeps its own
  }

  held_credit& operator=(held_credit&& other) noexcept {
    if (this != &other) {
      give_back();
      line_ = std::move(other.line_);
      generation_ = other.generation_;
      items_ = other.items_;
      messages_ = other.messages_;
    }
    return *this;
  }

  ~held_credit() {
    give_back();
  }

private:
  void give_back() noexcept {
    if (auto line = std::move(line_))
      line->give_back(generation_, items_, messages_);
  }

  std::shared_ptr<credit_line> line_;
  std::uint32_t generation_ = 0;
  std::uint32_t items_ = 0;
  std::uint32_t messages_ = 0;
};

} // namespace detail

/// An item an attached queue delivered to an actor (see `attach`). The
/// actor handles `troupe::delivery<T>&` and reads `value()`; when the
/// message is destroyed, after the handler returned, the credit it used
/// goes back to the queue, which then delivers the next item. A copy of a
/// delivery carries the value but no credit.
template <class T>
class delivery {
public:
  delivery() = default;

  delivery(T x, std::shared_ptr<detail::credit_line> line,
           std::uint32_t generation)
    : value_(std::move(x)), credit_(std::move(line), generation, 1, 0) {}

  [[nodiscard]] T& value() & noexcept {
    return value_;
  }

  [[nodiscard]] const T& value() const& noexcept {
    return value_;
  }

private:
  T value_{};
  detail::held_credit credit_;
};

/// Several items an attached queue delivered to an actor in one message
/// (see `attach_batched`), oldest first. The actor handles
/// `troupe::deliveries<T>&` and iterates it (or takes the items out of
/// `items()`); when the message is destroyed, after the handler returned,
/// the credit of all its items goes back to the queue. A copy carries the
/// items but no credit.
template <class T>
class deliveries {
public:
  using value_type = T;
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  deliveries() = default;

  deliveries(std::vector<T> xs, std::shared_ptr<detail::credit_line> line,
             std::uint32_t generation)
    : items_(std::move(xs)),
      credit_(std::move(line), generation,
              static_cast<std::uint32_t>(items_.size()), 1) {}

  [[nodiscard]] std::size_t size() const noexcept {
    return items_.size();
  }

  [[nodiscard]] bool empty() const noexcept {
    return items_.empty();
  }

  [[nodiscard]] T& operator[](std::size_t i) noexcept {
    return items_[i];
  }

  [[nodiscard]] const T& operator[](std::size_t i) const noexcept {
    return items_[i];
  }

  [[nodiscard]] iterator begin() noexcept {
    return items_.begin();
  }

  [[nodiscard]] iterator end() noexcept {
    return items_.end();
  }

  [[nodiscard]] const_iterator begin() const noexcept {
    return items_.begin();
  }

  [[nodiscard]] const_iterator end() const noexcept {
    return items_.end();
  }

  /// The items, to move some out; the credit is counted by what was
  /// delivered, not by what is left.
  [[nodiscard]] std::vector<T>& items() & noexcept {
    return items_;
  }

private:
  std::vector<T> items_;
  detail::held_credit credit_;
};

namespace detail {

/// Sends an attached queue's items to one actor, as a `delivery` each or
/// as `deliveries` of up to `max_batch`.
template <class T>
class actor_target final : public pump_target<T> {
public:
  actor_target(caf::actor dest, bool batched, std::uint32_t max_batch)
    : dest_(std::move(dest)), batched_(batched), max_batch_(max_batch) {}

  bool batched() const noexcept override {
    return batched_;
  }

  std::uint32_t max_batch() const noexcept override {
    return max_batch_;
  }

  void deliver(T&& x, const std::shared_ptr<credit_line>& line,
               std::uint32_t generation) override {
    caf::anon_send(dest_, delivery<T>{std::move(x), line, generation});
  }

  void deliver(std::vector<T>& xs, const std::shared_ptr<credit_line>& line,
               std::uint32_t generation) override {
    // An exact-size copy for the message; `xs` keeps its capacity.
    std::vector<T> items;
    items.reserve(xs.size());
    std::move(xs.begin(), xs.end(), std::back_inserter(items));
    xs.clear();
    caf::anon_send(dest_, deliveries<T>{std::move(items), line, generation});
  }

private:
  caf::actor dest_;
  bool batched_;
  std::uint32_t max_batch_;
};

/// Attaches `consumer` to `q`; see `attach` and `attach_batched`.
template <class T>
std::uint32_t attach_actor(const std::shared_ptr<queue_state<T>>& q,
                           const caf::actor& consumer, std::size_t credit,
                           bool batched, std::size_t max_batch,
                           const char* fn) {
  static_assert(
    std::is_copy_constructible_v<T> && std::is_default_constructible_v<T>,
    "attach(): items travel as CAF messages, so T must be "
    "copy- and default-constructible");
  constexpr std::size_t most = std::size_t{1} << 30;
  if (credit == 0 || credit > most)
    throw value_error(std::string{fn}
                      + ": the credit must be between 1 and 2^30, not "
                      + std::to_string(credit));
  if (max_batch == 0 || max_batch > most)
    throw value_error(std::string{fn}
                      + ": max_batch must be between 1 and 2^30, not "
                      + std::to_string(max_batch));
  if (!consumer)
    throw value_error(std::string{fn} + ": the actor handle is invalid");
  auto gen = q->attach_target(
    std::make_shared<actor_target<T>>(consumer, batched,
                                      static_cast<std::uint32_t>(max_batch)),
    static_cast<std::uint32_t>(credit));
  // Stop delivering when the actor ends (the functor runs at once if it
  // already has).
  std::weak_ptr<queue_state<T>> weak = q;
  caf::actor_cast<caf::abstract_actor*>(consumer)->attach_functor([weak, gen] {
    if (auto state = weak.lock())
      state->detach_target(gen);
  });
  return gen;
}

} // namespace detail

/// A queue attached to an actor (see `attach`). Cheap to copy.
template <class T>
class attachment {
public:
  attachment(std::shared_ptr<detail::queue_state<T>> q,
             std::uint32_t generation)
    : q_(std::move(q)), generation_(generation) {}

  /// Stops delivering: items not yet delivered stay in the queue for
  /// `get()`; items already delivered still arrive, and none is sent to the
  /// actor after this returns. Does nothing if the actor ended or another
  /// actor was attached since. Does not block beyond a delivery in
  /// progress.
  void detach() {
    q_->detach_target(generation_);
  }

private:
  std::shared_ptr<detail::queue_state<T>> q_;
  std::uint32_t generation_;
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
/// Ordering: items arrive in queue order (one thread at a time takes them
/// from the queue and sends them, and a mailbox keeps the order of one
/// sender). Other consumers may still `get()` from the queue; each item
/// goes to exactly one of them. Attaching another actor replaces this one.
/// When the actor ends, delivery stops and later items stay in the queue;
/// items in its mailbox at that moment are lost with it. Does not block;
/// throws `value_error` for a credit of 0 or above 2^30, or an invalid
/// actor.
///
/// Who sends: a put sends its item itself when the actor has credit left;
/// otherwise the actor, handing back credit, sends the next items. Either
/// way no lock is taken for a bounded queue whose items live in its ring
/// (see `queue`).
///
/// `T` must be copy-constructible and default-constructible (CAF message
/// types); `delivery<T>` is marked local-only, so it never crosses a node.
template <class T>
attachment<T> attach(const queue<T>& q, const caf::actor& consumer,
                     std::size_t credit = 64) {
  auto gen
    = detail::attach_actor(q.state(), consumer, credit, false, 1, "attach()");
  return attachment<T>{q.state(), gen};
}

/// As `attach(q, caf_actor, credit)`, for an actor spawned with
/// `troupe::spawn`.
template <class T>
attachment<T> attach(const queue<T>& q, const troupe::actor& consumer,
                     std::size_t credit = 64) {
  return attach(q, consumer.handle(), credit);
}

/// How `attach_batched` delivers.
struct batch_options {
  /// Items delivered and not yet handled, at most (1 to 2^30).
  std::size_t credit = 1024;
  /// Items one message carries, at most (1 to 2^30).
  std::size_t max_batch = 64;
};

/// As `attach`, but the items arrive as `troupe::deliveries<T>` messages,
/// each carrying what the queue holds when it is sent, up to
/// `opts.max_batch` items and the free credit. At most two batches are in
/// flight (delivered and not yet handled): while the actor handles one and
/// the next waits in its mailbox, the items put meanwhile gather in the
/// queue for the one after. Nothing waits for a batch to fill: an idle
/// actor gets an item as soon as it is put, and a busy one gets full
/// batches, so one message (one mailbox hop, one handler call) moves many
/// items. Same ordering and end-of-actor rules as `attach`; the credit
/// counts items, so at most min(credit, 2 * max_batch) are in flight.
template <class T>
attachment<T> attach_batched(const queue<T>& q, const caf::actor& consumer,
                             batch_options opts = {}) {
  auto gen = detail::attach_actor(q.state(), consumer, opts.credit, true,
                                  opts.max_batch, "attach_batched()");
  return attachment<T>{q.state(), gen};
}

/// As `attach_batched(q, caf_actor, opts)`, for an actor spawned with
/// `troupe::spawn`.
template <class T>
attachment<T> attach_batched(const queue<T>& q, const troupe::actor& consumer,
                             batch_options opts = {}) {
  return attach_batched(q, consumer.handle(), opts);
}

/// A `joinable_queue` cannot be attached: its items are recorded as held
/// by the process that takes them until its `task_done()`, which an actor
/// fed by the queue never calls.
template <class T, class... Args>
void attach(const joinable_queue<T>&, Args&&...) = delete;

template <class T, class... Args>
void attach_batched(const joinable_queue<T>&, Args&&...) = delete;

} // namespace troupe

namespace caf {

/// Deliveries stay inside one OS process (they carry a credit pointer).
template <class T>
struct allowed_unsafe_message_type<troupe::delivery<T>> : std::true_type {};

template <class T>
struct allowed_unsafe_message_type<troupe::deliveries<T>> : std::true_type {};

} // namespace caf
