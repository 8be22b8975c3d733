#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "troupe/manager/detail/list_object.hpp"
#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

/// The operations of a managed list; see `list`.
template <class T, class Invoker>
class basic_list : public Invoker {
public:
  using Invoker::Invoker;
  using object = detail::list_object<T>;

  /// `l.append(x)`.
  auto append(T x) const {
    return this->template invoke<void>(
      [x = std::move(x)](detail::op_ctx& c) mutable {
        auto& l = c.object<object>();
        std::string rec;
        if (c.durable())
          rec = object::encode(object::extend_code, 0, std::vector<T>{x});
        l.items.push_back(std::move(x));
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `l.extend(xs)`.
  auto extend(std::vector<T> xs) const {
    return this->template invoke<void>(
      [xs = std::move(xs)](detail::op_ctx& c) mutable {
        auto& l = c.object<object>();
        std::string rec;
        if (c.durable())
          rec = object::encode(object::extend_code, 0, xs);
        l.extend(std::move(xs));
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `l[i]`; negative `i` counts from the end. Throws `index_error`.
  auto at(std::int64_t i) const {
    return this->template invoke<T>([i](detail::op_ctx& c) {
      auto& l = c.object<object>();
      return l.items[l.position(i, c.target()->name, "at")];
    });
  }

  /// `l[i] = x`. Throws `index_error`.
  auto set(std::int64_t i, T x) const {
    return this->template invoke<void>(
      [i, x = std::move(x)](detail::op_ctx& c) mutable {
        auto& l = c.object<object>();
        auto j = l.position(i, c.target()->name, "set");
        std::string rec;
        if (c.durable())
          rec = object::encode(object::set_code, static_cast<std::int64_t>(j),
                               std::vector<T>{x});
        l.items[j] = std::move(x);
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `len(l)`.
  auto size() const {
    return this->template invoke<std::size_t>(
      [](detail::op_ctx& c) { return c.object<object>().items.size(); });
  }

  /// `l.reverse()`, in place.
  auto reverse() const {
    return this->template invoke<void>([](detail::op_ctx& c) {
      auto& l = c.object<object>();
      std::reverse(l.items.begin(), l.items.end());
      if (c.durable())
        c.journal(object::encode(object::reverse_code));
    });
  }

  /// `l.pop()`: removes and returns the last item. Throws `index_error`
  /// when the list is empty.
  auto pop() const {
    return pop(-1);
  }

  /// `l.pop(i)`; negative `i` counts from the end. Throws `index_error`.
  auto pop(std::int64_t i) const {
    return this->template invoke<T>([i](detail::op_ctx& c) {
      auto& l = c.object<object>();
      auto j = l.position(i, c.target()->name, "pop");
      std::string rec;
      if (c.durable())
        rec = object::encode(object::pop_code, static_cast<std::int64_t>(j));
      T x = std::move(l.items[j]);
      l.items.erase(l.items.begin() + static_cast<std::ptrdiff_t>(j));
      if (c.durable())
        c.journal(std::move(rec));
      return x;
    });
  }

  /// `l.clear()`.
  auto clear() const {
    return this->template invoke<void>([](detail::op_ctx& c) {
      c.object<object>().items.clear();
      if (c.durable())
        c.journal(object::encode(object::clear_code));
    });
  }

  /// `l.insert(i, x)`: inserts `x` before index `i`; as Python's, `i` is
  /// clamped (negative counts from the end), so it never throws
  /// `index_error`.
  auto insert(std::int64_t i, T x) const {
    return this->template invoke<void>(
      [i, x = std::move(x)](detail::op_ctx& c) mutable {
        auto& l = c.object<object>();
        auto at = l.range(i, i).first;
        std::vector<T> one;
        one.push_back(std::move(x));
        std::string rec;
        if (c.durable())
          rec = object::encode(object::splice_code,
                               static_cast<std::int64_t>(at), one, 0);
        l.splice(at, 0, std::move(one));
        if (c.durable())
          c.journal(std::move(rec));
      });
  }

  /// `l.remove(x)`: removes the first item equal to `x`; throws
  /// `value_error` when there is none.
  auto remove(T x) const requires std::equality_comparable<T> {
    return this->template invoke<void>([x = std::move(x)](detail::op_ctx& c) {
      auto& l = c.object<object>();
      auto it = std::find(l.items.begin(), l.items.end(), x);
      if (it == l.items.end())
        throw value_error("remove(x): " + detail::describe(x)
                          + " is not in list '" + c.target()->name + "'");
      auto at = static_cast<std::int64_t>(it - l.items.begin());
      l.items.erase(it);
      if (c.durable())
        c.journal(object::encode(object::pop_code, at));
    });
  }

  /// `l.index(x)`: the index of the first item equal to `x`; throws
  /// `value_error` when there is none.
  auto index(T x) const requires std::equality_comparable<T> {
    return index(std::move(x), 0, std::numeric_limits<std::int64_t>::max());
  }

  /// `l.index(x, start, stop)`: searches `l[start:stop]` only (Python's
  /// slice bounds); the index returned counts from the list's start.
  auto index(T x, std::int64_t start, std::int64_t stop) const
    requires(std::equality_comparable<T>) {
    return this->template invoke<std::size_t>(
      [x = std::move(x), start, stop](detail::op_ctx& c) {
        auto& l = c.object<object>();
        auto [a, b] = l.range(start, stop);
        auto first = l.items.begin() + static_cast<std::ptrdiff_t>(a);
        auto last = l.items.begin() + static_cast<std::ptrdiff_t>(b);
        auto it = std::find(first, last, x);
        if (it == last)
          throw value_error(detail::describe(x) + " is not in list '"
                            + c.target()->name + "'");
        return static_cast<std::size_t>(it - l.items.begin());
      });
  }

  /// `l.count(x)`: how many items equal `x`.
  auto count(T x) const requires std::equality_comparable<T> {
    return this->template invoke<std::size_t>(
      [x = std::move(x)](detail::op_ctx& c) {
        auto& l = c.object<object>();
        return static_cast<std::size_t>(
          std::count(l.items.begin(), l.items.end(), x));
      });
  }

  /// `l.sort()`: sorts in place, stably, by `less` (Python's
  /// `l.sort(reverse=True)` is `l.sort(std::greater<>{})`). `less` runs
  /// inside the manager; if it throws, the list is unchanged.
  template <class Less = std::less<>>
    requires(std::is_invocable_r_v<bool, Less&, const T&, const T&>)
  auto sort(Less less = {}) const {
    return this->template invoke<void>(
      [less = std::move(less)](detail::op_ctx& c) mutable {
        auto& l = c.object<object>();
        auto sorted = l.items;
        std::stable_sort(sorted.begin(), sorted.end(), less);
        l.items = std::move(sorted);
        if (c.durable())
          c.journal_state(c.target(), l.save());
      });
  }

  /// `l[start:stop]`: a copy of the items in Python's slice bounds
  /// (negative counts from the end; out-of-range bounds are clamped).
  auto slice(std::int64_t start, std::int64_t stop) const {
    return this->template invoke<std::vector<T>>(
      [start, stop](detail::op_ctx& c) {
        auto& l = c.object<object>();
        auto [a, b] = l.range(start, stop);
        return std::vector<T>(l.items.begin() + static_cast<std::ptrdiff_t>(a),
                              l.items.begin() + static_cast<std::ptrdiff_t>(b));
      });
  }

  /// `l[start:stop] = xs`: replaces the items in the slice with `xs` (any
  /// length), atomically.
  auto set_slice(std::int64_t start, std::int64_t stop,
                 std::vector<T> xs) const {
    return this->template invoke<void>([start, stop, xs = std::move(xs)](
                                         detail::op_ctx& c) mutable {
      auto& l = c.object<object>();
      auto [a, b] = l.range(start, stop);
      std::string rec;
      if (c.durable())
        rec = object::encode(object::splice_code, static_cast<std::int64_t>(a),
                             xs, static_cast<std::int64_t>(b - a));
      l.splice(a, b - a, std::move(xs));
      if (c.durable())
        c.journal(std::move(rec));
    });
  }

  /// `del l[start:stop]`: removes the items in the slice.
  auto erase_slice(std::int64_t start, std::int64_t stop) const {
    return set_slice(start, stop, {});
  }

  /// `l[:]`: a copy of the whole list, taken atomically.
  auto snapshot() const {
    return this->template invoke<std::vector<T>>(
      [](detail::op_ctx& c) { return c.object<object>().items; });
  }
};

/// A proxy to a list living in a manager (Python's `manager.list()`).
/// Same guarantees as `dict`: each call is atomic; `l.set(i, l.at(i) + 1)`
/// from two processes can lose an update.
template <class T>
class list : public basic_list<T, detail::sync_invoker> {
public:
  using basic_list<T, detail::sync_invoker>::basic_list;

  /// The same list, called from the event-based actor `self`.
  template <class Self>
  [[nodiscard]] basic_list<T, detail::async_invoker<Self>>
  async(Self* self,
        std::optional<std::chrono::milliseconds> timeout = {}) const {
    return {this->core_, this->slot_, self, timeout};
  }
};

} // namespace troupe::managed
