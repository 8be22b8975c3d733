#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "troupe/manager/detail/core.hpp"
#include "troupe/manager/durable.hpp"

namespace troupe::managed::detail {

/// How a proxy's calls run when made from a process or a thread: each call
/// blocks until the manager answered and returns the result (or throws the
/// exception the operation threw, with its type).
class sync_invoker {
public:
  sync_invoker(std::shared_ptr<manager_core> core, slot* target)
    : core_(std::move(core)), slot_(target) {}

  /// The name of the object in its manager.
  [[nodiscard]] const std::string& name() const noexcept {
    return slot_->name;
  }

  /// Internal (batches): the manager and the object.
  [[nodiscard]] const std::shared_ptr<manager_core>& core() const noexcept {
    return core_;
  }

  [[nodiscard]] slot* target() const noexcept {
    return slot_;
  }

protected:
  template <class R, class F>
  R invoke(F fn) const {
    return core_->template call<R>(slot_, std::move(fn));
  }

  std::shared_ptr<manager_core> core_;
  slot* slot_;
};

/// How a proxy's calls run from an event-based actor: each call returns at
/// once with CAF's `response_handle`; `.then(on_result, on_error)` gets the
/// answer in the actor's mailbox (an exception arrives as a `caf::error`
/// whose text is `type: message`; a call that did not run within the
/// timeout as CAF's `request_timeout`, and it is then not applied).
template <class Self>
class async_invoker {
public:
  async_invoker(std::shared_ptr<manager_core> core, slot* target, Self* self,
                std::optional<std::chrono::milliseconds> timeout)
    : core_(std::move(core)), slot_(target), self_(self), timeout_(timeout) {}

  [[nodiscard]] const std::string& name() const noexcept {
    return slot_->name;
  }

protected:
  template <class R, class F>
  auto invoke(F fn) const {
    return core_->template call_async<R>(self_, slot_, std::move(fn), timeout_);
  }

  std::shared_ptr<manager_core> core_;
  slot* slot_;
  Self* self_;
  std::optional<std::chrono::milliseconds> timeout_;
};

/// `x` for an error message, if it can be printed.
template <class T>
std::string describe(const T& x) {
  if constexpr (requires(std::ostream & out) { out << x; }) {
    std::ostringstream out;
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
      out << '\'' << x << '\'';
    else
      out << x;
    return out.str();
  } else {
    return "(a " + type_name<T>() + ")";
  }
}

/// The object type of `Obj`, made once.
template <class Obj>
const object_type& type_of() {
  static const object_type t{
    Obj::kind(), Obj::tag(), Obj::durable,
    [] { return std::unique_ptr<object_base>{std::make_unique<Obj>()}; },
    std::type_index{typeid(Obj)}};
  return t;
}

} // namespace troupe::managed::detail
