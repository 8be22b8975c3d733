#include <iostream>

#include <troupe/troupe.hpp>

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::process p{rt, [](int x) { troupe::this_process::exit(x); }, 7};
  p.start();
  p.join();
  if (p.exitcode() != 7)
    return 1;
  std::cout << "consumer: ok\n";
}
