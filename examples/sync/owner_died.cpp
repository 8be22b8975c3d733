// What Python's documentation warns about ("avoid terminating processes":
// a process killed while holding a lock leaves it held forever), made
// impossible. A worker is killed in the middle of an update guarded by a
// lock; the lock is released, and the next holder is told that the previous
// one died, so it can repair what was left half-done.

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

struct account_book {
  int debits = 0;
  int credits = 0; // equal to debits outside the lock
};

void transfer(troupe::lock lock, account_book& book) {
  lock.acquire();
  ++book.debits;
  troupe::parent_process()->send(std::string{"half-way"});
  // Killed here, before the matching credit: the book is inconsistent.
  troupe::this_process::receive<int>();
  ++book.credits;
  lock.release();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::lock lock{rt, {.name = "book"}};
  account_book book;

  troupe::process worker{
    rt, {.name = "worker"}, transfer, lock, std::ref(book)};
  worker.start();
  troupe::this_process::receive<std::string>(); // "half-way"
  worker.kill();
  worker.join();
  troupe::print("worker exit code:", *worker.exitcode());

  std::lock_guard guard{lock}; // does not hang: the lock was released
  if (lock.previous_owner_died()) {
    troupe::print("previous owner died; repairing the book");
    book.credits = book.debits;
  }
  troupe::print("debits:", book.debits, "credits:", book.credits);
}
