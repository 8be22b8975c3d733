// Twin of seed 003, section 9.7's queue program: five processes write one
// item each into a queue of capacity 3 and five processes read one each.
// Writers block while the queue is full; readers block while it is empty.

#include <chrono>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

void put_data(troupe::queue<std::string> queue) {
  // Python's str(os.getpid()) + ' ' + str(time.time()).
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto data
    = std::to_string(troupe::current_process().pid()) + " "
      + std::to_string(
        std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  print("pushed:", data);
  queue.put(data);
}

void get_data(troupe::queue<std::string> queue) {
  print("read:", queue.get());
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<std::string> q{rt, {.capacity = 3}};
  std::vector<troupe::process> writers;
  for (int i = 0; i < 5; ++i) {
    writers.emplace_back(rt, put_data, q);
    writers.back().start();
  }
  std::vector<troupe::process> readers;
  for (int i = 0; i < 5; ++i) {
    readers.emplace_back(rt, get_data, q);
    readers.back().start();
  }
  for (auto& p : writers)
    p.join();
  for (auto& p : readers)
    p.join();
  print("queue empty at the end:", q.empty());
}
