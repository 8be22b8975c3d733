#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>

#include <boost/archive/archive_exception.hpp>

#include <troupe/serialization/archive.hpp>
#include <troupe/serialization/detail/streambuf.hpp>
#include <troupe/serialization/error.hpp>

namespace troupe::serialization {

namespace detail {

/// Rethrows the exception being handled as a `format_error` whose message
/// names `type` (a `typeid` name), the input size and what was wrong.
/// Call only from a catch block.
[[noreturn]] void rethrow_as_format_error(const std::type_info& type,
                                          std::size_t size);

/// Throws the `format_error` for `unread` bytes left after a value.
[[noreturn]] void throw_trailing_bytes(const std::type_info& type,
                                       std::size_t size, std::size_t unread);

/// Rethrows the exception being handled, a failure to write a `type`, as a
/// `format_error` if Boost refused the value (archive_exception); anything
/// else (what the type's `serialize` threw, `std::bad_alloc`) unchanged.
[[noreturn]] void rethrow_write_error(const std::type_info& type);

} // namespace detail

/// Serializes `value` into a Boost.Serialization binary archive (header
/// included) and returns its bytes. `T` needs Boost serialization support:
/// a `serialize` member or free function, or a header such as
/// `troupe/serialization/std.hpp` for standard types.
///
/// Does not block. Throws `format_error` if Boost refuses the value (e.g. a
/// pointer graph it cannot write); whatever `T`'s `serialize` throws passes
/// through.
template <class T>
[[nodiscard]] std::string to_bytes(const T& value) {
  std::string out;
  try {
    detail::string_outbuf buf{out};
    oarchive ar{buf};
    ar << value;
  } catch (const boost::archive::archive_exception&) {
    detail::rethrow_write_error(typeid(T));
  }
  return out;
}

/// Reads a `T` from bytes `to_bytes<T>` produced. `T` must be default
/// constructible.
///
/// Does not block. Bad bytes — empty, garbage, truncated, trailing bytes
/// after the value, an archive of another type or from an incompatible
/// platform, sizes larger than the input — throw `format_error` whose
/// message names the type and the problem; they never crash or read out of
/// bounds, and allocations stay proportional to the input size. An
/// exception `T`'s own `serialize` throws while reading becomes a
/// `format_error` too (with its message), except a `troupe::error`, which
/// passes through.
template <class T>
[[nodiscard]] T from_bytes(std::string_view bytes) {
  static_assert(std::is_default_constructible_v<T>,
                "from_bytes<T> needs a default-constructible T");
  detail::view_inbuf buf{bytes};
  T value{};
  std::size_t unread = 0;
  try {
    iarchive ar{buf};
    ar >> value;
    unread = ar.remaining();
  } catch (...) {
    detail::rethrow_as_format_error(typeid(T), bytes.size());
  }
  if (unread != 0)
    detail::throw_trailing_bytes(typeid(T), bytes.size(), unread);
  return value;
}

} // namespace troupe::serialization
