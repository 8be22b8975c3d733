// Twin of seed 001, first program ("创建子进程", create child processes): two
// processes, A and B, each print while their own time window lasts; the
// main process prints is_alive() and the repr of each before and after
// start(), then (an addition to the seed) joins them and prints both again.
//
// Time is scaled down 20x so that the example runs in about 1.5 s: A's
// window is 0.5 s with a line every 100 ms (seed: 10 s, every 2 s), B's is
// 1.5 s with a line every 250 ms (seed: 30 s, every 5 s). A prints 5 lines
// and B 6, as in the seed.

#include <chrono>
#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using troupe_examples::datetime_now;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

using troupe::print; // Python's print(): one whole line, flushed

// func1 and func2 of the seed in one: print while `window` lasts, counted
// from `start` (taken by the main process before starting anything).
void report_while(clock_type::time_point start, clock_type::duration window,
                  clock_type::duration period) {
  auto self = troupe::current_process();
  auto tick = start;
  for (int i = 1; clock_type::now() - start < window; ++i) {
    print(datetime_now(), self.name(), "is Alive:", self.is_alive(), i);
    // The seed sleeps a fixed period and drifts. Sleeping until the next
    // tick keeps the number of lines independent of scheduling delays,
    // which the test checks. this_process::sleep_until, unlike
    // std::this_thread's, would wake at once for terminate().
    tick += period;
    troupe::this_process::sleep_until(tick);
  }
}

void print_alive(const troupe::process& p) {
  print(datetime_now(), p.name(), "is Alive:", p.is_alive());
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  auto start = clock_type::now();
  troupe::process pro_a{rt, {.name = "A"}, report_while, start, 500ms, 100ms};
  troupe::process pro_b{rt, {.name = "B"}, report_while, start, 1500ms, 250ms};
  print_alive(pro_a);
  print_alive(pro_b);
  print(pro_a);
  print(pro_b);

  pro_a.start();
  pro_b.start();
  // A thread starts much faster than a Python process: A and B may print
  // their first line before this one, which never happens in the seed.
  print(std::string(10, '*'), "Since Now Start 2 Sub Processes");
  print_alive(pro_a);
  print_alive(pro_b);
  print(pro_a);
  print(pro_b);

  // The seed ends here and lets the interpreter wait for A and B at exit;
  // the runtime's destructor would do the same. Joining explicitly shows
  // the end of each lifetime: A ends after its window while B goes on.
  pro_a.join();
  print_alive(pro_a);
  print(pro_a);
  pro_b.join();
  print_alive(pro_b);
  print(pro_b);
}
