// forkserver without a zygote (set_start_method(forkserver) was never
// called before the first runtime): start() must say what to do, and the
// process must not be started. Exits 0 when it does.

#include <iostream>
#include <string>

#include <troupe/error.hpp>
#include <troupe/os_process.hpp>
#include <troupe/runtime.hpp>

namespace app {
void work() {}
} // namespace app

TROUPE_ENTRY(app::work);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::os_process p{rt,
                       {.start_method = troupe::start_method::forkserver},
                       troupe::entry<app::work>};
  try {
    p.start();
  } catch (const troupe::state_error& e) {
    std::string text = e.what();
    std::cout << text << '\n';
    bool says_what_to_do = text.find("set_start_method") != std::string::npos;
    return says_what_to_do && !p.exitcode() ? 0 : 1;
  }
  std::cout << "start() succeeded without a forkserver\n";
  return 1;
}
