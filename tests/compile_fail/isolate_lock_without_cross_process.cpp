// A lock handed to an os_process compiles only with <troupe/cross_process.hpp>
// (troupe::shm), which teaches it to cross; without it, the message names
// that header. Built twice (see CMakeLists.txt).

#include <troupe/lock.hpp>
#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

namespace app {
void count(int) {}
#ifdef TROUPE_EXPECT_COMPILE_ERROR
void count_locked(troupe::lock l) {
  l.acquire();
  l.release();
}
#endif
} // namespace app

TROUPE_ENTRY(app::count);
#ifdef TROUPE_EXPECT_COMPILE_ERROR
TROUPE_ENTRY(app::count_locked);
#endif

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::lock l{rt};
  troupe::os_process p{rt, troupe::entry<app::count>, 1};
  return l.locked() || p.pid() != 0 ? 1 : 0;
}
