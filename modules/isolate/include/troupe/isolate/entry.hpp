#pragma once

/// Entry points: the functions an `os_process` can run. C++ cannot send a
/// closure to another OS process, so, as Python pickles a function by its
/// qualified name, troupe names it: register the function once with
/// `TROUPE_ENTRY`, then name it at the call site with `troupe::entry<f>`.
///
///     void resize(std::string path, int width);
///     TROUPE_ENTRY(resize);                  // global namespace scope
///     ...
///     troupe::os_process p{rt, troupe::entry<resize>, "a.png", 640};

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <troupe/array.hpp>
#include <troupe/barrier.hpp>
#include <troupe/condition.hpp>
#include <troupe/event.hpp>
#include <troupe/isolate/error.hpp>
#include <troupe/joinable_queue.hpp>
#include <troupe/lock.hpp>
#include <troupe/pipe.hpp>
#include <troupe/process.hpp>
#include <troupe/queue.hpp>
#include <troupe/rlock.hpp>
#include <troupe/runtime.hpp>
#include <troupe/semaphore.hpp>
#include <troupe/serialization/serializable.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>
#include <troupe/simple_queue.hpp>
#include <troupe/value.hpp>

namespace troupe::isolate {

/// The call of one entry point: its arguments, each as
/// `troupe::serialization` bytes, in; its result's bytes (empty for
/// `void`) out.
using entry_invoker = std::string (*)(const std::vector<std::string>& args);

/// A batch of calls of one entry point (a pool's chunk): the calls'
/// arguments as one archive of `std::vector<std::tuple<params...>>` in, the
/// results as one archive of `std::vector<result>` (for `void`: the number
/// of calls) out.
using batch_invoker = std::string (*)(std::string_view calls);

/// Whether `T` is an object shared between processes (a channel, a lock, a
/// process handle, ...): those cannot cross into another OS process yet.
template <class T>
inline constexpr bool is_shared_object = false;

template <class T>
inline constexpr bool is_shared_object<queue<T>> = true;
template <class T>
inline constexpr bool is_shared_object<joinable_queue<T>> = true;
template <class T>
inline constexpr bool is_shared_object<simple_queue<T>> = true;
template <class A, class B>
inline constexpr bool is_shared_object<connection<A, B>> = true;
template <class T>
inline constexpr bool is_shared_object<value<T>> = true;
template <class T>
inline constexpr bool is_shared_object<array<T>> = true;
template <>
inline constexpr bool is_shared_object<event> = true;
template <>
inline constexpr bool is_shared_object<owned_lock> = true;
template <>
inline constexpr bool is_shared_object<rlock> = true;
template <>
inline constexpr bool is_shared_object<semaphore> = true;
template <>
inline constexpr bool is_shared_object<bounded_semaphore> = true;
template <>
inline constexpr bool is_shared_object<condition> = true;
template <>
inline constexpr bool is_shared_object<barrier> = true;
template <>
inline constexpr bool is_shared_object<process> = true;
template <>
inline constexpr bool is_shared_object<runtime> = true;

/// How a value of `T` crosses into an os_process as one of its start
/// arguments when it is not a plain value: a shared object whose module
/// knows how to share it with another OS process (troupe::shm does it for
/// `lock` and `rlock` in <troupe/cross_process.hpp>). A specialization has
/// `custom = true`, `static std::string save(const T&)` (may pass
/// descriptors, see descriptors.hpp) and `static T load(const std::string&)`
/// (runs in the child, inside its entry point's process).
template <class T>
struct argument_codec {
  static constexpr bool custom = false;
};

/// In an os_process child: its runtime (the one whose constructor runs the
/// entry point), e.g. for an `argument_codec<T>::load` that makes a
/// runtime's object. Throws `state_error` in any other process.
runtime& child_runtime();

namespace detail {

template <class Fn>
struct entry_signature {
  static constexpr bool is_function = false;
};

template <class R, class... Ps>
struct entry_signature<R (*)(Ps...)> {
  static constexpr bool is_function = true;
  using result_type = R;
  using params = std::tuple<std::remove_cvref_t<Ps>...>;
  static constexpr std::size_t arity = sizeof...(Ps);
};

template <class R, class... Ps>
struct entry_signature<R (*)(Ps...) noexcept> : entry_signature<R (*)(Ps...)> {
};

/// Checks that a value of type `T` can be a parameter or result of an
/// entry point; says what is wrong otherwise. Returns true so that it can
/// sit in a fold.
template <class T>
consteval bool check_not_shared() {
  static_assert(!is_shared_object<std::remove_cvref_t<T>>,
                "troupe: a channel, lock, event, value, process or other "
                "shared object cannot be handed to an os_process (it lives "
                "in this OS process's memory); pass values, or share it "
                "through a process on this side. A lock or rlock can cross "
                "as a start argument with <troupe/cross_process.hpp> "
                "(troupe::shm) included.");
  return true;
}

template <class T>
inline constexpr bool has_codec
  = argument_codec<std::remove_cvref_t<T>>::custom;

template <class T>
consteval bool check_crossing_type() {
  check_not_shared<T>();
  static_assert(std::is_void_v<T> || troupe::serialization::serializable<T>,
                "troupe: an os_process's arguments and results cross into "
                "another OS process as troupe::serialization bytes, and "
                "this type is not serializable: give it a serialize(Archive&, "
                "unsigned) member or a free serialize() in its namespace, or "
                "opt in with troupe::serialization::enable_serializable (see "
                "docs/serialization.md)");
  static_assert(std::is_void_v<T> || std::is_default_constructible_v<T>,
                "troupe: an entry point's parameter and result types must be "
                "default-constructible (they are read back into a "
                "default-constructed value)");
  return true;
}

/// A parameter may also be a shared object with an `argument_codec`.
template <class T>
consteval bool check_parameter_type() {
  if constexpr (has_codec<T>)
    return true;
  else
    return check_crossing_type<T>();
}

/// An os_process's start argument: a value, or a shared object with an
/// `argument_codec`.
template <class T>
consteval bool check_argument() {
  if constexpr (has_codec<T>)
    return true;
  else
    return check_not_shared<T>();
}

/// One start argument, decoded in the child.
template <class P>
P decode_argument(const std::string& bytes) {
  if constexpr (has_codec<P>)
    return argument_codec<P>::load(bytes);
  else
    return troupe::serialization::from_bytes<P>(bytes);
}

/// One start argument, encoded in the parent.
template <class P>
std::string encode_argument(const P& value) {
  if constexpr (has_codec<P>)
    return argument_codec<P>::save(value);
  else
    return troupe::serialization::to_bytes(value);
}

template <auto F, std::size_t... I>
std::string invoke_entry(const std::vector<std::string>& args,
                         std::index_sequence<I...>) {
  using sig = entry_signature<decltype(F)>;
  using params = typename sig::params;
  if (args.size() != sizeof...(I))
    throw troupe::value_error(
      "entry point called with " + std::to_string(args.size())
      + " arguments, expected " + std::to_string(sizeof...(I)));
  params values{decode_argument<std::tuple_element_t<I, params>>(args[I])...};
  if constexpr (std::is_void_v<typename sig::result_type>) {
    F(std::move(std::get<I>(values))...);
    return {};
  } else {
    return troupe::serialization::to_bytes(
      F(std::move(std::get<I>(values))...));
  }
}

template <auto F>
std::string invoke(const std::vector<std::string>& args) {
  return invoke_entry<F>(
    args, std::make_index_sequence<entry_signature<decltype(F)>::arity>{});
}

template <class... Ps>
inline constexpr bool any_codec(std::tuple<Ps...>*) {
  return (has_codec<Ps> || ...);
}

template <auto F>
std::string invoke_batch(std::string_view calls) {
  using sig = entry_signature<decltype(F)>;
  if constexpr (any_codec(static_cast<typename sig::params*>(nullptr))) {
    (void)calls;
    throw troupe::value_error(
      "this entry point takes a shared object (a lock, say), which crosses "
      "only as an os_process's start argument, not in a pool's task");
  } else {
    auto args
      = troupe::serialization::from_bytes<std::vector<typename sig::params>>(
        calls);
    if constexpr (std::is_void_v<typename sig::result_type>) {
      for (auto& a : args)
        std::apply(F, std::move(a));
      return troupe::serialization::to_bytes(std::uint64_t{args.size()});
    } else {
      std::vector<typename sig::result_type> out;
      out.reserve(args.size());
      for (auto& a : args)
        out.push_back(std::apply(F, std::move(a)));
      return troupe::serialization::to_bytes(out);
    }
  }
}

template <auto F, class... Ps>
consteval bool check_signature(std::tuple<Ps...>*) {
  return (check_parameter_type<Ps>() && ...)
         && check_crossing_type<
           typename entry_signature<decltype(F)>::result_type>();
}

/// Records an entry point (from TROUPE_ENTRY's static initializer).
/// Returns true; a second, different function under the same name is
/// reported when a runtime starts.
bool add_entry(std::string_view name, entry_invoker invoke,
               batch_invoker invoke_batch, const void* function,
               const char* file, int line);

} // namespace detail

/// Specialized by `TROUPE_ENTRY` for each registered function.
template <auto F>
struct entry_traits {
  static constexpr bool registered = false;
};

/// The value `troupe::entry<f>` names: a registered entry point `f`.
template <auto F>
struct entry_t {
  static_assert(detail::entry_signature<decltype(F)>::is_function,
                "troupe::entry<f>: f must be a function (not a lambda, "
                "functor or member function): only a named function can be "
                "found again in another OS process");
  static_assert(entry_traits<F>::registered,
                "troupe::entry<f>: f is not a registered entry point; add "
                "`TROUPE_ENTRY(f);` at global namespace scope (qualified, "
                "e.g. TROUPE_ENTRY(app::resize)) where this call can see it");

  using result_type =
    typename detail::entry_signature<decltype(F)>::result_type;

  /// The parameters, without references or cv-qualifiers.
  using params = typename detail::entry_signature<decltype(F)>::params;

  /// The name the child looks the function up by.
  static constexpr std::string_view name() {
    return entry_traits<F>::name;
  }

  /// Calls `f` here, in this OS process (a thread pool given an entry
  /// point runs it so).
  template <class... Args>
    requires(std::is_invocable_v<decltype(F), Args...>)
  decltype(auto) operator()(Args&&... args) const {
    return F(std::forward<Args>(args)...);
  }

  /// A batch of calls as the child's batch invoker reads them (see
  /// `batch_invoker`).
  static std::string encode_calls(const std::vector<params>& calls) {
    return troupe::serialization::to_bytes(calls);
  }

  /// The results of a batch of `expected` calls; `format_error` if the
  /// bytes are not that. For `void`: checks the count only.
  static auto decode_results(std::string_view bytes, std::size_t expected) {
    if constexpr (std::is_void_v<result_type>) {
      auto n = troupe::serialization::from_bytes<std::uint64_t>(bytes);
      check_count(n, expected);
    } else {
      auto out
        = troupe::serialization::from_bytes<std::vector<result_type>>(bytes);
      check_count(out.size(), expected);
      return out;
    }
  }

private:
  static void check_count(std::size_t got, std::size_t expected) {
    if (got != expected)
      throw troupe::serialization::format_error(
        "a batch of " + std::to_string(expected) + " calls of entry point '"
        + std::string{name()} + "' came back with " + std::to_string(got)
        + " results");
  }
};

/// The entry point registered under `name` called with `args` (each
/// argument's `troupe::serialization` bytes); its result's bytes. Throws
/// `value_error` for an unknown name; what the function throws passes
/// through.
std::string call_entry(std::string_view name,
                       const std::vector<std::string>& args);

/// A batch of calls (`entry_t<f>::encode_calls`) of the entry point
/// registered under `name`, run in order; the results' bytes. Throws
/// `value_error` for an unknown name; the first exception a call throws
/// passes through.
std::string call_batch(std::string_view name, std::string_view calls);

} // namespace troupe::isolate

namespace troupe {

/// Names a registered entry point at the call site: `troupe::entry<f>`.
template <auto F>
inline constexpr isolate::entry_t<F> entry{};

} // namespace troupe

/// Registers function `f` as an entry point under its spelled name (e.g.
/// "app::resize"). Use it once, at global namespace scope, where every call
/// site naming `troupe::entry<f>` sees it (next to `f`'s declaration when
/// several files start it). Checks at compile time that `f`'s parameters
/// and result can cross to another OS process.
#define TROUPE_ENTRY(f) TROUPE_ENTRY_AS(f, #f)

/// As `TROUPE_ENTRY(f)`, under the name `name` (a string literal): for two
/// functions that would otherwise share a name.
#define TROUPE_ENTRY_AS(f, entry_name)                                         \
  template <>                                                                  \
  struct troupe::isolate::entry_traits<&f> {                                   \
    static_assert(troupe::isolate::detail::check_signature<&f>(                \
      static_cast<typename troupe::isolate::detail::entry_signature<           \
        decltype(&f)>::params*>(nullptr)));                                    \
    static constexpr bool registered = true;                                   \
    static constexpr std::string_view name = entry_name;                       \
    static inline const bool added = troupe::isolate::detail::add_entry(       \
      entry_name, &troupe::isolate::detail::invoke<&f>,                        \
      &troupe::isolate::detail::invoke_batch<&f>,                              \
      reinterpret_cast<const void*>(&f), __FILE__, __LINE__);                  \
  }
