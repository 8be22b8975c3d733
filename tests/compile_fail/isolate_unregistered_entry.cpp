// Naming a function that was never registered with TROUPE_ENTRY as an
// os_process's target must not compile. Built twice (see CMakeLists.txt).

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

namespace app {
void registered(int) {}
void forgotten(int) {}
} // namespace app

TROUPE_ENTRY(app::registered);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::os_process p{rt, troupe::entry<app::registered>, 1};
#ifdef TROUPE_EXPECT_COMPILE_ERROR
  troupe::os_process q{rt, troupe::entry<app::forgotten>, 1}; // no TROUPE_ENTRY
#endif
  return p.pid() == 0 ? 0 : 1;
}
