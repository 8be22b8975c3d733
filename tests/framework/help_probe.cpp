// Builds a runtime from the command line; used by ctest to check `--help`
// and the error for a malformed option.
#include <iostream>

#include <troupe/troupe.hpp>

int main(int argc, char** argv) {
  try {
    troupe::runtime rt{argc, argv};
  } catch (const troupe::error& e) {
    std::cout << e.what() << '\n';
    return 1;
  }
}
