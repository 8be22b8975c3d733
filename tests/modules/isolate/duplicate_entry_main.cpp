// Two different functions registered under one entry-point name: the first
// runtime the program constructs must refuse to start, naming both places.
// Exits 0 when it does.

#include <iostream>
#include <string>

#include <troupe/error.hpp>
#include <troupe/isolate/entry.hpp>
#include <troupe/runtime.hpp>

namespace first {
void resize(int) {}
} // namespace first

namespace second {
void resize(int) {}
} // namespace second

TROUPE_ENTRY_AS(first::resize, "resize");  // line 20
TROUPE_ENTRY_AS(second::resize, "resize"); // line 21

int main() {
  try {
    troupe::runtime rt;
  } catch (const troupe::value_error& e) {
    std::string text = e.what();
    bool names_both
      = text.find("'resize'") != std::string::npos
        && text.find("duplicate_entry_main.cpp:20") != std::string::npos
        && text.find("duplicate_entry_main.cpp:21") != std::string::npos;
    std::cout << text << '\n';
    return names_both ? 0 : 1;
  }
  std::cout << "the runtime started with a duplicate entry-point name\n";
  return 1;
}
