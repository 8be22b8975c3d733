#include "troupe/serialization/serialize.hpp"

#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include <boost/core/demangle.hpp>

namespace troupe::serialization::detail {

namespace {

/// The type's name as people write it (std::string, not its expansion).
std::string type_name(const std::type_info& type) {
  auto name = boost::core::demangle(type.name());
  const std::string long_string
    = "std::__cxx11::basic_string<char, std::char_traits<char>, "
      "std::allocator<char> >";
  for (auto at = name.find(long_string); at != std::string::npos;
       at = name.find(long_string, at))
    name.replace(at, long_string.size(), "std::string");
  return name;
}

std::string prefix(const std::type_info& type, std::size_t size) {
  return "cannot read a " + type_name(type) + " from " + std::to_string(size)
         + " bytes: ";
}

std::string describe(const boost::archive::archive_exception& e) {
  using ae = boost::archive::archive_exception;
  switch (e.code) {
    case ae::invalid_signature:
      return "not a Boost.Serialization binary archive (bad or incomplete "
             "header)";
    case ae::unsupported_version:
      return "the archive was written by a newer Boost.Serialization than "
             "this program reads";
    case ae::incompatible_native_format:
      return std::string{"the archive was written on an incompatible "
                         "platform ("}
             + e.what() + ")";
    case ae::input_stream_error:
      return "the bytes end before the value does (truncated, or they hold "
             "a different type)";
    case ae::unsupported_class_version:
      return "the archive holds a newer version of a class than this "
             "program reads";
    default:
      return std::string{"invalid archive ("} + e.what() + ")";
  }
}

} // namespace

void rethrow_as_format_error(const std::type_info& type, std::size_t size) {
  try {
    throw;
  } catch (const format_error& e) {
    throw format_error{prefix(type, size) + e.what()};
  } catch (const troupe::error&) {
    throw;
  } catch (const boost::archive::archive_exception& e) {
    throw format_error{prefix(type, size) + describe(e)};
  } catch (const std::bad_alloc&) {
    throw format_error{prefix(type, size)
                       + "a size in the archive is too large to allocate"};
  } catch (const std::length_error&) {
    throw format_error{prefix(type, size)
                       + "a size in the archive is too large"};
  } catch (const std::exception& e) {
    throw format_error{prefix(type, size) + e.what()};
  } catch (...) {
    throw format_error{prefix(type, size) + "unknown exception"};
  }
}

void throw_trailing_bytes(const std::type_info& type, std::size_t size,
                          std::size_t unread) {
  throw format_error{prefix(type, size) + std::to_string(unread)
                     + " bytes left over after the value (they hold a "
                       "different type, or more than one value)"};
}

void rethrow_write_error(const std::type_info& type) {
  try {
    throw;
  } catch (const boost::archive::archive_exception& e) {
    throw format_error{"cannot write a " + type_name(type) + ": " + e.what()};
  }
}

} // namespace troupe::serialization::detail
