// Twin of seed 002, section 2 ("进程其他方法示例", the other methods of a
// process): a `Process` subclass overriding run(), then its three programs:
//   1. terminate() and is_alive();
//   2. a daemon process and join(timeout);
//   3. the name and pid attributes.
//
// The seed's three programs are separate Python scripts, and the end of the
// script matters (a daemon dies with it, non-daemons are waited for). Here
// each is a function with a runtime of its own, whose destruction plays
// the part of the script ending; pids start at 1 in each.
//
// The seed sleeps a random 1 to 4 s in run(). Here the sleep is fixed, so
// the output can be checked: long (2 s) where it is cut short anyway, short
// (200 ms) where the process runs to its end.

#include <chrono>
#include <iostream>
#include <string>
#include <utility>

#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;

using troupe::print; // Python's print(): one whole line, flushed

// Python's `class Piao(Process)`. The seed's third program shows that
// assigning self.name before Process.__init__ is undone by it; in C++ the
// base is always constructed first, so the name is simply an option of it
// (renaming later with name(...) works too).
class piao : public troupe::process_base<piao> {
public:
  piao(troupe::runtime& rt, std::string name, std::chrono::milliseconds nap)
    : process_base{rt, {.name = std::move(name)}}, nap_{nap} {}

  // Runs on a copy of this object, in the new process (see process_base).
  void run() override {
    print(name(), "is piaoing");
    // Unlike time.sleep, this wakes at once to throw troupe::terminated
    // when the process is asked to stop, so terminate() takes effect here
    // and nothing after it runs.
    troupe::this_process::sleep_for(nap_);
    print(name(), "is piao end");
  }

private:
  std::chrono::milliseconds nap_;
};

void terminate_then_is_alive(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  print("-- terminate() and is_alive()");
  piao p1{rt, "egon1", 2s};
  p1.start();
  // terminate() only asks the process to stop and returns at once; the
  // process ends when its blocking call throws, so it may still be alive.
  p1.terminate();
  print("is_alive() right after terminate():", p1.is_alive());
  print("start"); // print('开始')
  // The seed hopes that printing took long enough for the process to end.
  // join() is the way to be sure.
  p1.join();
  print("is_alive() after join():", p1.is_alive());
  // As in Python, -15 says "ended by SIGTERM"; no signal was involved.
  print("exitcode:", p1.exitcode().value());
  print("exit reason:", p1.exit_reason());
}

void daemon_with_join_timeout(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  print("-- daemon and join(timeout)");
  piao p{rt, "egon2", 2s};
  // Must be set before start(), as in Python (afterwards it throws).
  p.daemon(true);
  p.start();
  // Python's p.join(0.0001): wait at most 0.1 ms, then go on.
  print("join(100us) returned:", p.join(100us));
  print("start"); // print('开始')
  // Leaving the function destroys the runtime, the end of the main process:
  // it terminates the daemon instead of waiting 2 s for it, so
  // "egon2 is piao end" is never printed.
}

void name_and_pid(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  print("-- name and pid");
  piao p{rt, "egon3", 200ms};
  p.start();
  print("start"); // print('开始')
  print("pid:", p.pid());
  // Leaving the function waits for egon3 to finish, as Python's main
  // process waits for its non-daemon children at exit.
}

} // namespace

int main(int argc, char** argv) {
  terminate_then_is_alive(argc, argv);
  daemon_with_join_timeout(argc, argv);
  name_and_pid(argc, argv);
}
