// A supervised worker fleet. Four workers take tasks from a joinable queue;
// some tasks make their worker fail on the first attempt: by an exception,
// by a non-zero exit code, or by being killed. The supervisor restarts each
// failed worker, the queue hands the task the worker held to another one,
// and join() returns with every task done: nothing is lost, nobody hangs.
// At the end it prints the supervision tree and the restart log.
//
// (Python's Pool or a bare Process fleet would hang in join() here: a
// worker that dies holding a JoinableQueue item never calls task_done().)

#include <chrono>
#include <iostream>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

constexpr int task_count = 120;

void work(troupe::joinable_queue<int> tasks, troupe::queue<long> results,
          troupe::array<int> attempts) {
  for (;;) {
    int task = 0;
    try {
      task = tasks.get();
    } catch (const troupe::closed&) {
      return; // no more work: a normal exit, so no restart
    }
    auto attempt = attempts.update(task, [](int n) { return n + 1; });
    if (attempt == 1 && task % 20 == 3)
      throw std::runtime_error("task " + std::to_string(task)
                               + " hit a bad record");
    if (attempt == 1 && task % 20 == 9)
      troupe::this_process::exit(3);
    if (attempt == 1 && task % 20 == 15) {
      troupe::current_process().kill(); // as an out-of-memory killer would
      troupe::this_process::checkpoint();
    }
    results.put(static_cast<long>(task) * task);
    tasks.task_done();
  }
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::joinable_queue<int> tasks{rt};
  troupe::queue<long> results{rt};
  troupe::array<int> attempts{rt, task_count};

  // worker-1 .. worker-4: transient, so they are restarted after a failure
  // but not after they return once the queue is closed.
  std::vector<troupe::child_spec> workers;
  for (int i = 1; i <= 4; ++i)
    workers.push_back(
      {.id = "worker-" + std::to_string(i),
       .start = troupe::start_process(work, tasks, results, attempts),
       .restart = troupe::restart::transient});
  troupe::supervisor fleet{
    rt,
    {.name = "fleet",
     .restarts = {.intensity = 30, .period = std::chrono::seconds{10}},
     .on_event =
       [](const troupe::supervisor_event& ev) {
         if (ev.what == troupe::supervisor_event::kind::child_exited)
           print("restart log:", ev);
       }},
    std::move(workers)};

  for (int task = 0; task < task_count; ++task)
    tasks.put(task);
  tasks.join(); // every task done, the failed ones included

  // A killed worker's task is handed on once its thread has left it, and
  // may be done before the supervisor has handled that worker's exit: wait
  // (bounded) until every failure the tasks saw has been restarted, so the
  // log below is complete.
  int failed_attempts = 0;
  for (int task = 0; task < task_count; ++task)
    failed_attempts += attempts.get(task) - 1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  while (fleet.restarts() < failed_attempts
         && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});

  long sum = 0;
  int count = 0;
  while (auto r = results.try_get()) {
    sum += *r;
    ++count;
  }
  print("tasks done:", count, "of", task_count, "- sum of squares:", sum);

  std::map<int, int> by_code;
  for (auto& ev : fleet.events())
    if (ev.what == troupe::supervisor_event::kind::child_exited)
      ++by_code[ev.exitcode.value_or(0)];
  print("failures: exceptions", by_code[1], "- exit(3)", by_code[3], "- killed",
        by_code[-9], "- restarts", fleet.restarts());
  std::cout << fleet.tree();

  tasks.close(); // the workers return; the runtime stops the fleet
}
