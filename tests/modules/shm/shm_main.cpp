// The test binary's main: a child started from it runs its entry point
// from the runtime's constructor, so the runtime comes first, before
// GoogleTest reads the command line. A first runtime made while the
// program is single-threaded leaves a forkserver zygote for the tests
// that use that start method; spawn stays the default.

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

int main(int argc, char** argv) {
  if (troupe::is_os_process_child()) {
    troupe::runtime rt{argc, argv}; // runs the entry point; never returns
  }
  troupe::set_start_method(troupe::start_method::forkserver);
  { troupe::runtime zygote_maker{argc, argv}; }
  troupe::set_start_method(troupe::start_method::spawn);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
