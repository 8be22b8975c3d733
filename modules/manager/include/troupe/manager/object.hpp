#pragma once

#include <functional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// Whether a pointer to member function leaves its object unchanged.
template <class M>
struct is_const_member : std::false_type {};

template <class R, class C, class... A>
struct is_const_member<R (C::*)(A...) const> : std::true_type {};

template <class R, class C, class... A>
struct is_const_member<R (C::*)(A...) const noexcept> : std::true_type {};

template <class R, class C, class... A>
struct is_const_member<R (C::*)(A...) const&> : std::true_type {};

template <class R, class C, class... A>
struct is_const_member<R (C::*)(A...) const& noexcept> : std::true_type {};

/// An instance of a registered custom type.
template <class T>
class custom_object final : public object_base {
public:
  static constexpr bool durable = durable_value<T>;

  static std::string kind() {
    return type_name<T>();
  }

  static std::string tag() {
    return "object<" + type_name<T>() + ">";
  }

  custom_object() = default;

  explicit custom_object(T x) : val(std::move(x)) {}

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
    load(bytes); // a record is the object after a non-const call
  }
};

} // namespace detail

/// The operations of a custom object; see `object`.
template <class T, class Invoker>
class basic_object : public Invoker {
public:
  using Invoker::Invoker;
  using object_type = detail::custom_object<T>;

  /// Calls `(obj.*method)(args...)` inside the manager and returns its
  /// result: Python's `proxy.method(args)`, checked by the compiler (the
  /// method must exist and accept the arguments). Arguments are copied
  /// into the call. A non-const method in a durable manager journals the
  /// object's whole new state. An exception the method throws is rethrown
  /// in the caller, and the manager goes on.
  template <class M, class... Args>
    requires(
      std::conjunction_v<std::is_member_function_pointer<M>,
                         std::is_invocable<M, T&, std::decay_t<Args>&...>>)
  auto call(M method, Args&&... args) const {
    using R = std::invoke_result_t<M, T&, std::decay_t<Args>&...>;
    return this->template invoke<std::decay_t<R>>(
      [method, tup = std::make_tuple(std::decay_t<Args>(
                 std::forward<Args>(args))...)](detail::op_ctx& c) mutable {
        auto& o = c.object<object_type>();
        auto run = [&]() -> decltype(auto) {
          return std::apply(
            [&](auto&... xs) -> decltype(auto) {
              return std::invoke(method, o.val, xs...);
            },
            tup);
        };
        if constexpr (detail::is_const_member<M>::value) {
          return run();
        } else if constexpr (std::is_void_v<R>) {
          run();
          if (c.durable())
            c.journal(o.save());
        } else {
          std::decay_t<R> r = run();
          if (c.durable())
            c.journal(o.save());
          return r;
        }
      });
  }

  /// Runs `fn(obj)` inside the manager, atomically, and returns its result;
  /// for a sequence of calls that must not interleave with other callers.
  /// In a durable manager the object's new state is journaled.
  template <class F>
    requires(std::is_invocable_v<F&, T&>)
  auto apply(F fn) const {
    using R = std::invoke_result_t<F&, T&>;
    return this->template invoke<std::decay_t<R>>(
      [fn = std::move(fn)](detail::op_ctx& c) mutable {
        auto& o = c.object<object_type>();
        if constexpr (std::is_void_v<R>) {
          fn(o.val);
          if (c.durable())
            c.journal(o.save());
        } else {
          std::decay_t<R> r = fn(o.val);
          if (c.durable())
            c.journal(o.save());
          return r;
        }
      });
  }
};

/// A proxy to an instance of a custom type living in a manager (Python's
/// `BaseManager.register('Maths', MathsClass)` then `manager.Maths()`):
///
///     mgr.register_type<maths>("Maths");
///     auto m = mgr.make<maths>("Maths");
///     int seven = m.call(&maths::add, 4, 3);
///
/// Each call runs inside the manager, one at a time, so the object needs
/// no locking of its own.
template <class T>
class object : public basic_object<T, detail::sync_invoker> {
public:
  using basic_object<T, detail::sync_invoker>::basic_object;

  /// The same object, called from the event-based actor `self`.
  template <class Self>
  [[nodiscard]] basic_object<T, detail::async_invoker<Self>>
  async(Self* self,
        std::optional<std::chrono::milliseconds> timeout = {}) const {
    return {this->core_, this->slot_, self, timeout};
  }
};

} // namespace troupe::managed
