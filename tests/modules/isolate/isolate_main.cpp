// The test binary's main: as in any program using os_process, a child
// started from it runs its entry point from the runtime's constructor, so
// the runtime comes first here, before GoogleTest reads the command line.
//
// The forkserver's zygote is made here, by a first runtime constructed
// while the program is single-threaded; the tests then choose the start
// method per test (spawn stays the default).
//
// `--orphan-parent=<dir>` makes the binary the parent that
// lifecycle_test.cpp's orphan test SIGKILLs: it starts an os_process (which
// starts a grandchild) and waits to be killed; with `--forkserver` as the
// second argument the os_process is forked by a zygote.

#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

#include "isolate_entries.hpp"

int main(int argc, char** argv) {
  if (troupe::is_os_process_child()) {
    troupe::runtime rt{argc, argv}; // runs the entry point; never returns
  }
  constexpr std::string_view orphan_flag = "--orphan-parent=";
  if (argc > 1 && std::string_view{argv[1]}.starts_with(orphan_flag)) {
    if (argc > 2 && std::string_view{argv[2]} == "--forkserver")
      troupe::set_start_method(troupe::start_method::forkserver);
    troupe::runtime rt{argc, argv};
    auto dir = std::string{argv[1]}.substr(orphan_flag.size());
    troupe::os_process p{rt, troupe::entry<isolate_test::spawns_grandchild>,
                         dir};
    p.start();
    for (;;)
      std::this_thread::sleep_for(std::chrono::seconds{1});
  }
  troupe::set_start_method(troupe::start_method::forkserver);
  { troupe::runtime zygote_maker{argc, argv}; }
  troupe::set_start_method(troupe::start_method::spawn);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
