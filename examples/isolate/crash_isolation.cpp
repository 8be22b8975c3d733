// A worker in an OS process of its own: a crash in it (here a null pointer
// dereference in a "native library") ends only that OS process, and the
// parent sees Python's exit code for it. A supervisor restarts such a
// worker as a fresh OS process.

#include <csignal>
#include <string>

#include <troupe/os_process.hpp>
#include <troupe/troupe.hpp>

namespace demo {

/// Stands for native code that crashes on some inputs.
void parse(std::string text) {
  if (text.empty())
    std::raise(SIGSEGV); // what a null pointer dereference does
  troupe::print(troupe::current_process().name(), "parsed", text);
}

void resize(std::string path, int width) {
  troupe::print(troupe::current_process().name(), "resized", path, "to", width);
}

} // namespace demo

// Entry points are registered by name: a child OS process finds them again.
TROUPE_ENTRY(demo::parse);
TROUPE_ENTRY(demo::resize);

int main(int argc, char** argv) {
  // In a child, this line runs the entry point and ends the child; code
  // above it runs in every child too (troupe::is_os_process_child() tells).
  troupe::runtime rt{argc, argv};

  troupe::os_process resizer{
    rt, {.name = "resizer"}, troupe::entry<demo::resize>, "a.png", 640};
  resizer.start();
  resizer.join();
  troupe::print("resizer exitcode", *resizer.exitcode());

  troupe::os_process parser{
    rt, {.name = "parser"}, troupe::entry<demo::parse>, ""};
  parser.start();
  parser.join();
  troupe::print("parser exitcode", *parser.exitcode(), "-",
                parser.exit_reason());
  troupe::print("the parent carries on");
}
