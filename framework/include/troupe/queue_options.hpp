#pragma once

#include <cstddef>

namespace troupe {

/// What a bounded channel does with an item put while it is full (the
/// caller chooses, as with SObjectizer's mchain overflow reactions).
enum class overflow : unsigned char {
  /// The put waits for a free slot (Python's default).
  block,
  /// The put fails at once: `put` throws `full`, `try_put` returns false.
  fail,
  /// The new item is discarded; the put returns as if it succeeded.
  drop_newest,
  /// The oldest queued item is discarded to make room for the new one.
  drop_oldest,
};

/// What a `joinable_queue` does with the items a consumer process took and
/// had not acknowledged (`task_done()`) when it ended, however it ended.
enum class consumer_exit_policy : unsigned char {
  /// The items go back to the front of the queue, in the order taken.
  redeliver,
  /// The items count as done (so `join()` returns) and are kept for
  /// `take_failed()`.
  report,
};

/// Settings of a `queue`, given with designated initializers:
/// `troupe::queue<int> q{rt, {.capacity = 10, .overflow =
/// troupe::overflow::block}}`.
struct queue_options {
  /// Most items the queue holds; 0 means unbounded (Python's `maxsize=0`).
  std::size_t capacity{};

  /// What a put into a full queue does (ignored when unbounded).
  ::troupe::overflow overflow{::troupe::overflow::block};
};

/// Settings of a `joinable_queue` (see `queue_options`).
struct joinable_queue_options {
  /// Most items the queue holds; 0 means unbounded.
  std::size_t capacity{};

  /// What a put into a full queue does (ignored when unbounded).
  ::troupe::overflow overflow{::troupe::overflow::block};

  /// What happens to the items a consumer took and had not marked done
  /// when it ended.
  consumer_exit_policy on_consumer_exit{consumer_exit_policy::redeliver};
};

} // namespace troupe
