#pragma once

#include <cstddef>
#include <memory>
#include <type_traits>

#include "troupe/detail/locked_queue_state.hpp"
#include "troupe/detail/queue_state.hpp"
#include "troupe/detail/ring_queue_state.hpp"
#include "troupe/queue_options.hpp"

namespace troupe::detail {

/// The state of a new `queue<T>`, with its storage chosen once and for
/// all: the lock-free ring when it can serve the queue (bounded, a policy
/// that never evicts a queued item, a `T` that moves without throwing),
/// else the locked deque. See `queue_state`.
template <class T>
std::shared_ptr<queue_state<T>> make_queue_state(std::size_t capacity,
                                                 overflow policy) {
  if constexpr (std::is_nothrow_move_constructible_v<T>) {
    // drop_oldest evicts the oldest item and stores the new one as one
    // step, which takes the lock.
    if (capacity != 0 && policy != overflow::drop_oldest)
      return std::make_shared<ring_queue_state<T>>(capacity, policy);
  }
  return std::make_shared<locked_queue_state<T, false>>(
    capacity, policy, consumer_exit_policy::redeliver);
}

/// The state of a new `joinable_queue<T>`: always the locked deque, which
/// records what each consumer holds.
template <class T>
std::shared_ptr<locked_queue_state<T, true>>
make_joinable_queue_state(std::size_t capacity, overflow policy,
                          consumer_exit_policy on_exit) {
  return std::make_shared<locked_queue_state<T, true>>(capacity, policy,
                                                       on_exit);
}

} // namespace troupe::detail
