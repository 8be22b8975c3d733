// Builds a runtime from the command line; used by ctest to check `--help`
// and the error for a malformed option.
#include <troupe/troupe.hpp>

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
}
