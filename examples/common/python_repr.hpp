#pragma once

// How the seeds' Python programs print things, shared by the examples that
// twin them: a list as `[0, 1, 2]`, a float as its shortest round-trip
// text, and `datetime.datetime.now()`.

#include <charconv>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

namespace troupe_examples {

/// Python's `print(some_list)`: `[0, 1, 2]` (elements as `<<` prints them).
template <class T>
std::string repr(const std::vector<T>& xs) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < xs.size(); ++i)
    out << (i == 0 ? "" : ", ") << xs[i];
  out << ']';
  return out.str();
}

/// Python's repr of a float: the shortest text that reads back the same.
inline std::string repr(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, end);
}

/// Python's `datetime.datetime.now()`, e.g. `2022-01-01 11:15:03.043149`.
inline std::string datetime_now() {
  using namespace std::chrono;
  auto t = system_clock::now();
  auto secs = system_clock::to_time_t(t);
  auto micros = duration_cast<microseconds>(t.time_since_epoch()) % seconds{1};
  std::tm local{};
  localtime_r(&secs, &local);
  std::ostringstream out;
  out << std::put_time(&local, "%Y-%m-%d %H:%M:%S") << '.' << std::setfill('0')
      << std::setw(6) << micros.count();
  return out.str();
}

} // namespace troupe_examples
