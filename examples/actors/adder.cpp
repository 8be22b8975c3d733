// Event-based actors next to processes: the main process asks an actor to
// add, then stops it two ways. Actors have no seed twin (Python has no
// actors); they are how troupe scales past one thread per process.

#include <string>

#include <troupe/troupe.hpp>

namespace {

caf::behavior adder(caf::event_based_actor* self, int base) {
  return {[=](int x) -> int {
    if (x < 0)
      self->quit();
    return base + x;
  }};
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  auto a = troupe::spawn(rt, adder, 100);
  a.send(5); // from the main process: the reply comes back to its mailbox
  troupe::print("reply:", troupe::this_process::receive<int>());
  a.send(-1); // asks it to quit
  a.join();
  troupe::print(a, "reason:", a.exit_reason().empty() ? "-" : a.exit_reason());

  // terminate() sends CAF's user_shutdown exit; kill() CAF's kill.
  auto b = troupe::spawn(rt, {.name = "stopped"}, adder, 0);
  auto c = troupe::spawn(rt, {.name = "killed"}, adder, 0);
  b.terminate();
  c.kill();
  b.join();
  c.join();
  troupe::print(b);
  troupe::print(c);
}
