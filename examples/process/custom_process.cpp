// Twin of seed 003, section 9.5 ("自定义进程", a custom process): a subclass
// of Process whose run() loops `num` times.
//
// The seed's messages are Chinese: 主进程{name}开始启动... is "main process
// {name} starting...", 子进程({i})运行中... is "child process ({i})
// running...". Time is scaled down 10x: 100 ms per loop (seed: 1 s).

#include <chrono>
#include <iostream>
#include <string>
#include <utility>

#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;

using troupe::print; // Python's print(): one whole line, flushed

// Python's `class MyProcess(Process)` with `__init__(self, name, num=1)`.
// The name goes to the base as an option; `num` is ours. The class must be
// copyable: start() runs a copy of it, as a Python child works on its own
// copy of the object.
class my_process : public troupe::process_base<my_process> {
public:
  my_process(troupe::runtime& rt, std::string name, int num = 1)
    : process_base{rt, {.name = std::move(name)}}, num_{num} {}

  void run() override {
    for (int i = 0; i < num_; ++i) {
      print("child process (" + std::to_string(i) + ") running...");
      troupe::this_process::sleep_for(100ms);
    }
  }

private:
  int num_;
};

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  my_process p{rt, "test1"};
  print("main process", p.name(), "starting...");
  p.start();
  p.join();

  // Not in the seed, which keeps the default num = 1: three loops.
  my_process p2{rt, "test2", 3};
  print("main process", p2.name(), "starting...");
  p2.start();
  p2.join();
}
