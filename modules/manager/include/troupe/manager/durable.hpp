#pragma once

#include <array>
#include <cstddef>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include <boost/core/demangle.hpp>

#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace troupe::managed {

/// Opt-in: specialize as `std::true_type` for a type whose Boost
/// serialization `durable_value` cannot see (e.g. a `serialize` found
/// only inside `boost::serialization`).
template <class T>
struct is_durable : std::false_type {};

namespace detail {

template <class T>
struct durable_impl;

/// A `serialize(Archive&, T&, unsigned)` found by argument-dependent lookup
/// in T's own namespace (not Boost's catch-all template).
template <class T>
concept has_adl_serialize
  = requires(troupe::serialization::oarchive& ar, T& x) {
  serialize(ar, x, 0u);
};

template <class T>
concept has_member_serialize
  = requires(troupe::serialization::oarchive& ar, T& x) {
  x.serialize(ar, 0u);
};

template <class T>
inline constexpr bool durable_v = durable_impl<std::remove_cv_t<T>>::value;

template <class T>
struct durable_impl
  : std::bool_constant<
      std::is_arithmetic_v<T> || std::is_enum_v<T> || is_durable<T>::value
      || has_member_serialize<T> || has_adl_serialize<T>> {};

template <class C, class Tr, class A>
struct durable_impl<std::basic_string<C, Tr, A>> : std::true_type {};

template <class T, class A>
struct durable_impl<std::vector<T, A>> : durable_impl<T> {};

template <class T, class A>
struct durable_impl<std::deque<T, A>> : durable_impl<T> {};

template <class T, class A>
struct durable_impl<std::list<T, A>> : durable_impl<T> {};

template <class T, std::size_t N>
struct durable_impl<std::array<T, N>> : durable_impl<T> {};

template <class T>
struct durable_impl<std::optional<T>> : durable_impl<T> {};

template <class A, class B>
struct durable_impl<std::pair<A, B>>
  : std::bool_constant<durable_v<A> && durable_v<B>> {};

template <class... Ts>
struct durable_impl<std::variant<Ts...>>
  : std::bool_constant<(durable_v<Ts> && ...)> {};

template <class K, class V, class C, class A>
struct durable_impl<std::map<K, V, C, A>>
  : std::bool_constant<durable_v<K> && durable_v<V>> {};

template <class K, class V, class H, class E, class A>
struct durable_impl<std::unordered_map<K, V, H, E, A>>
  : std::bool_constant<durable_v<K> && durable_v<V>> {};

template <class K, class C, class A>
struct durable_impl<std::set<K, C, A>> : durable_impl<K> {};

template <class K, class H, class E, class A>
struct durable_impl<std::unordered_set<K, H, E, A>> : durable_impl<K> {};

} // namespace detail

/// Whether values of `T` can live in a durable manager (one with a state
/// path): arithmetic types, enums, strings, the standard containers,
/// `std::pair`, `std::optional` and `std::variant` of such types, and
/// classes with a Boost.Serialization `serialize` (member, or free in the
/// class's namespace), or types marked with `is_durable`. Use it to
/// check at compile time what a durable manager checks when an object is
/// created: `static_assert(troupe::managed::durable_value<account>);`.
template <class T>
concept durable_value = detail::durable_v<T>;

namespace detail {

/// A readable name of `T`, used as the type tag of durable state
/// (`std::map<int, double>` rather than a mangled name).
template <class T>
std::string type_name() {
  return boost::core::demangle(typeid(T).name());
}

} // namespace detail

} // namespace troupe::managed
