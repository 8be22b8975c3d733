// Twin of seed 000, section 3 ("进程之间同步", synchronization between
// processes): ten processes print one line each while holding a lock.
//
// troupe::print already writes whole lines; the lock here stands for any
// resource that must be used by one process at a time. Unlike Python's
// Lock, a troupe lock cannot be left held: had a process died between
// acquire() and release(), the lock would have been released for the next.

#include <troupe/troupe.hpp>

namespace {

void f(troupe::lock l, int i) {
  l.acquire();
  try {
    troupe::print("hello world", i);
  } catch (...) {
    l.release();
    throw;
  }
  l.release();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::lock lock{rt};
  for (int num = 0; num < 10; ++num)
    troupe::process{rt, f, lock, num}.start();
  // ~runtime waits for the ten processes, as Python's main process does.
}
