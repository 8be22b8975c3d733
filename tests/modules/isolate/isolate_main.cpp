// The test binary's main: as in any program using os_process, a child
// started from it runs its entry point from the runtime's constructor, so
// the runtime comes first here, before GoogleTest reads the command line.

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

int main(int argc, char** argv) {
  if (troupe::is_os_process_child()) {
    troupe::runtime rt{argc, argv}; // runs the entry point; never returns
  }
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
