// Arguments that do not convert to the entry point's parameters must not
// compile. Built twice (see CMakeLists.txt).

#include <string>

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

namespace app {
void resize(std::string, int) {}
} // namespace app

TROUPE_ENTRY(app::resize);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::os_process p{rt, troupe::entry<app::resize>, "a.png", 640};
#ifdef TROUPE_EXPECT_COMPILE_ERROR
  troupe::os_process q{rt, troupe::entry<app::resize>, 640, "a.png"};
#endif
  return p.pid() == 0 ? 0 : 1;
}
