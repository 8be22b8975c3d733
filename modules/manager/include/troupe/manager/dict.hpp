#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "troupe/manager/detail/dict_object.hpp"
#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

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

  /// `d.update(items)`: puts every pair, in order, as one atomic
  /// operation (one journal record): all of them, or none if it fails.
  auto update(std::vector<std::pair<K, V>> items) const {
    return this->template invoke<void>(
      [xs = std::move(items)](detail::op_ctx& c) mutable {
        if (xs.empty())
          return;
        detail::dict_put_step<K, V> step{c.target(), std::move(xs)};
        detail::run_step(c, step);
      });
  }

  /// For each `(key, x)` of `items`, in order: `d[key] = fn(d.get(key,
  /// V{}), x)`, as one atomic operation — Python's `Counter.update` is
  /// `merge(counts, std::plus<>{})`. `fn` runs inside the manager (keep it
  /// short, do not call the manager from it); if it throws, nothing
  /// changes and the caller gets its exception.
  template <class X, class F>
    requires(std::is_invocable_r_v<V, F&, const V&, const X&>)
  auto merge(std::vector<std::pair<K, X>> items, F fn) const {
    return this->template invoke<void>(
      [xs = std::move(items), fn = std::move(fn)](detail::op_ctx& c) mutable {
        if (xs.empty())
          return;
        detail::dict_merge_step<K, V, X, F> step{c.target(), std::move(xs), V{},
                                                 std::move(fn)};
        detail::run_step(c, step);
      });
  }

  /// Erases every key of `keys` that is there, as one atomic operation;
  /// returns how many were.
  auto erase_keys(std::vector<K> keys) const {
    return this->template invoke<std::size_t>(
      [ks = std::move(keys)](detail::op_ctx& c) mutable -> std::size_t {
        if (ks.empty())
          return 0;
        detail::dict_erase_step<K, V> step{c.target(), std::move(ks)};
        detail::run_step(c, step);
        return step.erased();
      });
  }

  /// `d.pop(key)`: removes the key and returns its value; throws
  /// `key_error` when there is no such key.
  auto pop(K key) const {
    return this->template invoke<V>([k = std::move(key)](detail::op_ctx& c) {
      auto& d = c.object<object>();
      auto* v = d.find(k);
      if (v == nullptr)
        throw key_error("dict '" + c.target()->name + "' has no key "
                        + detail::describe(k));
      V out = std::move(*v);
      d.erase(k);
      if (c.durable())
        c.journal(object::encode(object::erase_code, &k, nullptr));
      return out;
    });
  }

  /// `d.pop(key, default)`: as `pop(key)`, returning `fallback` (and
  /// changing nothing) when there is no such key.
  auto pop(K key, V fallback) const {
    return this->template invoke<V>(
      [k = std::move(key), f = std::move(fallback)](detail::op_ctx& c) mutable {
        auto& d = c.object<object>();
        auto* v = d.find(k);
        if (v == nullptr)
          return std::move(f);
        V out = std::move(*v);
        d.erase(k);
        if (c.durable())
          c.journal(object::encode(object::erase_code, &k, nullptr));
        return out;
      });
  }

  /// `d.popitem()`: removes and returns the last inserted pair (Python
  /// 3.7+ order); throws `key_error` when the dict is empty.
  auto popitem() const {
    return this->template invoke<std::pair<K, V>>([](detail::op_ctx& c) {
      auto& d = c.object<object>();
      auto* last = d.last();
      if (last == nullptr)
        throw key_error("popitem(): dict '" + c.target()->name + "' is empty");
      std::pair<K, V> out = *last;
      d.erase(out.first);
      if (c.durable())
        c.journal(object::encode(object::erase_code, &out.first, nullptr));
      return out;
    });
  }

  /// `d.setdefault(key, value)`: the key's value; when the key is missing
  /// it is first set to `value`.
  auto setdefault(K key, V value) const {
    return this->template invoke<V>(
      [k = std::move(key), v = std::move(value)](detail::op_ctx& c) mutable {
        auto& d = c.object<object>();
        if (auto* cur = d.find(k))
          return *cur;
        std::string rec;
        if (c.durable())
          rec = object::encode(object::set_code, &k, &v);
        d.put(k, v);
        if (c.durable())
          c.journal(std::move(rec));
        return v;
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
    requires(std::is_invocable_r_v<V, F&, const V&>)
  auto update(K key, F fn) const {
    return update(std::move(key), V{}, std::move(fn));
  }

  /// As `update(key, fn)`, starting from `initial` when the key is missing.
  template <class F>
    requires(std::is_invocable_r_v<V, F&, const V&>)
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
  requires(dict_key<K>)
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
