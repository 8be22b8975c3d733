// Twin of seed 003, section 9.3 ("进程管理", process management): the main
// process starts a child that prints its name argument and its pid, and
// waits for it.
//
// Python's os.getpid() becomes troupe::current_process().pid(): a troupe
// pid, 1 for the main process and counting up as processes start.

#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

namespace {

using troupe::print; // Python's print(): one whole line, flushed

void run(const std::string& name) {
  auto pid = troupe::current_process().pid();
  print("Run child process", name, "(" + std::to_string(pid) + ")");
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  print("Parent process", troupe::current_process().pid());
  // Python's Process(target=run, args=('test',)): the target, then its
  // arguments, which are copied into the process. A name, the daemon flag
  // and a terminate grace would go in options before the target:
  // troupe::process p{rt, {.name = "worker"}, run, ...}.
  troupe::process p{rt, run, std::string{"test"}};
  print("Child process will start...");
  p.start();
  p.join();
  print("Child process end...");
}
