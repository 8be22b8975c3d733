#pragma once

// A managed dict's state, journal records and undoable batch steps (the
// machinery behind troupe/manager/dict.hpp).

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/mpl/int.hpp>
#include <boost/mpl/integral_c_tag.hpp>
#include <boost/serialization/version.hpp>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// A dict's journal record: one change, or (format version 1) many.
template <class K, class V>
struct dict_record {
  std::uint8_t code = 0;
  K key{};
  V value{};
  std::vector<std::pair<K, V>> items; // set_many_code
  std::vector<K> keys;                // erase_many_code

  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ar& code& key& value;
    if (version >= 1)
      ar& items& keys;
  }
};

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

  enum code : std::uint8_t {
    set_code = 1,
    erase_code = 2,
    clear_code = 3,
    set_many_code = 4,
    erase_many_code = 5,
  };

  using record = dict_record<K, V>;

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
    ++holes_;
    if (squeeze_held_ == 0)
      settle();
    return true;
  }

  void clear() {
    entries_.clear();
    index_.clear();
    holes_ = 0;
  }

  // -- changes that can be undone (batches roll back with these) ------------

  /// How to undo a `put`: the key, and its old value (none: it was new,
  /// and is now the last entry).
  struct put_undo {
    K key;
    std::optional<V> old;
  };

  /// As `put`, returning how to undo it.
  put_undo put_undoable(K k, V v) {
    if (auto* p = find(k)) {
      put_undo u{std::move(k), std::move(*p)};
      *p = std::move(v);
      return u;
    }
    put_undo u{k, std::nullopt};
    put(std::move(k), std::move(v));
    return u;
  }

  /// Undoes `u`; undo in the reverse order of the changes.
  void undo(put_undo& u) noexcept {
    if (u.old) {
      if (auto* p = find(u.key))
        *p = std::move(*u.old);
    } else {
      index_.erase(u.key);
      entries_.pop_back();
    }
  }

  /// How to undo an `erase`: where the entry was, and the entry.
  struct erase_undo {
    std::size_t at = 0;
    std::optional<std::pair<K, V>> entry;
  };

  /// As `erase`, keeping the hole until `release_squeeze()` so that the
  /// entry can be put back where it was.
  erase_undo erase_undoable(const K& k) {
    auto i = index_.find(k);
    if (i == index_.end())
      return {};
    erase_undo u{i->second, std::move(entries_[i->second])};
    entries_[u.at].reset();
    index_.erase(i);
    ++holes_;
    return u;
  }

  void undo(erase_undo& u) noexcept {
    if (!u.entry)
      return;
    index_.emplace(u.entry->first, u.at);
    entries_[u.at] = std::move(u.entry);
    --holes_;
  }

  /// While held, erasing leaves holes where they are.
  void hold_squeeze() noexcept {
    ++squeeze_held_;
  }

  void release_squeeze() {
    if (--squeeze_held_ == 0)
      settle();
  }

  /// Python's `popitem()`: the last entry, or none.
  [[nodiscard]] const std::pair<K, V>* last() const {
    for (auto i = entries_.rbegin(); i != entries_.rend(); ++i)
      if (*i)
        return &**i;
    return nullptr;
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
        case set_many_code:
          for (auto& [k, v] : r.items)
            put(std::move(k), std::move(v));
          break;
        case erase_many_code:
          for (auto& k : r.keys)
            erase(k);
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

  /// A record of many puts (durable types only).
  static std::string encode_puts(std::vector<std::pair<K, V>> items) {
    if constexpr (durable) {
      record r;
      r.code = set_many_code;
      r.items = std::move(items);
      return serialization::to_bytes(r);
    } else {
      return {};
    }
  }

  /// A record of many erases (durable types only).
  static std::string encode_erases(std::vector<K> keys) {
    if constexpr (durable) {
      record r;
      r.code = erase_many_code;
      r.keys = std::move(keys);
      return serialization::to_bytes(r);
    } else {
      return {};
    }
  }

private:
  void settle() {
    if (holes_ > 32 && holes_ > entries_.size() / 2)
      squeeze();
  }

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
  int squeeze_held_ = 0;
};

/// Puts `items` in order (Python's `d.update(items)`), journaled as one
/// record; all or nothing.
template <class K, class V>
class dict_put_step final : public batch_step {
public:
  using object = dict_object<K, V>;

  dict_put_step(slot* target, std::vector<std::pair<K, V>> items)
    : batch_step(target), items_(std::move(items)) {}

  void apply(op_ctx& c) override {
    auto& d = c.object<object>();
    std::string rec;
    if (c.durable())
      rec = items_.size() == 1 ? object::encode(
              object::set_code, &items_[0].first, &items_[0].second)
                               : object::encode_puts(items_);
    d_ = &d;
    undo_.reserve(items_.size());
    try {
      for (auto& [k, v] : items_)
        undo_.push_back(d.put_undoable(std::move(k), std::move(v)));
    } catch (...) {
      undo();
      throw;
    }
    if (c.durable())
      c.journal(std::move(rec));
  }

  void undo() noexcept override {
    while (!undo_.empty()) {
      d_->undo(undo_.back());
      undo_.pop_back();
    }
  }

private:
  std::vector<std::pair<K, V>> items_;
  std::vector<typename object::put_undo> undo_;
  object* d_ = nullptr;
};

/// For each `(key, x)` in order, `d[key] = fn(d.get(key, initial), x)`;
/// journaled as the values it wrote; all or nothing.
template <class K, class V, class X, class F>
class dict_merge_step final : public batch_step {
public:
  using object = dict_object<K, V>;

  dict_merge_step(slot* target, std::vector<std::pair<K, X>> items, V initial,
                  F fn)
    : batch_step(target), items_(std::move(items)),
      initial_(std::move(initial)), fn_(std::move(fn)) {}

  void apply(op_ctx& c) override {
    auto& d = c.object<object>();
    d_ = &d;
    std::vector<std::pair<K, V>> written;
    if (c.durable())
      written.reserve(items_.size());
    undo_.reserve(items_.size());
    try {
      for (auto& [k, x] : items_) {
        auto* cur = d.find(k);
        V next = fn_(cur ? std::as_const(*cur) : std::as_const(initial_),
                     std::as_const(x));
        if (c.durable())
          written.emplace_back(k, next);
        undo_.push_back(d.put_undoable(k, std::move(next)));
      }
    } catch (...) {
      undo();
      throw;
    }
    if (c.durable())
      c.journal(object::encode_puts(std::move(written)));
  }

  void undo() noexcept override {
    while (!undo_.empty()) {
      d_->undo(undo_.back());
      undo_.pop_back();
    }
  }

  /// The value the last item wrote (single-key updates return it).
  [[nodiscard]] V last_written() const {
    return *d_->find(items_.back().first);
  }

private:
  std::vector<std::pair<K, X>> items_;
  V initial_;
  F fn_;
  std::vector<typename object::put_undo> undo_;
  object* d_ = nullptr;
};

/// Erases `keys` (those present), journaled as one record; undone by
/// putting each entry back where it was.
template <class K, class V>
class dict_erase_step final : public batch_step {
public:
  using object = dict_object<K, V>;

  dict_erase_step(slot* target, std::vector<K> keys)
    : batch_step(target), keys_(std::move(keys)) {}

  void apply(op_ctx& c) override {
    auto& d = c.object<object>();
    d_ = &d;
    d.hold_squeeze();
    std::vector<K> erased;
    try {
      undo_.reserve(keys_.size());
      for (auto& k : keys_) {
        auto u = d.erase_undoable(k);
        if (u.entry) {
          if (c.durable())
            erased.push_back(k);
          undo_.push_back(std::move(u));
        }
      }
    } catch (...) {
      undo();
      throw;
    }
    if (c.durable() && !erased.empty())
      c.journal(erased.size() == 1
                  ? object::encode(object::erase_code, &erased[0], nullptr)
                  : object::encode_erases(std::move(erased)));
  }

  void undo() noexcept override {
    while (!undo_.empty()) {
      d_->undo(undo_.back());
      undo_.pop_back();
    }
  }

  void settle() noexcept override {
    if (d_ != nullptr) {
      try {
        d_->release_squeeze();
      } catch (...) { // NOLINT(bugprone-empty-catch): squeezing is optional
      }
      d_ = nullptr;
    }
  }

  /// How many keys were there.
  [[nodiscard]] std::size_t erased() const noexcept {
    return undo_.size();
  }

private:
  std::vector<K> keys_;
  std::vector<typename object::erase_undo> undo_;
  object* d_ = nullptr;
};

/// Runs one step as a whole operation, rolling it back if it throws.
template <class Step>
void run_step(op_ctx& c, Step& step) {
  try {
    step.apply(c);
  } catch (...) {
    step.settle();
    throw;
  }
  step.settle();
}

} // namespace detail

} // namespace troupe::managed

// Journal records written by this version carry the batch fields; records
// of version 0 (single changes) are still read.
namespace boost::serialization {
template <class K, class V>
struct version<troupe::managed::detail::dict_record<K, V>> {
  using type = boost::mpl::int_<1>;
  using tag = boost::mpl::integral_c_tag;
  static constexpr int value = type::value;
};
} // namespace boost::serialization
