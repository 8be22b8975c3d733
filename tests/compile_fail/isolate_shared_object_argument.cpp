// A troupe queue (or any channel, lock or process handle) handed to an
// os_process must not compile: it lives in this OS process's memory.
// Built twice (see CMakeLists.txt).

#include <troupe/os_process.hpp>
#include <troupe/queue.hpp>
#include <troupe/runtime.hpp>

namespace app {
void consume(int) {}
} // namespace app

TROUPE_ENTRY(app::consume);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<int> q{rt};
  troupe::os_process p{rt, troupe::entry<app::consume>, 1};
#ifdef TROUPE_EXPECT_COMPILE_ERROR
  troupe::os_process r{rt, troupe::entry<app::consume>, q};
#endif
  q.put(1);
  return p.pid() == 0 ? 0 : 1;
}
