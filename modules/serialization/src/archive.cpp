#include "troupe/serialization/archive.hpp"

#include <cstring>
#include <string>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/basic_archive.hpp>

// Boost's implementation templates, instantiated here for troupe's archive
// (Boost's documented way to derive an archive).
#include <boost/archive/impl/archive_serializer_map.ipp>
#include <boost/archive/impl/basic_binary_iarchive.ipp>
#include <boost/archive/impl/basic_binary_iprimitive.ipp>

#include "troupe/serialization/error.hpp"

namespace boost::archive {

template class detail::archive_serializer_map<troupe::serialization::iarchive>;
template class basic_binary_iprimitive<troupe::serialization::iarchive, char,
                                       std::char_traits<char>>;
template class basic_binary_iarchive<troupe::serialization::iarchive>;
template class binary_iarchive_impl<troupe::serialization::iarchive, char,
                                    std::char_traits<char>>;

} // namespace boost::archive

namespace troupe::serialization {

namespace {

[[noreturn]] void too_long(const char* what, std::size_t claimed,
                           const char* unit, std::size_t left) {
  throw format_error{std::string{what} + " of " + std::to_string(claimed) + " "
                     + unit + " claimed with only " + std::to_string(left)
                     + " bytes left"};
}

} // namespace

iarchive::iarchive(std::streambuf& sb, unsigned int flags) : impl(sb, flags) {
  if ((flags & boost::archive::no_header) == 0) {
    if (remaining() == 0)
      throw format_error{"the input is empty"};
    // Boost reads the library version byte after the signature without
    // checking for the end of input (and asserts on it in debug builds):
    // make sure that a complete signature is followed by that byte.
    auto signature_size
      = sizeof(std::size_t) // its length, then the chars
        + std::strlen(boost::archive::BOOST_ARCHIVE_SIGNATURE());
    if (remaining() <= signature_size)
      throw boost::archive::archive_exception{
        boost::archive::archive_exception::invalid_signature};
  }
  try {
    init(flags);
  } catch (const format_error&) {
    // A header whose signature string claims more bytes than there are.
    throw boost::archive::archive_exception{
      boost::archive::archive_exception::invalid_signature};
  } catch (const boost::archive::archive_exception& e) {
    if (e.code == boost::archive::archive_exception::input_stream_error)
      throw boost::archive::archive_exception{
        boost::archive::archive_exception::invalid_signature};
    throw;
  }
}

std::size_t iarchive::remaining() {
  auto n = this->m_sb.in_avail();
  return n > 0 ? static_cast<std::size_t>(n) : 0;
}

void iarchive::load(bool& x) {
  unsigned char byte = 0;
  load_binary(&byte, 1);
  if (byte > 1)
    throw format_error{"a bool holds " + std::to_string(byte)
                       + " (only 0 and 1 are valid)"};
  x = byte == 1;
}

void iarchive::load(std::string& x) {
  std::size_t n = 0;
  primitive::load(n);
  if (n > remaining())
    too_long("a string", n, "bytes", remaining());
  x.resize(n);
  if (n > 0)
    load_binary(x.data(), n);
}

void iarchive::load(std::wstring& x) {
  std::size_t n = 0;
  primitive::load(n);
  if (n > remaining() / sizeof(wchar_t))
    too_long("a wide string", n, "characters", remaining());
  x.resize(n);
  if (n > 0)
    load_binary(x.data(), n * sizeof(wchar_t));
}

void iarchive::load(char*) {
  // Boost writes a C string without its buffer's size; reading one would
  // trust the archive not to overrun the caller's buffer.
  throw format_error{"C strings (char*) are not read; use std::string"};
}

void iarchive::load(wchar_t*) {
  throw format_error{"C strings (wchar_t*) are not read; use std::wstring"};
}

void iarchive::load_override(boost::serialization::collection_size_type& x) {
  impl::load_override(x);
  std::size_t n = x;
  if (n > remaining())
    too_long("a collection", n, "elements", remaining());
}

} // namespace troupe::serialization
