#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// A namespace's state: named fields of any type.
class ns_object final : public object_base {
public:
  static constexpr bool durable = true; // checked per field

  static std::string kind() {
    return "namespace";
  }

  static std::string tag() {
    return "namespace";
  }

  struct field {
    std::string tag;
    std::any value;
    std::string (*save)(const std::any&) = nullptr; // null: not durable
    std::optional<std::string> raw; // recovered bytes, read on first get
  };

  struct field_image {
    std::string name;
    std::string tag;
    std::string bytes;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& name& tag& bytes;
    }
  };

  struct record {
    std::uint8_t code = 0; // 1 set, 2 erase
    field_image f;

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& code& f;
    }
  };

  template <class T>
  static std::string save_any(const std::any& x) {
    return serialization::to_bytes(std::any_cast<const T&>(x));
  }

  /// The field `name` as a `T`. Throws `key_error`, `value_error`.
  template <class T>
  const T& get(const std::string& name, const std::string& ns) {
    auto i = fields.find(name);
    if (i == fields.end())
      throw key_error("namespace '" + ns + "' has no field '" + name + "'");
    auto& f = i->second;
    if (f.tag != type_name<T>())
      throw value_error("field '" + name + "' of namespace '" + ns
                        + "' holds a " + f.tag + ", not a " + type_name<T>());
    if (f.raw) {
      if constexpr (durable_value<T>) {
        f.value = serialization::from_bytes<T>(*f.raw);
        f.save = &save_any<T>;
        f.raw.reset();
      }
    }
    return std::any_cast<const T&>(f.value);
  }

  std::string save() const override;
  void load(std::string_view bytes) override;
  void replay(std::string_view bytes) override;

  std::map<std::string, field> fields;
};

} // namespace detail

/// The operations of a managed namespace; see `name_space`.
template <class Invoker>
class basic_name_space : public Invoker {
public:
  using Invoker::Invoker;
  using object = detail::ns_object;

  /// `ns.name = x`: creates or replaces the field (its type may change).
  /// In a durable manager `T` must be a `durable_value` (`value_error`
  /// otherwise).
  template <class T>
  auto set(std::string name, T x) const {
    return this->template invoke<void>(
      [n = std::move(name), x = std::move(x)](detail::op_ctx& c) mutable {
        object::field f{detail::type_name<T>(), {}, nullptr, std::nullopt};
        std::string rec;
        if constexpr (durable_value<T>) {
          f.save = &object::save_any<T>;
          if (c.durable())
            rec = serialization::to_bytes(object::record{
              1, object::field_image{n, f.tag, serialization::to_bytes(x)}});
        } else {
          if (c.durable())
            throw value_error("namespace '" + c.target()->name
                              + "': a durable manager keeps only "
                                "Boost-serializable values, and "
                              + f.tag + " is not one");
        }
        f.value = std::move(x);
        c.object<object>().fields.insert_or_assign(n, std::move(f));
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `ns.name`. Throws `key_error` when there is no such field,
  /// `value_error` when it holds another type.
  template <class T>
  auto get(std::string name) const {
    return this->template invoke<T>([n = std::move(name)](detail::op_ctx& c) {
      return c.object<object>().get<T>(n, c.target()->name);
    });
  }

  /// `getattr(ns, name, fallback)`.
  template <class T>
  auto get(std::string name, T fallback) const {
    return this->template invoke<T>(
      [n = std::move(name), f = std::move(fallback)](detail::op_ctx& c) {
        auto& ns = c.object<object>();
        if (!ns.fields.contains(n))
          return f;
        return ns.get<T>(n, c.target()->name);
      });
  }

  /// `hasattr(ns, name)`.
  auto contains(std::string name) const {
    return this->template invoke<bool>(
      [n = std::move(name)](detail::op_ctx& c) {
        return c.object<object>().fields.contains(n);
      });
  }

  /// `delattr(ns, name)`, returning whether the field was there.
  auto erase(std::string name) const {
    return this->template invoke<bool>(
      [n = std::move(name)](detail::op_ctx& c) {
        if (c.object<object>().fields.erase(n) == 0)
          return false;
        if (c.durable())
          c.journal(serialization::to_bytes(
            object::record{2, object::field_image{n, {}, {}}}));
        return true;
      });
  }

  /// The field names, sorted.
  auto fields() const {
    return this->template invoke<std::vector<std::string>>(
      [](detail::op_ctx& c) {
        std::vector<std::string> out;
        for (auto& [n, f] : c.object<object>().fields)
          out.push_back(n);
        return out;
      });
  }
};

/// A proxy to a namespace living in a manager (Python's
/// `manager.Namespace()`): named fields of any type, `ns.set("x", 1)` and
/// `ns.get<int>("x")` for Python's `ns.x = 1` and `ns.x`. Each call is
/// atomic; see `dict` for what that does and does not give.
class name_space : public basic_name_space<detail::sync_invoker> {
public:
  using basic_name_space<detail::sync_invoker>::basic_name_space;

  /// The same namespace, called from the event-based actor `self`.
  template <class Self>
  [[nodiscard]] basic_name_space<detail::async_invoker<Self>>
  async(Self* self,
        std::optional<std::chrono::milliseconds> timeout = {}) const {
    return {this->core_, this->slot_, self, timeout};
  }
};

} // namespace troupe::managed
