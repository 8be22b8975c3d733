#pragma once

#include <streambuf>
#include <string>
#include <string_view>

namespace troupe::serialization::detail {

/// Reads a `string_view` in place (no copy); `in_avail()` is exactly the
/// bytes not read yet.
class view_inbuf : public std::streambuf {
public:
  explicit view_inbuf(std::string_view bytes) {
    // std::streambuf's get area is char*, but it is only read.
    auto* first = const_cast<char*>(bytes.data());
    setg(first, first, first + bytes.size());
  }
};

/// Appends what is written to a `std::string`.
class string_outbuf : public std::streambuf {
public:
  explicit string_outbuf(std::string& out) : out_(out) {
    // nop
  }

protected:
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    out_.append(s, static_cast<std::size_t>(n));
    return n;
  }

  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof()))
      out_.push_back(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

private:
  std::string& out_;
};

} // namespace troupe::serialization::detail
