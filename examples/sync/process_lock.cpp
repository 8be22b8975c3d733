// Twin of seed 003, section 9.4 ("进程锁", the process lock): five processes
// take turns with a lock; each holds it for a while, then prints its label
// and pid.
//
// std::lock_guard replaces the bare acquire()/release() pair: the lock is
// released however the block is left. The seed holds the lock for a second;
// 100 ms keeps the example quick.

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;

void run(const std::string& label, troupe::lock lock) {
  std::lock_guard guard{lock};
  troupe::this_process::sleep_for(100ms);
  // Inside the lock, nobody else runs this part at the same time.
  troupe::print(label, troupe::current_process().pid());
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::print("main process:", troupe::current_process().pid());
  troupe::lock lock{rt};
  std::vector<troupe::process> record;
  for (int i = 0; i < 5; ++i) {
    record.emplace_back(rt, run, "child" + std::to_string(i), lock);
    record.back().start();
  }
  for (auto& p : record)
    p.join();
  troupe::print("all children done; lock held:", lock.locked());
}
