#include "troupe/print.hpp"

#include <iostream>
#include <mutex>

namespace troupe::detail {

void write_line(const std::string& line) {
  static std::mutex mtx;
  std::lock_guard guard{mtx};
  std::cout << line << std::flush;
}

} // namespace troupe::detail
