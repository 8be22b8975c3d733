// Twin of seed 004, section 2's producer-consumer program: a producer puts
// the even numbers of a list into a queue of capacity 5 and stops when it
// is full; a consumer, started after the producer ended, takes them until
// the queue is empty.

#include <vector>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

void producer(std::vector<int> numbers, troupe::queue<int> q) {
  for (int x : numbers) {
    if (x % 2 == 0) {
      if (q.full()) {
        print("queue is full");
        break;
      }
      q.put(x);
      print("put", x, "in queue by producer");
    }
  }
}

void consumer(troupe::queue<int> q) {
  while (!q.empty())
    print("take data", q.get(), "from queue by consumer");
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  // A queue of at most 5 items.
  troupe::queue<int> qu{rt, {.capacity = 5}};
  // The seed draws ten random numbers; fixed ones keep the output checkable.
  std::vector<int> numbers{12, 7, 44, 90, 3, 18, 66, 51, 2, 80};
  troupe::process p5{rt, {.name = "producer-1"}, producer, numbers, qu};
  p5.start();
  p5.join();
  troupe::process p6{rt, {.name = "consumer-1"}, consumer, qu};
  p6.start();
  p6.join();
  print(qu.qsize());
}
