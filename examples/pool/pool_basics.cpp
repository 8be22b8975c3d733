// Twin of seed 000 §5 ("使用进程池", using a pool of workers): map,
// imap_unordered, apply_async of a value and of the worker's pid, and a
// timeout on a task that sleeps for 10 s.

#include <chrono>
#include <ranges>
#include <vector>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::print;
using troupe_examples::repr;

int f(int x) {
  return x * x;
}

troupe::pid_type worker_pid() {
  return troupe::current_process().pid();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  {
    // start 4 worker processes
    troupe::pool pool{rt, {.processes = 4}};

    // prints "[0, 1, 4,..., 81]"
    print(repr(pool.map(f, std::views::iota(0, 10))));

    // prints the same numbers in arbitrary order
    for (int i : pool.imap_unordered(f, std::views::iota(0, 10)))
      print(i);

    // evaluates "f(20)" asynchronously, in only one worker
    auto res = pool.apply_async(f, 20);
    print(res.get(1s)); // prints "400"

    // evaluates "worker_pid()" asynchronously
    auto pid = pool.apply_async(worker_pid);
    print(pid.get(1s)); // prints the pid of that worker

    // launching several evaluations asynchronously may use more workers
    std::vector<troupe::async_result<troupe::pid_type>> multiple;
    for (int i = 0; i < 4; ++i)
      multiple.push_back(pool.apply_async(worker_pid));
    std::vector<troupe::pid_type> pids;
    for (auto& r : multiple)
      pids.push_back(r.get(1s));
    print(repr(pids));

    // makes a single worker sleep for 10 s
    auto sleeper
      = pool.apply_async([] { troupe::this_process::sleep_for(10s); });
    try {
      sleeper.get(1s);
    } catch (const troupe::timeout_error&) {
      print("We lacked patience and got a troupe::timeout_error");
    }

    print("For the moment, the pool remains available for more work");
  } // leaving the block destroys the pool, which terminates it (as Python's
    // `with` does): the sleeping worker wakes at once and stops

  print("Now the pool is closed and no longer available");
}
