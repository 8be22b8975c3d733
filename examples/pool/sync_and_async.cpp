// Twin of seed 001's pool section ("进程池"): a queue shared by two tasks
// run with apply (the seed uses a Manager queue; a troupe::queue is shared
// between threads directly), then a pool of 3 workers running 5 tasks,
// first synchronously with apply (one after the other), then
// asynchronously with apply_async (3 at a time).
//
// The seed's tasks sleep 2 s; these sleep 300 ms. psutil's process count
// becomes the number of troupe processes running (the runtime's
// active_processes()).

#include <chrono>
#include <string>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::print;
using troupe_examples::datetime_now;

troupe::runtime* rt_ptr = nullptr; // for the process count

std::size_t process_count() {
  return rt_ptr->active_processes().size();
}

void func2(troupe::queue<std::string> q) {
  auto me = troupe::current_process();
  print(me.name(), me.pid(), "start");
  for (auto n = q.qsize(); n > 0; --n)
    print("get from q:" + q.get());
}

void func1(troupe::queue<std::string> q) {
  auto me = troupe::current_process();
  print(me.name(), me.pid(), "start");
  for (auto msg : {"A", "B", "C", "D", "E"}) {
    print(std::string{"put in p:"} + msg);
    q.put(msg);
  }
}

void func() {
  auto me = troupe::current_process();
  print(datetime_now(), me.name(), me.pid(), "start; current process count",
        process_count());
  troupe::this_process::sleep_for(300ms);
  print(datetime_now(), me.name(), me.pid(), "end");
}

void communication() {
  auto main = troupe::current_process();
  print(main.name(), main.pid(), "start");
  troupe::queue<std::string> q{*rt_ptr};
  troupe::pool po{*rt_ptr};
  po.apply(func1, q);
  po.apply(func2, q);
  po.close();
  po.join();
  print(main.name(), main.pid(), "end");
}

void synchronous() {
  auto main = troupe::current_process();
  print(main.name(), main.pid(), "start; current process count",
        process_count());
  troupe::pool pool{*rt_ptr, {.processes = 3}};
  for (int i = 0; i < 5; ++i)
    pool.apply(func); // blocks until func ended
  pool.close();
  pool.join();
  print(main.name(), main.pid(), "end; current process count", process_count());
}

void asynchronous() {
  auto main = troupe::current_process();
  print(main.name(), main.pid(), "start; current process count",
        process_count());
  troupe::pool pool{*rt_ptr, {.processes = 3}};
  for (int i = 0; i < 5; ++i)
    static_cast<void>(pool.apply_async(func)); // returns at once
  pool.close();
  pool.join(); // every submitted task is done
  print(main.name(), main.pid(), "end; current process count", process_count());
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  rt_ptr = &rt;
  print("-- communication");
  communication();
  print("-- synchronous");
  synchronous();
  print("-- asynchronous");
  asynchronous();
}
