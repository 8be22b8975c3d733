// What Python's Pool cannot do: a worker dies in the middle of a task
// (Python's Pool then waits forever). With max_retries the task runs again
// on a fresh worker; without, its result fails with troupe::worker_lost,
// which names the task, the worker and why it ended. Either way nobody
// waits forever, and the supervisor replaces the worker.

#include <atomic>
#include <chrono>
#include <memory>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;
using troupe::print;

/// Dies on its first run (its worker is killed while it runs), returns 42
/// on the next.
int flaky(const std::shared_ptr<std::atomic<int>>& runs) {
  if (runs->fetch_add(1) == 0) {
    troupe::current_process().kill();     // the worker is declared dead
    troupe::this_process::sleep_for(10s); // so this throws at once
  }
  return 42;
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  {
    troupe::pool pool{rt, {.processes = 2, .max_retries = 1}};
    auto runs = std::make_shared<std::atomic<int>>(0);
    auto value = pool.apply(flaky, runs);
    print("with a retry:", value, "after", runs->load(), "runs");
  }
  {
    troupe::pool pool{rt, {.processes = 2}}; // max_retries = 0
    auto runs = std::make_shared<std::atomic<int>>(0);
    try {
      pool.apply(flaky, runs);
    } catch (const troupe::worker_lost& e) {
      print("worker_lost:", e.what());
      print("reason:", e.reason());
    }
    print("the pool still works:", pool.apply(flaky, runs));
  }
}
