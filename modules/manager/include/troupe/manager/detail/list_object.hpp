#pragma once

// A managed list's state and journal records (the machinery behind
// troupe/manager/list.hpp).

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <boost/mpl/int.hpp>
#include <boost/mpl/integral_c_tag.hpp>
#include <boost/serialization/version.hpp>

#include "troupe/manager/detail/proxy.hpp"

namespace troupe::managed {

namespace detail {

/// A list's journal record (format version 1 adds `count`).
template <class T>
struct list_record {
  std::uint8_t code = 0;
  std::int64_t index = 0;
  std::vector<T> items;
  std::int64_t count = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned version) {
    ar& code& index& items;
    if (version >= 1)
      ar& count;
  }
};

/// A list's state.
template <class T>
class list_object final : public object_base {
public:
  static constexpr bool durable = durable_value<T>;

  static std::string kind() {
    return "list";
  }

  static std::string tag() {
    return "list<" + type_name<T>() + ">";
  }

  enum code : std::uint8_t {
    extend_code = 1,
    set_code = 2,
    reverse_code = 3,
    pop_code = 4,
    clear_code = 5,
    splice_code = 6, // items [index, index + count) replaced by `items`
  };

  using record = list_record<T>;

  /// Python's slice bounds: negative counts from the end, then clamped to
  /// [0, size]; an empty range when `stop` <= `start`.
  std::pair<std::size_t, std::size_t> range(std::int64_t start,
                                            std::int64_t stop) const {
    auto n = static_cast<std::int64_t>(items.size());
    auto clamp = [n](std::int64_t i) {
      if (i < 0)
        i += n;
      return static_cast<std::size_t>(std::clamp<std::int64_t>(i, 0, n));
    };
    auto a = clamp(start);
    auto b = clamp(stop);
    return {a, std::max(a, b)};
  }

  void splice(std::size_t at, std::size_t count, std::vector<T> xs) {
    auto first = items.begin() + static_cast<std::ptrdiff_t>(at);
    items.erase(first, first + static_cast<std::ptrdiff_t>(count));
    items.insert(items.begin() + static_cast<std::ptrdiff_t>(at),
                 std::make_move_iterator(xs.begin()),
                 std::make_move_iterator(xs.end()));
  }

  std::vector<T> items;

  /// Python's index: negative counts from the end. Throws `index_error`.
  std::size_t position(std::int64_t i, const std::string& name,
                       const char* what) const {
    auto n = static_cast<std::int64_t>(items.size());
    auto j = i < 0 ? i + n : i;
    if (j < 0 || j >= n)
      throw index_error(std::string{what} + ": index " + std::to_string(i)
                        + " is out of range for list '" + name + "' of size "
                        + std::to_string(n));
    return static_cast<std::size_t>(j);
  }

  void extend(std::vector<T> xs) {
    items.reserve(items.size() + xs.size());
    std::move(xs.begin(), xs.end(), std::back_inserter(items));
  }

  std::string save() const override {
    if constexpr (durable)
      return serialization::to_bytes(items);
    else
      return {};
  }

  void load(std::string_view bytes) override {
    if constexpr (durable)
      items = serialization::from_bytes<std::vector<T>>(bytes);
  }

  void replay(std::string_view bytes) override {
    if constexpr (durable) {
      auto r = serialization::from_bytes<record>(bytes);
      auto bad = [&] {
        return serialization::format_error(
          "list record (code " + std::to_string(int{r.code}) + ", index "
          + std::to_string(r.index) + ") does not fit a list of size "
          + std::to_string(items.size()));
      };
      switch (r.code) {
        case extend_code:
          extend(std::move(r.items));
          break;
        case set_code:
          if (r.index < 0 || static_cast<std::size_t>(r.index) >= items.size()
              || r.items.size() != 1)
            throw bad();
          items[static_cast<std::size_t>(r.index)] = std::move(r.items[0]);
          break;
        case reverse_code:
          std::reverse(items.begin(), items.end());
          break;
        case pop_code:
          if (r.index < 0 || static_cast<std::size_t>(r.index) >= items.size())
            throw bad();
          items.erase(items.begin() + r.index);
          break;
        case clear_code:
          items.clear();
          break;
        case splice_code:
          if (r.index < 0 || r.count < 0
              || static_cast<std::size_t>(r.index)
                     + static_cast<std::size_t>(r.count)
                   > items.size())
            throw bad();
          splice(static_cast<std::size_t>(r.index),
                 static_cast<std::size_t>(r.count), std::move(r.items));
          break;
        default:
          throw bad();
      }
    }
  }

  static std::string encode(std::uint8_t c, std::int64_t index = 0,
                            std::vector<T> xs = {}, std::int64_t count = 0) {
    if constexpr (durable) {
      record r;
      r.code = c;
      r.index = index;
      r.items = std::move(xs);
      r.count = count;
      return serialization::to_bytes(r);
    } else {
      return {};
    }
  }
};

} // namespace detail

} // namespace troupe::managed

namespace boost::serialization {
template <class T>
struct version<troupe::managed::detail::list_record<T>> {
  using type = boost::mpl::int_<1>;
  using tag = boost::mpl::integral_c_tag;
  static constexpr int value = type::value;
};
} // namespace boost::serialization
