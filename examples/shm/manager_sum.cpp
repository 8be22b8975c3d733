// Twin of seed 004, section 6 ("共享内存管理器Manager"): with a
// SharedMemoryManager, a ShareableList(range(2000)) split between two
// processes, each filling its half, and the total summed by the parent.
//
// The processes here are OS processes (Python's are); the list crosses as
// its block's descriptor. troupe::shared_memory_manager is the `with`
// block: it holds what it made until it goes out of scope.

#include <cstdint>
#include <ranges>

#include <troupe/os_process.hpp>
#include <troupe/shared_memory_manager.hpp>
#include <troupe/troupe.hpp>

namespace shm_example {

/// Stores partial results in sl: item i becomes i * i.
void do_work(troupe::shareable_list sl, int start, int stop) {
  for (int i = start; i < stop; ++i)
    sl.set(static_cast<std::size_t>(i), std::int64_t{i} * i);
}

} // namespace shm_example

TROUPE_ENTRY(shm_example::do_work);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv}; // first: a child runs its entry point here
  {
    troupe::shared_memory_manager smm;
    auto sl = smm.shareable_list(std::views::iota(0, 2000));
    // Divide the work among two processes, storing partial results in sl.
    troupe::os_process p1{rt, troupe::entry<shm_example::do_work>, sl, 0, 1000};
    troupe::os_process p2{rt, troupe::entry<shm_example::do_work>, sl, 1000,
                          2000};
    p1.start();
    p2.start(); // a troupe::pool might be more efficient
    p1.join();
    p2.join(); // wait for all work to complete in both processes
    std::int64_t total_result = 0; // consolidate the partial results in sl
    for (std::size_t i = 0; i < sl.size(); ++i)
      total_result += sl.get<std::int64_t>(i);
    troupe::print(total_result);
    troupe::print(p1.exitcode().value_or(-1), p2.exitcode().value_or(-1));
  } // smm lets go of its blocks
}
