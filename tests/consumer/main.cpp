// Uses one compiled symbol from each installed library, so that a missing
// archive or a broken link interface in the exported package fails the link
// (or the run), not just the configure step.

#include <cstddef>
#include <iostream>
#include <string>

#include <troupe/manager.hpp>
#include <troupe/os_process.hpp>
#include <troupe/pool.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

namespace {

int square(int x) {
  return x * x;
}

} // namespace

namespace consumer {

/// Runs in a child OS process: marks the block it was handed.
void mark(troupe::shared_memory block) {
  block.bytes()[0] = std::byte{42};
}

} // namespace consumer

TROUPE_ENTRY(consumer::mark);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};

  // troupe::framework
  troupe::process p{rt, [](int x) { troupe::this_process::exit(x); }, 7};
  p.start();
  p.join();
  if (p.exitcode() != 7)
    return 1;

  // troupe::serialization (and, through it, Boost.Serialization)
  auto bytes = troupe::serialization::to_bytes(std::string{"troupe"});
  if (troupe::serialization::from_bytes<std::string>(bytes) != "troupe")
    return 2;

  // troupe::pool
  {
    troupe::pool pool{rt, {.processes = 1}};
    if (pool.apply(square, 6) != 36)
      return 3;
  }

  // troupe::manager (which links troupe::serialization itself)
  {
    troupe::manager m{rt};
    auto v = m.value<int>(41);
    if (v.update([](int x) { return x + 1; }) != 42)
      return 4;
  }

  // troupe::isolate and troupe::shm: a block handed to a child OS process
  {
    troupe::shared_memory block{64};
    troupe::os_process child{rt, troupe::entry<consumer::mark>, block};
    child.start();
    child.join();
    if (child.exitcode() != 0 || block.bytes()[0] != std::byte{42})
      return 5;
  }

  std::cout << "consumer: ok\n";
}
