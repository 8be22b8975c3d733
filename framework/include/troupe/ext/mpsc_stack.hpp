#pragma once

/// A lock-free inbox of intrusive nodes: any thread pushes, the consumer
/// takes everything at once, oldest first (the manager's calls, an imap's
/// finished chunks).

#include <atomic>

namespace troupe::ext {

/// Many producers push nodes linked through their `Node* next` member; one
/// consumer at a time takes the whole stack, in the order it was pushed.
/// Never blocks, never allocates: nodes are the caller's.
///
/// Ordering: every operation is sequentially consistent, so a producer
/// that pushes and then reads a "someone waits" flag, and a consumer that
/// sets that flag and then looks at the stack, cannot both miss each other
/// (the wake-up protocol its users build on it). Thread-safety: `push`
/// and `empty` from any thread; `take_all` from one thread at a time.
/// Lifetime: nodes still in it when it is destroyed are not touched.
template <class Node>
class mpsc_stack {
public:
  /// Pushes `x`, overwriting its `next`. Any thread.
  void push(Node* x) noexcept {
    auto* h = head_.load(std::memory_order_relaxed);
    do {
      x->next = h;
    } while (!head_.compare_exchange_weak(h, x, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
  }

  /// Everything pushed so far, oldest first, linked through `next`; null
  /// when empty.
  [[nodiscard]] Node* take_all() noexcept {
    if (head_.load(std::memory_order_seq_cst) == nullptr)
      return nullptr;
    Node* h = head_.exchange(nullptr, std::memory_order_seq_cst);
    Node* out = nullptr;
    while (h != nullptr) {
      Node* n = h->next;
      h->next = out;
      out = h;
      h = n;
    }
    return out;
  }

  [[nodiscard]] bool empty() const noexcept {
    return head_.load(std::memory_order_seq_cst) == nullptr;
  }

private:
  std::atomic<Node*> head_{nullptr};
};

} // namespace troupe::ext
