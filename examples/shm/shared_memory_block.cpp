// Twin of seed 004, section 5(2) ("共享内存 Shared_memory"): a block of
// shared memory written through one handle and read through another that
// attached to it by name, then handed to a child OS process.
//
// Python's SharedMemory(create=True, size=10) is troupe::shared_memory{10}:
// a sealed memfd, freed by the kernel with its last holder. There is no
// unlink(): nothing can leak when a holder is killed. Attaching by name is
// opt-in (publish()), and served only to programs of the same user.

#include <cctype>
#include <cstring>
#include <string>
#include <vector>

#include <troupe/os_process.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace shm_example {

/// In a child OS process: shouts the first five bytes.
void shout(troupe::shared_memory block) {
  for (auto& b : block.bytes().first(5))
    b = static_cast<std::byte>(std::toupper(static_cast<int>(b)));
}

} // namespace shm_example

TROUPE_ENTRY(shm_example::shout);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv}; // first: a child runs its entry point here

  troupe::shared_memory shm_a{10};
  auto buffer = shm_a.bytes();
  troupe::print(buffer.size());
  for (int i = 0; i < 4; ++i) // buffer[:4] = bytearray([22, 33, 44, 55])
    buffer[static_cast<std::size_t>(i)] = static_cast<std::byte>(22 + 11 * i);
  buffer[4] = std::byte{100};

  shm_a.publish(); // opt-in: attachable by name from here on
  auto shm_b = troupe::shared_memory::attach(shm_a.name());
  std::vector<int> array_b;
  for (auto b : shm_b.bytes().first(5))
    array_b.push_back(static_cast<int>(b));
  troupe::print("array('b', " + troupe_examples::repr(array_b) + ")");
  std::memcpy(shm_b.bytes().data(), "howdy", 5);
  std::string via_a(reinterpret_cast<const char*>(shm_a.bytes().data()), 5);
  troupe::print("b'" + via_a + "'");

  // troupe's addition: the same pages in another OS process, no copy.
  troupe::os_process child{rt, troupe::entry<shm_example::shout>, shm_a};
  child.start();
  child.join();
  std::string shouted(reinterpret_cast<const char*>(shm_a.bytes().data()), 5);
  troupe::print("b'" + shouted + "'");

  shm_b.close(); // close each handle (optional: destruction does it)
  shm_a.close(); // no unlink(): the block went with its last holder
}
