#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// A single value's state.
template <class T>
class value_object final : public object_base {
public:
  static constexpr bool durable = durable_value<T>;

  static std::string kind() {
    return "value";
  }

  static std::string tag() {
    return "value<" + type_name<T>() + ">";
  }

  T val{};

  std::string save() const override {
    if constexpr (durable)
      return serialization::to_bytes(val);
    else
      return {};
  }

  void load(std::string_view bytes) override {
    if constexpr (durable)
      val = serialization::from_bytes<T>(bytes);
  }

  void replay(std::string_view bytes) override {
    load(bytes); // a record is the new value
  }
};

} // namespace detail

/// The operations of a managed value; see `value`.
template <class T, class Invoker>
class basic_value : public Invoker {
public:
  using Invoker::Invoker;
  using object = detail::value_object<T>;

  /// `v.value`.
  auto get() const {
    return this->template invoke<T>(
      [](detail::op_ctx& c) { return c.object<object>().val; });
  }

  /// `v.value = x`.
  auto set(T x) const {
    return this->template invoke<void>(
      [x = std::move(x)](detail::op_ctx& c) mutable {
        std::string rec;
        if (c.durable())
          rec = serialization::to_bytes(x);
        c.object<object>().val = std::move(x);
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// Atomically replaces the value `x` with `fn(x)` and returns the new
  /// value (Python needs `with lock: v.value += 1`). `fn` runs inside the
  /// manager; if it throws, nothing changes and the caller gets its
  /// exception.
  template <class F>
    requires(std::is_invocable_r_v<T, F&, const T&>)
  auto update(F fn) const {
    return this->template invoke<T>(
      [fn = std::move(fn)](detail::op_ctx& c) mutable {
        auto& v = c.object<object>();
        T next = fn(std::as_const(v.val));
        std::string rec;
        if (c.durable())
          rec = serialization::to_bytes(next);
        v.val = next;
        if (c.durable())
          c.journal(std::move(rec));
        return next;
      });
  }
};

/// A proxy to a value living in a manager (Python's `manager.Value(t, x)`).
/// `get` then `set` from two processes races; `update(fn)` does not.
/// Not to be confused with `troupe::value<T>`, the framework's shared value
/// (Python's `multiprocessing.Value`), which needs no manager.
template <class T>
class value : public basic_value<T, detail::sync_invoker> {
public:
  using basic_value<T, detail::sync_invoker>::basic_value;

  /// The same value, called from the event-based actor `self`.
  template <class Self>
  [[nodiscard]] basic_value<T, detail::async_invoker<Self>>
  async(Self* self,
        std::optional<std::chrono::milliseconds> timeout = {}) const {
    return {this->core_, this->slot_, self, timeout};
  }
};

} // namespace troupe::managed
