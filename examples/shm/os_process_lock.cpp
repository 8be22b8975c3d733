// Twin of seed 003, section 9.4 ("进程锁", the process lock), with OS
// processes as in Python: five processes take turns with a lock handed to
// them at their start; each holds it for a while, then prints its label.
// Then what Python cannot do: a holder SIGKILLed inside its critical
// section does not leave the lock held — the next holder gets it, told
// that its previous owner died.
//
// <troupe/cross_process.hpp> (troupe::shm) lets a lock cross into an
// os_process. The seed holds the lock for a second; 100 ms keeps the
// example quick.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <troupe/cross_process.hpp>
#include <troupe/os_process.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

namespace shm_example {

using namespace std::chrono_literals;

void run(std::string label, troupe::lock lock) {
  std::lock_guard guard{lock};
  std::this_thread::sleep_for(100ms);
  // Inside the lock, no other OS process runs this part at the same time.
  troupe::print(label, "has the lock");
}

/// Takes the lock, says so (in the block's first byte too), and never
/// lets go (until it is killed).
void hog(troupe::lock lock, troupe::shared_memory said) {
  lock.acquire();
  troupe::print("hog holds the lock");
  std::atomic_ref<std::byte>{said.bytes()[0]}.store(std::byte{1});
  for (;;)
    std::this_thread::sleep_for(1h);
}

} // namespace shm_example

TROUPE_ENTRY(shm_example::run);
TROUPE_ENTRY(shm_example::hog);

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  troupe::runtime rt{argc, argv}; // first: a child runs its entry point here
  troupe::lock lock{rt, {.name = "print"}};
  std::vector<troupe::os_process> record;
  for (int i = 0; i < 5; ++i) {
    record.emplace_back(rt, troupe::entry<shm_example::run>,
                        "child" + std::to_string(i), lock);
    record.back().start();
  }
  for (auto& p : record)
    p.join();
  troupe::print("all children done; lock held:", lock.locked());

  troupe::shared_memory said{1};
  troupe::os_process hog{rt, troupe::entry<shm_example::hog>, lock, said};
  hog.start();
  while (std::atomic_ref<std::byte>{said.bytes()[0]}.load() != std::byte{1})
    std::this_thread::sleep_for(1ms);
  hog.kill();                  // SIGKILL, inside its critical section
  std::lock_guard guard{lock}; // taken over within 10 ms
  hog.join();
  troupe::print("hog exit code:", hog.exitcode().value_or(0),
                "previous owner died:", lock.previous_owner_died());
}
