// Event-based actors share a manager's dict without blocking a thread: a
// proxy's `async(self)` form sends each call and returns CAF's response
// handle, and the answer arrives in the actor's mailbox (`then`).
//
// A thousand actors each count 10 hits, one call after the other's answer;
// the total is exact because `update` is atomic inside the manager.

#include <string>

#include <caf/event_based_actor.hpp>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

namespace {

using counters = troupe::managed::dict<std::string, int>;

// One hit, then the next when the manager has answered.
void count(caf::event_based_actor* self, counters hits, int left,
           troupe::queue<int> done) {
  if (left == 0) {
    done.put(1);
    self->quit();
    return;
  }
  hits.async(self)
    .update("hits", [](int n) { return n + 1; })
    .then([=](int) { count(self, hits, left - 1, done); },
          [=](caf::error& err) mutable {
            troupe::print("failed:", caf::to_string(err));
            done.put(0);
            self->quit();
          });
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::manager mgr{rt};
  auto hits = mgr.dict<std::string, int>();
  troupe::queue<int> done{rt};
  constexpr int actors = 1000;
  for (int i = 0; i < actors; ++i)
    static_cast<void>(troupe::spawn(
      rt, [hits, done](caf::event_based_actor* self) -> caf::behavior {
        count(self, hits, 10, done);
        return {[](int) {}}; // stays alive until count() quits
      }));
  int finished = 0;
  for (int i = 0; i < actors; ++i)
    finished += done.get();
  troupe::print(finished, "actors done, hits:", hits.get("hits"));
}
