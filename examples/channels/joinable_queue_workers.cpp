// Twin of seed 000's JoinableQueue: a producer puts tasks, worker
// processes take them and call task_done() for each; join() returns when
// every task is done. A worker that dies holding a task does not leave
// join() hanging: the task is redelivered to another worker.

#include <stdexcept>
#include <string>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

void worker(troupe::joinable_queue<int> tasks, troupe::queue<int> results) {
  auto me = troupe::current_process().name();
  try {
    for (;;) {
      int task = tasks.get();
      if (task == 3 && me == "worker-1")
        // Dies while holding task 3, before its task_done().
        throw std::runtime_error{"worker-1 crashed on task 3"};
      print(me, "did task", task);
      results.put(task * task);
      tasks.task_done();
    }
  } catch (const troupe::closed&) {
    // The producer closed the queue and it is drained: done.
  }
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::joinable_queue<int> tasks{rt};
  troupe::queue<int> results{rt};
  for (int i = 1; i <= 3; ++i)
    troupe::process{
      rt, {.name = "worker-" + std::to_string(i)}, worker, tasks, results}
      .start();
  for (int task = 1; task <= 10; ++task)
    tasks.put(task);
  tasks.join(); // every task done, task 3 included
  int sum = 0;
  while (auto r = results.try_get())
    sum += *r;
  print("all tasks done; sum of squares:", sum);
  tasks.close(); // lets the workers leave their loop
}
