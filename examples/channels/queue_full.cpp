// Twin of seed 001's queue example ("通信 / 队列"): process A puts five
// numbers unless the queue is full; process B, started after A ended, gets
// until the queue is empty. Run with Queue(2), then Queue(10).

#include <cstddef>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

void func1(troupe::queue<int> q) {
  for (int i = 0; i < 5; ++i) {
    if (!q.full()) {
      print("Put", i, "to queue...");
      q.put(i);
    } else {
      print(troupe::current_process().name(), "is Full",
            troupe::current_process());
    }
  }
}

void func2(troupe::queue<int> q) {
  while (!q.empty())
    print("Get", q.get(), "from queue.");
}

void run(troupe::runtime& rt, std::size_t capacity) {
  print("-- Queue(" + std::to_string(capacity) + ")");
  troupe::queue<int> q{rt, {.capacity = capacity}};
  troupe::process a{rt, {.name = "A", .daemon = true}, func1, q};
  troupe::process b{rt, {.name = "B", .daemon = true}, func2, q};
  a.start();
  a.join();
  b.start();
  b.join();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  run(rt, 2);
  run(rt, 10);
}
