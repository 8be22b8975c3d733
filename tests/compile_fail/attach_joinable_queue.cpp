// Attaching an actor to a joinable queue must not compile: the actor
// would never call task_done(), so join() would never return. Built twice
// by CMakeLists.txt: as is (it must compile), and with
// TROUPE_EXPECT_COMPILE_ERROR defined (the compiler must reject the marked
// line).

#include <caf/event_based_actor.hpp>

#include <troupe/actor.hpp>
#include <troupe/attach.hpp>
#include <troupe/joinable_queue.hpp>
#include <troupe/runtime.hpp>

int main() {
  troupe::runtime rt;
  troupe::queue<int> plain{rt};
  troupe::joinable_queue<int> tasks{rt};
  auto sink = troupe::spawn(rt, [](caf::event_based_actor*) {
    return caf::behavior{[](troupe::delivery<int>&) {}};
  });
  {
    auto a = troupe::attach(plain, sink);
#ifdef TROUPE_EXPECT_COMPILE_ERROR
    auto b = troupe::attach(tasks, sink); // a joinable queue cannot be attached
#endif
  }
  sink.kill();
  return 0;
}
