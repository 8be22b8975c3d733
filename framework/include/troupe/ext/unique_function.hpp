#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <type_traits>
#include <utility>

namespace troupe::ext {

template <class Signature>
class unique_function;

/// A move-only `std::function` (C++23's `std::move_only_function`, which
/// g++ 12 does not offer under `-std=c++20`): holds callables that own
/// move-only arguments. Exit hooks, stop callbacks and module commands are
/// kept in it.
///
/// Calling an empty one is undefined (test it with `operator bool`); a
/// call's exceptions propagate to the caller. Thread-compatible: one
/// object is not called or moved from two threads at once.
///
/// A callable of up to `inline_size` bytes that moves without throwing is
/// kept inside the object, so wrapping it allocates nothing: the exit hooks,
/// wake-ups and commands troupe makes on every restart, wait or call are
/// lambdas holding a few pointers. Larger ones go to the heap.
template <class R, class... Args>
class unique_function<R(Args...)> {
public:
  static constexpr std::size_t inline_size = 6 * sizeof(void*);

  /// Whether a callable of type `F` is kept inside the object.
  template <class F>
  static constexpr bool stored_inline
    = sizeof(F) <= inline_size && alignof(F) <= alignof(std::max_align_t)
      && std::is_nothrow_move_constructible_v<F>;

  unique_function() noexcept = default;

  template <class F>
    requires(std::conjunction_v<
             std::negation<std::is_same<std::decay_t<F>, unique_function>>,
             std::is_invocable_r<R, std::decay_t<F>&, Args...>>)
  // NOLINTNEXTLINE(google-explicit-constructor,bugprone-forwarding-reference-overload)
  unique_function(F&& f) {
    using fn = std::decay_t<F>;
    if constexpr (stored_inline<fn>) {
      ::new (static_cast<void*>(buf_)) fn(std::forward<F>(f));
      ops_ = &inline_ops<fn>;
    } else {
      ::new (static_cast<void*>(buf_)) fn*(new fn(std::forward<F>(f)));
      ops_ = &heap_ops<fn>;
    }
  }

  unique_function(unique_function&& other) noexcept : ops_(other.ops_) {
    if (ops_ != nullptr) {
      ops_->relocate(other.buf_, buf_);
      other.ops_ = nullptr;
    }
  }

  unique_function& operator=(unique_function&& other) noexcept {
    if (this != &other) {
      reset();
      if (other.ops_ != nullptr) {
        other.ops_->relocate(other.buf_, buf_);
        ops_ = std::exchange(other.ops_, nullptr);
      }
    }
    return *this;
  }

  unique_function(const unique_function&) = delete;
  unique_function& operator=(const unique_function&) = delete;

  ~unique_function() {
    reset();
  }

  R operator()(Args... xs) {
    return ops_->call(buf_, std::forward<Args>(xs)...);
  }

  explicit operator bool() const noexcept {
    return ops_ != nullptr;
  }

private:
  struct ops_t {
    R (*call)(void* self, Args&&... xs);
    /// Move-constructs `to` from `from` and destroys `from`.
    void (*relocate)(void* from, void* to) noexcept;
    void (*destroy)(void* self) noexcept;
  };

  template <class F>
  static constexpr ops_t inline_ops{
    [](void* self, Args&&... xs) -> R {
      return std::invoke(*std::launder(static_cast<F*>(self)),
                         std::forward<Args>(xs)...);
    },
    [](void* from, void* to) noexcept {
      auto* src = std::launder(static_cast<F*>(from));
      ::new (to) F(std::move(*src));
      src->~F();
    },
    [](void* self) noexcept { std::launder(static_cast<F*>(self))->~F(); },
  };

  template <class F>
  static constexpr ops_t heap_ops{
    [](void* self, Args&&... xs) -> R {
      return std::invoke(**std::launder(static_cast<F**>(self)),
                         std::forward<Args>(xs)...);
    },
    [](void* from, void* to) noexcept {
      ::new (to) F*(*std::launder(static_cast<F**>(from)));
    },
    [](void* self) noexcept { delete *std::launder(static_cast<F**>(self)); },
  };

  void reset() noexcept {
    if (ops_ != nullptr)
      std::exchange(ops_, nullptr)->destroy(buf_);
  }

  alignas(std::max_align_t) std::byte buf_[inline_size];
  const ops_t* ops_ = nullptr;
};

} // namespace troupe::ext
