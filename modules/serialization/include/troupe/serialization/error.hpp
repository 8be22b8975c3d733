#pragma once

#include <string>
#include <utility>

#include <troupe/error.hpp>

namespace troupe::serialization {

/// Bytes that do not hold a value of the requested type: not a
/// Boost.Serialization binary archive, an archive from an incompatible
/// platform or a newer Boost, truncated or trailing bytes, sizes larger than
/// the bytes could hold, or a value the type's own `serialize` rejects. The
/// message names the type, the number of bytes and what is wrong.
class format_error : public troupe::error {
public:
  using error::error;
};

/// A durable store's file on disk cannot be used: it is empty, truncated,
/// not a troupe file at all (bad magic), of an unsupported format version,
/// fails its checksum, does not belong with its companion file, or cannot be
/// read or written. The message names the file and what is wrong; `file()`
/// is the file's path.
class state_file_error : public troupe::error {
public:
  state_file_error(std::string file, const std::string& what)
    : error(what), file_(std::move(file)) {
    // nop
  }

  /// The file the error is about.
  [[nodiscard]] const std::string& file() const noexcept {
    return file_;
  }

private:
  std::string file_;
};

} // namespace troupe::serialization

namespace troupe {

// Every troupe exception is reachable as `troupe::name`, whichever module
// throws it: `catch (const troupe::format_error&)` needs no module
// namespace.
using serialization::format_error;
using serialization::state_file_error;

} // namespace troupe
