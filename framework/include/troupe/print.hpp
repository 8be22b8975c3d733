#pragma once

#include <sstream>
#include <string>

namespace troupe {

namespace detail {

/// Writes `line` to standard output with one call under a lock, and
/// flushes.
void write_line(const std::string& line);

} // namespace detail

/// Python's `print(x, y, ...)`: the arguments separated by spaces, then a
/// newline, written to standard output as one line that never interleaves
/// with lines other processes print, and flushed at once. Booleans print
/// as `true`/`false`. Blocks only for the write.
template <class T, class... Ts>
void print(const T& x, const Ts&... xs) {
  std::ostringstream line;
  line << std::boolalpha << x;
  ((line << ' ' << xs), ...);
  line << '\n';
  detail::write_line(line.str());
}

} // namespace troupe
