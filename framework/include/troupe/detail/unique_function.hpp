#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace troupe::detail {

template <class Signature>
class unique_function;

/// A move-only `std::function` (C++23's `std::move_only_function`, which
/// g++ 12 lacks): holds callables that own move-only arguments.
template <class R, class... Args>
class unique_function<R(Args...)> {
public:
  unique_function() noexcept = default;

  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, unique_function>
             && std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f) // NOLINT(google-explicit-constructor)
    : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {
  }

  unique_function(unique_function&&) noexcept = default;
  unique_function& operator=(unique_function&&) noexcept = default;

  R operator()(Args... xs) {
    return impl_->call(std::forward<Args>(xs)...);
  }

  explicit operator bool() const noexcept {
    return impl_ != nullptr;
  }

private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... xs) = 0;
  };

  template <class F>
  struct model final : concept_t {
    template <class G>
    explicit model(G&& g) : fn(std::forward<G>(g)) {
    }
    R call(Args... xs) override {
      return std::invoke(fn, std::forward<Args>(xs)...);
    }
    F fn;
  };

  std::unique_ptr<concept_t> impl_;
};

} // namespace troupe::detail
