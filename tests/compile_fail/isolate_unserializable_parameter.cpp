// An entry point whose parameter cannot be serialized must not register.
// Built twice (see CMakeLists.txt).

#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

namespace app {

struct opaque {
  int handle = 0; // no serialize(): cannot cross to another OS process
};

struct image {
  int width = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& width;
  }
};

void show(image) {}
void use(opaque) {}

} // namespace app

TROUPE_ENTRY(app::show);
#ifdef TROUPE_EXPECT_COMPILE_ERROR
TROUPE_ENTRY(app::use);
#endif

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::os_process p{rt, troupe::entry<app::show>, app::image{640}};
  return p.pid() == 0 ? 0 : 1;
}
