// Twin of seed 000, section 1 ("启动一个进程", start a process): the main
// process and a child each print who they are, then the child greets bob.
//
// Python prints the module name (`__name__`) and OS pids. A troupe process
// is a thread of this one program, so every process runs the same "module"
// (this source file) and has a troupe pid instead: the main process is 1,
// and pids count up as processes start.

#include <filesystem>
#include <iostream>
#include <string>

#include <troupe/troupe.hpp>

namespace {

using troupe::print; // Python's print(): one whole line, flushed

void info(const std::string& title) {
  print(title);
  // The nearest thing to a module name: the file the code comes from. With
  // Python's spawn start method a child would say `__mp_main__`; here it is
  // the same for every process, as they share one program image.
  print("module name:", std::filesystem::path{__FILE__}.filename().string());
  print("process name:", troupe::current_process().name());
  // Python's os.getppid() in the main process gives the shell's pid; troupe
  // has no process above the main one, so parent_process() is empty there,
  // like multiprocessing.parent_process() returning None.
  if (auto parent = troupe::parent_process())
    print("parent process:", parent->pid());
  else
    print("parent process:", "None");
  print("process id:", troupe::current_process().pid());
}

void f(const std::string& name) {
  info("function f");
  print("hello", name);
}

} // namespace

int main(int argc, char** argv) {
  // Constructing the runtime makes this thread the main process (pid 1). No
  // `if __name__ == '__main__'` guard is needed: a troupe process never
  // re-imports the program, it runs a function on a thread of its own.
  troupe::runtime rt{argc, argv};
  info("main line");
  troupe::process p{rt, f, std::string{"bob"}};
  p.start();
  p.join();
}
