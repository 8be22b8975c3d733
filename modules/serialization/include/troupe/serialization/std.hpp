#pragma once

// Boost.Serialization support for the standard types users put in messages
// and managed state: strings, containers, pairs, std::array, and
// std::optional and std::variant (which Boost 1.74 lacks; provided here
// unless the Boost in use has its own); and troupe::bytes.

#include <cstddef>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include <boost/mp11/algorithm.hpp>
#include <boost/serialization/array.hpp>
#include <boost/serialization/deque.hpp>
#include <boost/serialization/list.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/nvp.hpp>
#include <boost/serialization/optional.hpp>
#include <boost/serialization/set.hpp>
#include <boost/serialization/split_free.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/unordered_map.hpp>
#include <boost/serialization/unordered_set.hpp>
#include <boost/serialization/utility.hpp>
#include <boost/serialization/variant.hpp>
#include <boost/serialization/vector.hpp>

#include <troupe/bytes.hpp>
#include <troupe/serialization/error.hpp>

#if __has_include(<boost/serialization/std_optional.hpp>)
#  include <boost/serialization/std_optional.hpp>
#else
namespace boost::serialization {

/// std::optional<T>: a presence flag, then the value. T must be default
/// constructible (as for boost::optional).
template <class Archive, class T>
void save(Archive& ar, const std::optional<T>& x, const unsigned int) {
  const bool engaged = x.has_value();
  ar << boost::serialization::make_nvp("initialized", engaged);
  if (engaged)
    ar << boost::serialization::make_nvp("value", *x);
}

template <class Archive, class T>
void load(Archive& ar, std::optional<T>& x, const unsigned int) {
  bool engaged = false;
  ar >> boost::serialization::make_nvp("initialized", engaged);
  if (!engaged) {
    x.reset();
    return;
  }
  if (!x)
    x.emplace();
  ar >> boost::serialization::make_nvp("value", *x);
}

template <class Archive, class T>
void serialize(Archive& ar, std::optional<T>& x, const unsigned int version) {
  boost::serialization::split_free(ar, x, version);
}

} // namespace boost::serialization
#endif

#if __has_include(<boost/serialization/std_variant.hpp>)
#  include <boost/serialization/std_variant.hpp>
#else
namespace boost::serialization {

/// std::variant<Ts...>: the index, then the alternative. Alternatives must
/// be default constructible; an index out of range when reading throws
/// troupe::serialization::format_error.
template <class Archive, class... Ts>
void save(Archive& ar, const std::variant<Ts...>& x, const unsigned int) {
  // valueless_by_exception() has no value to write; it reads back as the
  // first alternative rather than not at all.
  const int which
    = x.valueless_by_exception() ? 0 : static_cast<int>(x.index());
  ar << boost::serialization::make_nvp("which", which);
  if (x.valueless_by_exception()) {
    std::variant_alternative_t<0, std::variant<Ts...>> first{};
    ar << boost::serialization::make_nvp("value", first);
    return;
  }
  std::visit(
    [&ar](const auto& alt) {
      ar << boost::serialization::make_nvp("value", alt);
    },
    x);
}

template <class Archive, class... Ts>
void load(Archive& ar, std::variant<Ts...>& x, const unsigned int) {
  int which = -1;
  ar >> boost::serialization::make_nvp("which", which);
  if (which < 0 || static_cast<std::size_t>(which) >= sizeof...(Ts))
    throw troupe::serialization::format_error(
      "std::variant index " + std::to_string(which) + " out of range (the "
      + std::to_string(sizeof...(Ts)) + " alternatives are 0 to "
      + std::to_string(sizeof...(Ts) - 1) + ")");
  boost::mp11::mp_with_index<sizeof...(Ts)>(
    static_cast<std::size_t>(which), [&ar, &x](auto index) {
      using alt = std::variant_alternative_t<index, std::variant<Ts...>>;
      alt value{};
      ar >> boost::serialization::make_nvp("value", value);
      x.template emplace<index>(std::move(value));
    });
}

template <class Archive, class... Ts>
void serialize(Archive& ar, std::variant<Ts...>& x,
               const unsigned int version) {
  boost::serialization::split_free(ar, x, version);
}

} // namespace boost::serialization
#endif

namespace boost::serialization {

/// std::tuple<Ts...>: its elements in order (Boost 1.74 has no support of
/// its own).
template <class Archive, class... Ts>
void serialize(Archive& ar, std::tuple<Ts...>& x, const unsigned int) {
  std::apply(
    [&ar](auto&... element) {
      ((ar & boost::serialization::make_nvp("element", element)), ...);
    },
    x);
}

} // namespace boost::serialization

namespace boost::serialization {

/// troupe::bytes: as a std::string (its length, then its bytes), so the
/// archive's checks on strings (a length beyond the input is rejected
/// before allocating) hold for it too.
template <class Archive>
void save(Archive& ar, const troupe::bytes& x, const unsigned int) {
  const std::string text = x.str();
  ar << boost::serialization::make_nvp("bytes", text);
}

template <class Archive>
void load(Archive& ar, troupe::bytes& x, const unsigned int) {
  std::string text;
  ar >> boost::serialization::make_nvp("bytes", text);
  x = troupe::bytes{text};
}

template <class Archive>
void serialize(Archive& ar, troupe::bytes& x, const unsigned int version) {
  boost::serialization::split_free(ar, x, version);
}

} // namespace boost::serialization
