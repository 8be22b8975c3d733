// Twin of seed 000, section 2 ("进程之间共享对象", exchanging objects
// between processes): a child puts a list into a queue and the parent gets
// it. Then the seed's "joining processes that use queues" program, which
// deadlocks in Python and not here.

#include <optional>
#include <sstream>
#include <string>
#include <tuple>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

// Python's [42, None, 'hello'] as a typed item.
using item = std::tuple<int, std::optional<int>, std::string>;

std::string repr(const item& x) {
  std::ostringstream out;
  out << '[' << std::get<0>(x) << ", ";
  if (auto n = std::get<1>(x))
    out << *n;
  else
    out << "None";
  out << ", '" << std::get<2>(x) << "']";
  return out.str();
}

void f(troupe::queue<item> q) {
  q.put({42, std::nullopt, "hello"});
}

void put_big(troupe::queue<std::string> q) {
  q.put(std::string(1000000, 'X'));
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<item> q{rt};
  troupe::process p{rt, f, q};
  p.start();
  print(repr(q.get())); // prints "[42, None, 'hello']"
  p.join();

  // Python deadlocks here: its child cannot end before a feeder thread has
  // pushed the 1 MB item into a pipe nobody reads. A troupe queue holds
  // its items itself, so the child ends and join() returns.
  troupe::queue<std::string> queue{rt};
  troupe::process child{rt, put_big, queue};
  child.start();
  child.join(); // no deadlock
  auto obj = queue.get();
  print("got", obj.size(), "bytes after join()");
}
