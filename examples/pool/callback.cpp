// Twin of seed 003 §9.6 ("进程池", process pool): apply_async with a
// callback that prints each task's result, then the same with map_async
// (the seed's commented-out alternative). The seed's tasks sleep up to
// 3 s; these sleep up to 300 ms.

#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::print;

void callback(int num) {
  print(num);
}

int task(int num) {
  print("Run task " + std::to_string(num) + " ("
        + std::to_string(troupe::current_process().pid()) + ")...");
  thread_local std::mt19937 gen{std::random_device{}()};
  auto start = std::chrono::steady_clock::now();
  troupe::this_process::sleep_for(
    std::chrono::milliseconds{std::uniform_int_distribution{0, 300}(gen)});
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", took.count());
  print("Task " + std::to_string(num) + " runs " + buf + " seconds.");
  return num;
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  print("cpu cores:", std::thread::hardware_concurrency());
  print("Parent process", troupe::current_process().pid());
  {
    troupe::pool pool{rt, {.processes = 4}};
    for (int i = 0; i < 5; ++i)
      // the callback runs on the pool's callback thread when task(i)
      // returned; its argument is the task's result
      static_cast<void>(pool.apply_async(troupe::callback(callback), task, i));
    print("Waiting for all subprocesses done...");
    pool.close(); // no more tasks
    pool.join();  // waits for the tasks and their callbacks
    print("All subprocesses done.");
  }
  {
    troupe::pool pool{rt, {.processes = 4}};
    auto all = pool.map_async(
      troupe::callback([](const std::vector<int>& nums) {
        print("map_async results:", troupe_examples::repr(nums));
      }),
      task, std::vector<int>{0, 1, 2, 3, 4});
    pool.close();
    pool.join();
    print("map_async done:", all.successful());
  }
}
