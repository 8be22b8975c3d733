#pragma once
/// `troupe::shareable_list`: a fixed-length list of scalars, strings and
/// byte strings in a `shared_memory` block (Python's
/// `multiprocessing.shared_memory.ShareableList`). See
/// docs/shared-memory.md.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ranges>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <troupe/bytes.hpp>
#include <troupe/shared_memory.hpp>

namespace troupe {

/// A list of fixed length whose items live in shared memory: Python's
/// `ShareableList`. Each item is `None`, an `int` (64-bit), a `float`
/// (double), a `bool`, a `str` (`std::string`) or `bytes`
/// (`troupe::bytes`). An item may change type (`sl.set(2, "dry ice")`),
/// but not outgrow its slot: a slot holds 8 bytes, or for a string or
/// byte string its first value's length rounded up past the next multiple
/// of 8 (5 bytes: 8, 8 bytes: 16), as Python's; a longer one is refused
/// with `value_error` (Python's "exceeds available storage") and the slot
/// keeps its value.
///
///     troupe::shareable_list a{"howdy", troupe::bytes{"HoWdY"}, -273.154,
///                              100, troupe::shareable_list::none, true, 42};
///     a.set(2, -78.5);
///     a.index(42); // 6
///
/// Handing it on is handing its `shm()` on: to a `process` as a copy, to an
/// `os_process` as an argument (a `shareable_list` parameter), to another
/// program by `shm().publish()` and `shareable_list{shared_memory::attach(
/// name)}`. Every holder sees the same items.
///
/// Thread- and process-safety: each item is read and written whole, under
/// a lock of its slot that lives in the block (a holder that dies while it
/// holds one, for the few instructions of a copy, does not block the
/// others: its lock is taken over once its process is gone). Operations on
/// several items (`index`, `count`, `to_vector`) are not one atomic step.
/// Equality is by type and value: `1`, `1.0` and `true` are different
/// items here (Python counts them as equal).
class shareable_list {
public:
  /// Python's `None`.
  using none_t = std::monostate;
  static constexpr none_t none{};

  /// One item.
  using item = std::variant<none_t, std::int64_t, double, bool, std::string,
                            troupe::bytes>;

  /// An empty handle (no block).
  shareable_list() noexcept = default;

  /// A new list holding `items`, in a new block.
  shareable_list(std::initializer_list<item> items);

  /// A new list holding the items of `r` (e.g. `std::views::iota(0, 2000)`:
  /// Python's `ShareableList(range(2000))`).
  template <std::ranges::input_range R>
    requires(std::is_convertible_v<
               std::ranges::range_reference_t<R>,
               item> && !std::is_same_v<std::remove_cvref_t<R>, shareable_list>)
  explicit shareable_list(R&& r)
    : shareable_list(to_items(std::forward<R>(r)), 0) {}

  /// The list another holder made in `block` (Python's
  /// `ShareableList(name=...)`, after `shared_memory::attach`). Throws
  /// `value_error` when the block does not hold a well-formed list.
  explicit shareable_list(shared_memory block);

  /// The number of items (fixed).
  [[nodiscard]] std::size_t size() const noexcept {
    return slots_.size();
  }

  /// Item `i`. Throws `std::out_of_range` past the end.
  [[nodiscard]] item operator[](std::size_t i) const {
    return get(i);
  }

  [[nodiscard]] item get(std::size_t i) const;

  /// Item `i` as `T` (one of the item types, or `int` for `std::int64_t`).
  /// Throws `value_error` when the item is of another type, saying which.
  template <class T>
  [[nodiscard]] T get(std::size_t i) const {
    auto x = get(i);
    using stored
      = std::conditional_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                           std::int64_t, T>;
    if (const auto* v = std::get_if<stored>(&x))
      return static_cast<T>(*v);
    throw_type_mismatch(i, x.index(), index_of<stored>());
  }

  /// Replaces item `i` (Python's `sl[i] = value`). Throws
  /// `std::out_of_range` past the end and `value_error` when a string or
  /// byte string is longer than the slot's storage (the slot keeps its
  /// value).
  void set(std::size_t i, item value);

  /// The position of the first item equal to `value`. Throws `value_error`
  /// when there is none (Python's `index`).
  [[nodiscard]] std::size_t index(const item& value) const;

  /// How many items equal `value`.
  [[nodiscard]] std::size_t count(const item& value) const;

  /// Every item, in order.
  [[nodiscard]] std::vector<item> to_vector() const;

  /// The block holding the list (Python's `shm`).
  [[nodiscard]] const shared_memory& shm() const noexcept {
    return block_;
  }

  /// The name of a type, as Python prints it ("int", "str", "NoneType"...).
  static std::string_view type_name(const item& x) noexcept;

  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& block_;
    if constexpr (!Archive::is_saving::value)
      *this = shareable_list{std::move(block_)};
  }

  /// One slot's place in the block, copied out of it when the list is
  /// made or attached (after checking), never read from it again.
  struct slot_layout {
    std::size_t header = 0;   // offset of the slot's header
    std::size_t data = 0;     // offset of its data
    std::size_t capacity = 0; // bytes of data
  };

private:
  /// The position of `T` among the item's alternatives.
  template <class T>
  static constexpr std::size_t index_of() {
    return index_in<T>(static_cast<item*>(nullptr));
  }

  template <class T, class... Ts>
  static constexpr std::size_t index_in(std::variant<Ts...>*) {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> ? true : (++i, false)) || ...);
    return i;
  }

  template <class R>
  static std::vector<item> to_items(R&& r) {
    std::vector<item> out;
    for (auto&& x : r)
      out.emplace_back(std::forward<decltype(x)>(x));
    return out;
  }

  shareable_list(std::vector<item> items, int /*tag*/);

  [[noreturn]] static void
  throw_type_mismatch(std::size_t i, std::size_t actual, std::size_t wanted);

  shared_memory block_;
  std::vector<slot_layout> slots_;
};

} // namespace troupe
