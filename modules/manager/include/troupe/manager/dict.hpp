#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// A dict's state: insertion-ordered, as Python's.
template <class K, class V>
class dict_object final : public object_base {
public:
  static constexpr bool durable = durable_value<K> && durable_value<V>;

  static std::string kind() {
    return "dict";
  }

  static std::string tag() {
    return "dict<" + type_name<K>() + ", " + type_name<V>() + ">";
  }

  enum code : std::uint8_t { set_code = 1, erase_code = 2, clear_code = 3 };

  struct record {
    std::uint8_t code = 0;
    K key{};
    V value{};

    template <class Archive>
    void serialize(Archive& ar, unsigned) {
      ar& code& key& value;
    }
  };

  V* find(const K& k) {
    auto i = index_.find(k);
    return i == index_.end() ? nullptr : &entries_[i->second]->second;
  }

  void put(K k, V v) {
    if (auto* p = find(k)) {
      *p = std::move(v);
      return;
    }
    entries_.emplace_back(std::in_place, k, std::move(v));
    try {
      index_.emplace(std::move(k), entries_.size() - 1);
    } catch (...) {
      entries_.pop_back();
      throw;
    }
  }

  bool erase(const K& k) {
    auto i = index_.find(k);
    if (i == index_.end())
      return false;
    entries_[i->second].reset();
    index_.erase(i);
    if (++holes_ > 32 && holes_ > entries_.size() / 2)
      squeeze();
    return true;
  }

  void clear() {
    entries_.clear();
    index_.clear();
    holes_ = 0;
  }

  [[nodiscard]] std::size_t size() const noexcept {
    return index_.size();
  }

  template <class F>
  void each(F f) const {
    for (const auto& e : entries_)
      if (e)
        f(e->first, e->second);
  }

  [[nodiscard]] std::vector<std::pair<K, V>> items() const {
    std::vector<std::pair<K, V>> out;
    out.reserve(size());
    each([&](const K& k, const V& v) { out.emplace_back(k, v); });
    return out;
  }

  std::string save() const override {
    if constexpr (durable)
      return serialization::to_bytes(items());
    else
      return {};
  }

  void load(std::string_view bytes) override {
    if constexpr (durable) {
      clear();
      for (auto& [k, v] :
           serialization::from_bytes<std::vector<std::pair<K, V>>>(bytes))
        put(std::move(k), std::move(v));
    }
  }

  void replay(std::string_view bytes) override {
    if constexpr (durable) {
      auto r = serialization::from_bytes<record>(bytes);
      switch (r.code) {
        case set_code:
          put(std::move(r.key), std::move(r.value));
          break;
        case erase_code:
          erase(r.key);
          break;
        case clear_code:
          clear();
          break;
        default:
          throw serialization::format_error("unknown dict record code "
                                            + std::to_string(int{r.code}));
      }
    }
  }

  /// A journal record (durable types only).
  static std::string encode(std::uint8_t c, const K* k, const V* v) {
    if constexpr (durable) {
      record r;
      r.code = c;
      if (k)
        r.key = *k;
      if (v)
        r.value = *v;
      return serialization::to_bytes(r);
    } else {
      return {};
    }
  }

private:
  void squeeze() {
    decltype(entries_) fresh;
    fresh.reserve(index_.size());
    for (auto& e : entries_)
      if (e)
        fresh.push_back(std::move(e));
    std::unordered_map<K, std::size_t> idx;
    for (std::size_t i = 0; i < fresh.size(); ++i)
      idx.emplace(fresh[i]->first, i);
    entries_.swap(fresh);
    index_.swap(idx);
    holes_ = 0;
  }

  std::vector<std::optional<std::pair<K, V>>> entries_;
  std::unordered_map<K, std::size_t> index_;
  std::size_t holes_ = 0;
};

} // namespace detail

/// A key type a managed dict accepts: hashable and equality-comparable.
template <class K>
concept dict_key = requires(const K& k) {
  { std::hash<K>{}(k) } -> std::convertible_to<std::size_t>;
  { k == k } -> std::convertible_to<bool>;
};

/// The operations of a managed dict, for both ways of calling: blocking
/// (`dict<K, V>`, results returned) and from event-based actors
/// (`dict<K, V>::async(self)`, CAF response handles).
template <class K, class V, class Invoker>
class basic_dict : public Invoker {
public:
  using Invoker::Invoker;
  using object = detail::dict_object<K, V>;

  /// `d[key] = value`.
  auto set(K key, V value) const {
    return this->template invoke<void>(
      [k = std::move(key), v = std::move(value)](detail::op_ctx& c) mutable {
        auto& d = c.object<object>();
        std::string rec;
        if (c.durable())
          rec = object::encode(object::set_code, &k, &v);
        d.put(std::move(k), std::move(v));
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `d[key]`: throws `key_error` when there is no such key.
  auto get(K key) const {
    return this->template invoke<V>([k = std::move(key)](detail::op_ctx& c) {
      if (auto* v = c.object<object>().find(k))
        return *v;
      throw key_error("dict '" + c.target()->name + "' has no key "
                      + detail::describe(k));
    });
  }

  /// `d.get(key, default)`.
  auto get(K key, V fallback) const {
    return this->template invoke<V>(
      [k = std::move(key), f = std::move(fallback)](detail::op_ctx& c) {
        if (auto* v = c.object<object>().find(k))
          return *v;
        return f;
      });
  }

  /// `d.get(key)` as an optional: empty when there is no such key.
  auto try_get(K key) const {
    return this->template invoke<std::optional<V>>(
      [k = std::move(key)](detail::op_ctx& c) -> std::optional<V> {
        if (auto* v = c.object<object>().find(k))
          return *v;
        return std::nullopt;
      });
  }

  /// `key in d`.
  auto contains(K key) const {
    return this->template invoke<bool>([k = std::move(key)](detail::op_ctx& c) {
      return c.object<object>().find(k) != nullptr;
    });
  }

  /// `del d[key]`, returning whether the key was there (no `key_error`).
  auto erase(K key) const {
    return this->template invoke<bool>([k = std::move(key)](detail::op_ctx& c) {
      auto& d = c.object<object>();
      if (!d.erase(k))
        return false;
      if (c.durable())
        c.journal(object::encode(object::erase_code, &k, nullptr));
      return true;
    });
  }

  /// `d.clear()`.
  auto clear() const {
    return this->template invoke<void>([](detail::op_ctx& c) {
      c.object<object>().clear();
      if (c.durable())
        c.journal(object::encode(object::clear_code, nullptr, nullptr));
    });
  }

  /// `len(d)`.
  auto size() const {
    return this->template invoke<std::size_t>(
      [](detail::op_ctx& c) { return c.object<object>().size(); });
  }

  /// `list(d.keys())`, in insertion order.
  auto keys() const {
    return this->template invoke<std::vector<K>>([](detail::op_ctx& c) {
      std::vector<K> out;
      c.object<object>().each([&](const K& k, const V&) { out.push_back(k); });
      return out;
    });
  }

  /// `list(d.values())`, in insertion order.
  auto values() const {
    return this->template invoke<std::vector<V>>([](detail::op_ctx& c) {
      std::vector<V> out;
      c.object<object>().each([&](const K&, const V& v) { out.push_back(v); });
      return out;
    });
  }

  /// `list(d.items())`, in insertion order: a copy of the whole dict taken
  /// atomically.
  auto items() const {
    return this->template invoke<std::vector<std::pair<K, V>>>(
      [](detail::op_ctx& c) { return c.object<object>().items(); });
  }

  /// Atomically replaces `d[key]` with `fn(d[key])` (starting from `V{}`
  /// when the key is missing) and returns the new value. Unlike a `get`
  /// followed by a `set`, which another process can interleave with, no
  /// update is ever lost. `fn` runs inside the manager: keep it short, and
  /// do not call the manager from it. If it throws, nothing changes and
  /// the caller gets its exception.
  template <class F>
  requires std::is_invocable_r_v<V, F&, const V&>
  auto update(K key, F fn) const {
    return update(std::move(key), V{}, std::move(fn));
  }

  /// As `update(key, fn)`, starting from `initial` when the key is missing.
  template <class F>
  requires std::is_invocable_r_v<V, F&, const V&>
  auto update(K key, V initial, F fn) const {
    return this->template invoke<V>(
      [k = std::move(key), init = std::move(initial),
       fn = std::move(fn)](detail::op_ctx& c) mutable {
        auto& d = c.object<object>();
        auto* cur = d.find(k);
        V next = fn(cur ? std::as_const(*cur) : std::as_const(init));
        std::string rec;
        if (c.durable())
          rec = object::encode(object::set_code, &k, &next);
        d.put(k, next);
        if (c.durable())
          c.journal(std::move(rec));
        return next;
      });
  }
};

/// A proxy to a dict living in a manager (Python's `manager.dict()`).
///
/// Each call is one atomic operation inside the manager. A `get` followed
/// by a `set` is two operations: another process may change the entry in
/// between, so `d.set(k, d.get(k) + 1)` from two processes can lose an
/// increment; `d.update(k, fn)` cannot.
///
/// Thread-safety: any process, thread or (through `async`) event-based
/// actor may use any copy. Blocking calls block until the manager answers;
/// while it is restarting they wait up to its `call_timeout`, then throw
/// `manager_unavailable` (the call was then not applied). An exception an
/// operation throws (`key_error`, or your `update` function's) is rethrown
/// in the caller with its type.
/// Lifetime: handles are cheap to copy (a pointer and a reference count);
/// the object lives as long as its manager.
template <class K, class V>
requires dict_key<K>
class dict : public basic_dict<K, V, detail::sync_invoker> {
public:
  using basic_dict<K, V, detail::sync_invoker>::basic_dict;

  /// The same dict, called from the event-based actor `self` without
  /// blocking: every call returns a CAF response handle.
  template <class Self>
  [[nodiscard]] basic_dict<K, V, detail::async_invoker<Self>>
  async(Self* self,
        std::optional<std::chrono::milliseconds> timeout = {}) const {
    return {this->core_, this->slot_, self, timeout};
  }
};

} // namespace troupe::managed
