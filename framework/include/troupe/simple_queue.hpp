#pragma once

#include <memory>
#include <utility>

#include "troupe/queue.hpp"

namespace troupe {

/// An unbounded FIFO channel with the small surface of Python's
/// `multiprocessing.SimpleQueue`: `put`, `get`, `empty`, `close`.
///
/// Thread-safety, ordering and lifetime: as `queue` (it is one, without
/// the bounded and timed operations). `T` may be move-only.
template <class T>
class simple_queue {
public:
  explicit simple_queue(runtime& rt) : q_(rt) {}

  /// Puts `x` at the back. Never blocks (unbounded). Throws `closed` after
  /// `close()`.
  void put(const T& x) {
    q_.put(x);
  }

  void put(T&& x) {
    q_.put(std::move(x));
  }

  /// Takes the oldest item; blocks while there is none. Throws `closed`
  /// once closed and drained, `terminated` when the calling process is
  /// asked to stop while it waits.
  [[nodiscard]] T get() {
    return q_.get();
  }

  /// Whether no item is queued now (a snapshot). Does not block.
  [[nodiscard]] bool empty() const {
    return q_.empty();
  }

  /// Closes the queue: puts throw `closed`; gets drain what is left, then
  /// throw `closed`; blocked gets wake. Does not block.
  void close() {
    q_.close();
  }

  /// Internal: the shared state (for `select`).
  [[nodiscard]] const auto& state() const noexcept {
    return q_.state();
  }

private:
  queue<T> q_;
};

} // namespace troupe
