#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "troupe/error.hpp"
#include "troupe/ext/describe.hpp"
#include "troupe/pool/detail/pool_core.hpp"
#include "troupe/pool/error.hpp"

namespace troupe::pooled::detail {

/// What a result stores: `R`, or `std::monostate` for `void`.
template <class R>
using stored_t = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

/// The shared state of one `async_result<R>`: the outcome, and the
/// callbacks that run on the pool's callback thread before it is published
/// (as in Python, a result is ready only once its callback ran).
template <class R>
class result_state : public result_core,
                     public std::enable_shared_from_this<result_state<R>> {
public:
  using value_type = stored_t<R>;

  /// Stores the value unless an outcome was already set. A value whose
  /// move or copy throws fails the result with `result_error` instead:
  /// the outcome is claimed first, so nothing else could complete it.
  template <class... Ts>
  void set_value(Ts&&... xs) noexcept {
    if (!claim())
      return;
    try {
      value_.emplace(std::forward<Ts>(xs)...);
    } catch (...) {
      value_.reset();
      error_ = unstorable(std::current_exception());
      deliver(false);
      return;
    }
    deliver(true);
  }

  /// Stores the exception unless an outcome was already set.
  void set_error(const std::exception_ptr& e) noexcept {
    if (!claim())
      return;
    error_ = e;
    deliver(false);
  }

  /// The value; only after `succeeded()`.
  [[nodiscard]] value_type& value() noexcept {
    return *value_;
  }

  /// Set before the task is submitted.
  void set_callbacks(std::shared_ptr<executor_thread> executor,
                     std::function<void(std::exception_ptr)> report,
                     ext::unique_function<void(const value_type&)> on_value,
                     ext::unique_function<void(std::exception_ptr)> on_error) {
    executor_ = std::move(executor);
    report_ = std::move(report);
    on_value_ = std::move(on_value);
    on_error_ = std::move(on_error);
  }

private:
  static std::exception_ptr unstorable(const std::exception_ptr& e) noexcept {
    try {
      return std::make_exception_ptr(
        result_error("the task's result (" + ext::type_name(typeid(value_type))
                       + ") could not be stored: " + ext::describe_exception(e),
                     e));
    } catch (...) {
      return e; // out of memory: the original error is the best we have
    }
  }

  void deliver(bool ok) noexcept {
    auto has_callback
      = ok ? static_cast<bool>(on_value_) : static_cast<bool>(on_error_);
    if (!has_callback || !executor_) {
      publish(ok);
      return;
    }
    auto self = this->shared_from_this();
    auto posted = executor_->post([self, ok] { self->run_callback(ok); });
    if (!posted)
      publish(ok);
  }

  void run_callback(bool ok) noexcept {
    try {
      if (ok)
        on_value_(*value_);
      else
        on_error_(error_);
    } catch (...) {
      if (report_)
        report_(std::current_exception());
    }
    publish(ok);
  }

  std::optional<value_type> value_;
  std::shared_ptr<executor_thread> executor_;
  std::function<void(std::exception_ptr)> report_;
  ext::unique_function<void(const value_type&)> on_value_;
  ext::unique_function<void(std::exception_ptr)> on_error_;
};

/// Wraps a user's error callback: it may take the `std::exception_ptr` or
/// `const std::exception&` (an exception of another type then arrives as
/// `troupe::error` describing it).
template <class F>
ext::unique_function<void(std::exception_ptr)> wrap_error_callback(F f) {
  if constexpr (std::is_invocable_v<F&, std::exception_ptr>) {
    return [f = std::move(f)](std::exception_ptr e) mutable { f(e); };
  } else {
    static_assert(std::is_invocable_v<F&, const std::exception&>,
                  "an error_callback takes std::exception_ptr or "
                  "const std::exception&");
    return [f = std::move(f)](std::exception_ptr e) mutable {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        f(x);
      } catch (...) {
        f(::troupe::error(ext::describe_exception(e)));
      }
    };
  }
}

} // namespace troupe::pooled::detail

namespace troupe {

/// The result of `pool::apply_async` and `map_async` (Python's
/// `AsyncResult`): a handle to a value a worker computes.
///
/// Thread-safety: every member may be called from any thread; handles are
/// cheap to copy and all copies refer to the same result. Lifetime: the
/// result lives as long as a handle or its task does; it does not keep the
/// pool alive, and a pool that is terminated fails its pending results
/// with `cancelled`, so no wait on a result outlives its pool.
template <class R>
class [[nodiscard]] async_result {
public:
  using value_type = R;

  async_result() = default;

  /// Internal: made by the pool.
  explicit async_result(std::shared_ptr<pooled::detail::result_state<R>> st)
    : st_(std::move(st)) {}

  /// The value (a reference valid as long as a handle lives; nothing for
  /// `R = void`). Blocks until the task finished. Rethrows the task's
  /// exception (the original object, so its type and message are kept),
  /// `worker_lost`, `pool_broken` or `cancelled`.
  decltype(auto) get() const {
    wait();
    return value_or_throw();
  }

  /// As `get()`, but waits at most `timeout`, then throws `timeout_error`
  /// (Python's `multiprocessing.TimeoutError`). The task keeps running.
  decltype(auto) get(std::chrono::nanoseconds timeout) const {
    if (!wait(timeout))
      throw timeout_error("async_result::get: the result was not ready "
                          "within the timeout");
    return value_or_throw();
  }

  /// Blocks until the result is ready.
  void wait() const {
    check_valid();
    st_->wait_until(ext::deadline::forever());
  }

  /// Blocks until the result is ready or `timeout` passed; returns whether
  /// it is ready. A negative timeout throws `value_error`.
  bool wait(std::chrono::nanoseconds timeout) const {
    check_valid();
    return st_->wait_until(ext::deadline::after(timeout, "async_result::wait"));
  }

  /// Whether the task finished (and its callback ran). Does not block.
  [[nodiscard]] bool ready() const {
    check_valid();
    return st_->ready();
  }

  /// Whether the task finished without an exception. Throws `value_error`
  /// before it is ready, as Python does. Does not block.
  [[nodiscard]] bool successful() const {
    if (!ready())
      throw value_error("async_result::successful: the result is not ready "
                        "yet");
    return st_->succeeded();
  }

  /// The exception the result failed with; empty while pending or after
  /// success. Does not block.
  [[nodiscard]] std::exception_ptr exception() const {
    check_valid();
    return st_->ready() ? st_->exception() : std::exception_ptr{};
  }

  /// Whether this handle refers to a result (a default-constructed one
  /// does not).
  [[nodiscard]] bool valid() const noexcept {
    return st_ != nullptr;
  }

  /// Internal.
  [[nodiscard]] const std::shared_ptr<pooled::detail::result_state<R>>&
  state() const {
    return st_;
  }

private:
  void check_valid() const {
    if (!st_)
      throw state_error("async_result: this handle refers to no result");
  }

  decltype(auto) value_or_throw() const {
    if (!st_->succeeded())
      std::rethrow_exception(st_->exception());
    if constexpr (std::is_void_v<R>)
      return;
    else
      return static_cast<const R&>(st_->value());
  }

  std::shared_ptr<pooled::detail::result_state<R>> st_;
};

} // namespace troupe
