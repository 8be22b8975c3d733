// Twin of seed 001, second program ("非共享 全局变量", globals are not
// shared): A appends 0..9 to the list `gv`, B starts after A ended and still
// sees an empty list.
//
// In Python each process has its own memory, so each has its own copy of
// the global `gv`. troupe processes are threads of one program: a global
// here would be one variable for all of them, and A writing it while
// another process reads it would be a data race. So the point is restated
// the troupe way: a process gets its state as arguments, which are copied
// (or moved, when passed as rvalues) into it, and works on its own copy.
// Data that must flow between processes goes through messages or channels.
//
// Time is scaled down 5x: A sleeps 20 ms per item (seed: 0.1 s).

#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using troupe_examples::datetime_now;
using troupe_examples::repr;

using namespace std::chrono_literals;

using troupe::print; // Python's print(): one whole line, flushed

// Takes its list by value: the copy made when A was constructed is moved
// in here, so A changes a list no one else can see and needs no lock.
void func1(std::vector<int> gv) {
  for (int i = 0; i < 10; ++i) {
    gv.push_back(i);
    troupe::this_process::sleep_for(20ms);
  }
  print(datetime_now(), troupe::current_process().name(), repr(gv));
}

void func2(const std::vector<int>& gv) {
  print(datetime_now(), troupe::current_process().name(), repr(gv));
}

void print_alive(const troupe::process& p) {
  print(datetime_now(), p.name(), "is Alive:", p.is_alive());
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  // What the seed keeps in a global, the main process keeps here and hands
  // to each process when constructing it: A and B each get a copy of it.
  std::vector<int> gv;
  troupe::process pro_a{rt, {.name = "A"}, func1, gv};
  troupe::process pro_b{rt, {.name = "B"}, func2, gv};
  print_alive(pro_a);
  print_alive(pro_b);

  pro_a.start();
  print(std::string(10, '*'), "Since Now Start Subprocess A");
  print_alive(pro_a);
  print_alive(pro_b);
  pro_a.join();
  print_alive(pro_a);
  print_alive(pro_b);

  pro_b.start();
  print(std::string(10, '*'), "Since Now Start Subprocess B");
  print_alive(pro_a);
  // B only prints a line, and a thread starts much faster than a Python
  // process: B may already have ended here, so this prints true or false.
  print_alive(pro_b);
  pro_b.join();

  // Not in the seed: the main process's list did not change either.
  print(datetime_now(), troupe::current_process().name(), repr(gv));
}
