// Twin of seed 004, section 3 ("子进程间协调机制 – Event"): joo_a waits
// for an event that joo_b sets after it has put its number, so joo_b's
// number is always first in the queue.

#include <chrono>

#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;
using troupe::print;

void joo_a(troupe::queue<int> q, troupe::event ev) {
  print("subprocess joo_a start");
  if (!ev.is_set())
    ev.wait();
  q.put(42); // the seed's random.randint(1, 100)
  print("subprocess joo_a ended");
}

void joo_b(troupe::queue<int> q, troupe::event ev) {
  print("subprocess joo_b start");
  ev.clear();
  troupe::this_process::sleep_for(200ms); // the seed sleeps 2 s
  q.put(250);                             // the seed's random.randint(200, 300)
  ev.set();
  print("subprocess joo_b ended");
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<int> qu{rt};
  troupe::event ev{rt};
  troupe::process sub_a{rt, joo_a, qu, ev};
  troupe::process sub_b{rt, joo_b, qu, ev};
  sub_a.start();
  sub_b.start();
  sub_a.join();
  sub_b.join();
  while (!qu.empty())
    print(qu.get());
}
