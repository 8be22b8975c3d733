#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/manager/detail/proxy.hpp"
#include "troupe/manager/dict.hpp"
#include "troupe/manager/list.hpp"
#include "troupe/manager/value.hpp"

namespace troupe::managed {

/// Writes to several objects of one manager, applied as one atomic
/// operation: every other call sees all of them or none, and with a state
/// file they reach the disk as one journal entry, so a crash (of the state
/// actor or of the whole program, `kill -9` included) keeps all of them or
/// none. A batch is also the fast way to make many writes: one call and,
/// when durable, one sync for all of them.
///
///     auto b = mgr.batch();
///     b.update(files, {{"a.txt", 120}, {"b.txt", 80}});
///     b.merge(totals, word_counts, std::plus<>{});
///     b.erase(failures, "a.txt");
///     b.commit(); // blocks until applied (and durable)
///
/// Steps run inside the manager in the order they were added, each seeing
/// the ones before it. A step that throws (`merge`'s or `update`'s
/// function, or an allocation) undoes the steps before it: nothing
/// changes, nothing is journaled, and `commit` rethrows the exception.
///
/// Thread-safety: a batch is one thread's (build it, then commit it);
/// proxies it names may be used by anyone meanwhile. Lifetime: `commit`
/// consumes the steps, whatever its outcome; the batch is then empty and
/// can be filled again.
class batch {
public:
  /// An empty batch for the manager owning `core` (see `manager::batch()`).
  explicit batch(std::shared_ptr<detail::manager_core> core) noexcept
    : core_(std::move(core)) {}

  // -- dicts

  /// `d[key] = value`.
  template <class K, class V>
  batch& set(const dict<K, V>& d, K key, V value) {
    std::vector<std::pair<K, V>> one;
    one.emplace_back(std::move(key), std::move(value));
    return add<detail::dict_put_step<K, V>>(d, std::move(one));
  }

  /// `d.update(items)`: puts every pair, in order.
  template <class K, class V>
  batch& update(const dict<K, V>& d, std::vector<std::pair<K, V>> items) {
    if (items.empty())
      return *this;
    return add<detail::dict_put_step<K, V>>(d, std::move(items));
  }

  /// For each `(key, x)`: `d[key] = fn(d.get(key, V{}), x)` (see
  /// `dict::merge`).
  template <class K, class V, class X, class F>
    requires(std::is_invocable_r_v<V, F&, const V&, const X&>)
  batch& merge(const dict<K, V>& d, std::vector<std::pair<K, X>> items, F fn) {
    if (items.empty())
      return *this;
    return add<detail::dict_merge_step<K, V, X, F>>(d, std::move(items), V{},
                                                    std::move(fn));
  }

  /// `d[key] = fn(d.get(key, V{}))`.
  template <class K, class V, class F>
    requires(std::is_invocable_r_v<V, F&, const V&>)
  batch& update(const dict<K, V>& d, K key, F fn) {
    auto apply = [f = std::move(fn)](const V& cur, const detail::unit&) {
      return f(cur);
    };
    std::vector<std::pair<K, detail::unit>> one;
    one.emplace_back(std::move(key), detail::unit{});
    return add<detail::dict_merge_step<K, V, detail::unit, decltype(apply)>>(
      d, std::move(one), V{}, std::move(apply));
  }

  /// `del d[key]`, if the key is there (no `key_error`).
  template <class K, class V>
  batch& erase(const dict<K, V>& d, K key) {
    std::vector<K> one;
    one.push_back(std::move(key));
    return add<detail::dict_erase_step<K, V>>(d, std::move(one));
  }

  /// Erases every key of `keys` that is there.
  template <class K, class V>
  batch& erase_keys(const dict<K, V>& d, std::vector<K> keys) {
    if (keys.empty())
      return *this;
    return add<detail::dict_erase_step<K, V>>(d, std::move(keys));
  }

  // -- values and lists

  /// `v.value = x`.
  template <class T>
  batch& set(const value<T>& v, T x) {
    return add<value_step<T>>(v, [x = std::move(x)](const T&) { return x; });
  }

  /// `v.value = fn(v.value)`.
  template <class T, class F>
    requires(std::is_invocable_r_v<T, F&, const T&>)
  batch& update(const value<T>& v, F fn) {
    return add<value_step<T>>(v, std::move(fn));
  }

  /// `l.append(x)`.
  template <class T>
  batch& append(const list<T>& l, T x) {
    std::vector<T> one;
    one.push_back(std::move(x));
    return add<extend_step<T>>(l, std::move(one));
  }

  /// `l.extend(xs)`.
  template <class T>
  batch& extend(const list<T>& l, std::vector<T> xs) {
    if (xs.empty())
      return *this;
    return add<extend_step<T>>(l, std::move(xs));
  }

  // -- committing

  /// Steps added since the last commit.
  [[nodiscard]] std::size_t size() const noexcept {
    return steps_.size();
  }

  [[nodiscard]] bool empty() const noexcept {
    return steps_.empty();
  }

  /// Applies every step as one atomic operation and empties the batch.
  /// Blocks until the manager applied it and, when durable, until it is on
  /// disk; an empty batch returns at once. Throws what a step threw
  /// (nothing applied), or `manager_unavailable` as any proxy call does
  /// (its message says whether the batch was applied), or `terminated`
  /// when the calling process is asked to stop.
  void commit() {
    if (steps_.empty())
      return;
    core_->template call<void>(nullptr, make_op());
  }

  /// As `commit()`, from the event-based actor `self` without blocking:
  /// the answer (empty, or the error) arrives as the response to the
  /// returned handle.
  template <class Self>
  auto commit(Self* self,
              std::optional<std::chrono::milliseconds> timeout = {}) {
    return core_->template call_async<void>(self, nullptr, make_op(), timeout);
  }

private:
  template <class T>
  class value_step final : public detail::batch_step {
  public:
    using object = detail::value_object<T>;
    using fn_type = std::function<T(const T&)>;

    value_step(detail::slot* target, fn_type fn)
      : batch_step(target), fn_(std::move(fn)) {}

    void apply(detail::op_ctx& c) override {
      auto& v = c.object<object>();
      T next = fn_(std::as_const(v.val));
      std::string rec;
      if (c.durable())
        rec = serialization::to_bytes(next);
      old_.emplace(std::move(v.val));
      v.val = std::move(next);
      v_ = &v;
      if (c.durable())
        c.journal(std::move(rec));
    }

    void undo() noexcept override {
      if (old_) {
        v_->val = std::move(*old_);
        old_.reset();
      }
    }

  private:
    fn_type fn_;
    std::optional<T> old_;
    object* v_ = nullptr;
  };

  template <class T>
  class extend_step final : public detail::batch_step {
  public:
    using object = detail::list_object<T>;

    extend_step(detail::slot* target, std::vector<T> xs)
      : batch_step(target), xs_(std::move(xs)) {}

    void apply(detail::op_ctx& c) override {
      auto& l = c.object<object>();
      std::string rec;
      if (c.durable())
        rec = object::encode(object::extend_code, 0, xs_);
      size_before_ = l.items.size();
      l_ = &l;
      try {
        l.extend(std::move(xs_));
      } catch (...) {
        l.items.resize(size_before_);
        l_ = nullptr;
        throw;
      }
      if (c.durable())
        c.journal(std::move(rec));
    }

    void undo() noexcept override {
      if (l_ != nullptr)
        l_->items.erase(l_->items.begin()
                          + static_cast<std::ptrdiff_t>(size_before_),
                        l_->items.end());
    }

  private:
    std::vector<T> xs_;
    std::size_t size_before_ = 0;
    object* l_ = nullptr;
  };

  template <class Step, class Proxy, class... Args>
  batch& add(const Proxy& p, Args&&... args) {
    if (p.core().get() != core_.get())
      throw value_error("batch: '" + p.name()
                        + "' belongs to another manager than this batch");
    steps_.push_back(
      std::make_unique<Step>(p.target(), std::forward<Args>(args)...));
    return *this;
  }

  /// The operation `commit` queues: owns the steps.
  struct run_all {
    detail::batch_steps steps;

    void operator()(detail::op_ctx& c) {
      detail::run_steps(c, steps);
    }
  };

  run_all make_op() {
    run_all op{std::move(steps_)};
    steps_.clear();
    return op;
  }

  std::shared_ptr<detail::manager_core> core_;
  detail::batch_steps steps_;
};

} // namespace troupe::managed
