#pragma once

#include <cstddef>
#include <streambuf>
#include <string>

#include <boost/archive/binary_iarchive_impl.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/archive/detail/register_archive.hpp>
#include <boost/serialization/collection_size_type.hpp>

namespace troupe::serialization {

/// The archive `to_bytes` writes: Boost's native binary output archive,
/// with its header (signature, library version, sizes of int/long/float/
/// double, byte order).
using oarchive = boost::archive::binary_oarchive;

/// The archive `from_bytes` reads: Boost's binary input archive, reading
/// exactly what `oarchive` writes, hardened against bad bytes. Every length
/// and element count is checked against the bytes that remain before
/// anything is allocated, and a `bool` that is neither 0 nor 1 is rejected
/// (Boost's own archive asserts, or reads an invalid `bool`). Violations
/// throw `format_error`.
///
/// Limits: a collection cannot claim more elements than bytes remain, so a
/// collection of more than that many elements that serialize to zero bytes
/// (empty classes) is rejected; C strings (`char*`) are not read. Archives
/// holding pointers get Boost's own checks only.
///
/// Like Boost's archives, one archive is used by one thread at a time.
///
/// Include this header before `boost/serialization/export.hpp` when
/// exporting polymorphic classes, so that they register with it.
class iarchive
  : public boost::archive::binary_iarchive_impl<iarchive, char,
                                                std::char_traits<char>> {
public:
  using impl = boost::archive::binary_iarchive_impl<iarchive, char,
                                                    std::char_traits<char>>;
  using primitive
    = boost::archive::basic_binary_iprimitive<iarchive, char,
                                              std::char_traits<char>>;

  /// Reads the archive in `sb`, which must hold the whole archive (its
  /// `in_avail()` is the bytes that remain). Reads the header unless
  /// `flags` has `boost::archive::no_header`; throws
  /// `boost::archive::archive_exception` or `format_error` if it is bad.
  explicit iarchive(std::streambuf& sb, unsigned int flags = 0);

  /// Bytes not read yet.
  [[nodiscard]] std::size_t remaining();

  // -- Boost's extension points (public: called by Boost's internals) ------

  using primitive::load;

  void load(bool& x);
  void load(std::string& x);
  void load(std::wstring& x);
  [[noreturn]] void load(char* x);
  [[noreturn]] void load(wchar_t* x);

  template <class T>
  void load_override(T& x) {
    impl::load_override(x);
  }

  void load_override(boost::serialization::collection_size_type& x);
};

} // namespace troupe::serialization

BOOST_SERIALIZATION_REGISTER_ARCHIVE(troupe::serialization::iarchive)
BOOST_SERIALIZATION_USE_ARRAY_OPTIMIZATION(troupe::serialization::iarchive)
