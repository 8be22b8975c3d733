// README's first program: a worker process with a mailbox, answering the
// main process.
#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

namespace tp = troupe::this_process;

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv}; // this thread is the main process
  auto echo = [](int times) {
    for (int i = 0; i < times; ++i) {
      auto word = tp::receive<std::string>(); // blocks on the mailbox
      tp::reply(word + "!");                  // answers the sender
    }
  };
  troupe::process worker{rt, {.name = "worker"}, echo, 2};
  worker.start();
  for (auto word : {"hello", "world"}) {
    worker.send(std::string{word});
    std::cout << tp::receive<std::string>() << '\n';
  }
  worker.join();
  // <process name='worker' pid=2 parent=1 stopped exitcode=0>
  std::cout << worker << '\n';
}
