#pragma once

/// `serializable<T>`: whether `to_bytes`/`from_bytes` can carry a `T`,
/// checked at compile time where a value must cross a boundary (an
/// OS-process worker's arguments, a message to another node), so that the
/// compiler, not a later run, says what is missing.

#include <array>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <troupe/bytes.hpp>
#include <troupe/serialization/archive.hpp>

namespace troupe::serialization {

/// Opt-in for a class whose Boost.Serialization support the check cannot
/// see: a private `serialize` member (with `friend class
/// boost::serialization::access`) or a free `serialize` declared in
/// namespace `boost::serialization`. Declare at namespace scope:
///
///     template <>
///     inline constexpr bool troupe::serialization::enable_serializable<my_t>
///       = true;
template <class T>
inline constexpr bool enable_serializable = false;

namespace detail {

template <class T>
struct serial_check;

template <class T>
inline constexpr bool serializable_v = serial_check<std::remove_cv_t<T>>::value;

/// A public `serialize(Archive&, unsigned)` member, or public `save`/`load`
/// members (split with BOOST_SERIALIZATION_SPLIT_MEMBER).
template <class T>
concept has_member_serialize = requires(oarchive& ar, T& x) {
  x.serialize(ar, 0U);
}
|| requires(oarchive& ar, const T& x) {
  x.save(ar, 0U);
};

/// A free `serialize(Archive&, T&, unsigned)` found next to `T`.
template <class T>
concept has_free_serialize = requires(oarchive& ar, T& x) {
  serialize(ar, x, 0U);
};

template <class T>
struct serial_check
  : std::bool_constant<
      std::is_arithmetic_v<
        T> || std::is_enum_v<T> || enable_serializable<T> || has_member_serialize<T> || has_free_serialize<T>> {
};

template <class C, class Tr, class A>
struct serial_check<std::basic_string<C, Tr, A>> : std::true_type {};

template <>
struct serial_check<troupe::bytes> : std::true_type {};

template <class... Ts>
struct serial_check<std::tuple<Ts...>>
  : std::bool_constant<(serializable_v<Ts> && ...)> {};

template <class T, std::size_t N>
struct serial_check<std::array<T, N>> : std::bool_constant<serializable_v<T>> {
};

template <class T, class A>
struct serial_check<std::vector<T, A>> : std::bool_constant<serializable_v<T>> {
};

template <class T, class A>
struct serial_check<std::deque<T, A>> : std::bool_constant<serializable_v<T>> {
};

template <class T, class A>
struct serial_check<std::list<T, A>> : std::bool_constant<serializable_v<T>> {};

template <class T, class C, class A>
struct serial_check<std::set<T, C, A>> : std::bool_constant<serializable_v<T>> {
};

template <class T, class C, class A>
struct serial_check<std::multiset<T, C, A>>
  : std::bool_constant<serializable_v<T>> {};

template <class T, class H, class E, class A>
struct serial_check<std::unordered_set<T, H, E, A>>
  : std::bool_constant<serializable_v<T>> {};

template <class K, class V, class C, class A>
struct serial_check<std::map<K, V, C, A>>
  : std::bool_constant<serializable_v<K> && serializable_v<V>> {};

template <class K, class V, class C, class A>
struct serial_check<std::multimap<K, V, C, A>>
  : std::bool_constant<serializable_v<K> && serializable_v<V>> {};

template <class K, class V, class H, class E, class A>
struct serial_check<std::unordered_map<K, V, H, E, A>>
  : std::bool_constant<serializable_v<K> && serializable_v<V>> {};

template <class A, class B>
struct serial_check<std::pair<A, B>>
  : std::bool_constant<serializable_v<A> && serializable_v<B>> {};

template <class T>
struct serial_check<std::optional<T>>
  : std::bool_constant<
      serializable_v<T> && std::is_default_constructible_v<T>> {};

template <class... Ts>
struct serial_check<std::variant<Ts...>>
  : std::bool_constant<(serializable_v<Ts> && ...)> {};

} // namespace detail

/// Whether a `T` can be written with `to_bytes` and read back with
/// `from_bytes`: arithmetic types and enums; `std::string`,
/// `troupe::bytes`; `std::array`, `vector`, `deque`, `list`, `set`,
/// `multiset`, `unordered_set`, `map`, `multimap`, `unordered_map`,
/// `pair`, `tuple`, `optional` and `variant` of such types (with
/// troupe/serialization/std.hpp included where they are written); classes
/// with a public `serialize` (or `save`/`load`) member or a free
/// `serialize` in their own namespace; and types opted in with
/// `enable_serializable`. Pointers and references are not: they mean
/// nothing in another process.
template <class T>
concept serializable
  = !std::is_pointer_v<
      std::remove_cvref_t<T>> && detail::serializable_v<std::remove_cvref_t<T>>;

} // namespace troupe::serialization
