// Twin of seed 003, section 9.7 ("数据共享", sharing data): a duplex pipe
// (both ends send and receive) and a one-way pipe (Python's
// Pipe(duplex=False): the first end only receives, the second only sends;
// sending on the read end does not compile).

#include <string>
#include <vector>

#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using troupe_examples::repr;

using troupe::print;

// One end of a duplex pipe that receives numbers and sends letters.
using numbers_in
  = troupe::connection<std::vector<std::string>, std::vector<int>>;

void run(numbers_in p_a) {
  auto recv = p_a.recv(); // the child receives what the parent sent
  print("child received:", repr(recv));
  std::vector<std::string> letters{"a", "b", "c", "d"};
  print("child sends:", repr(letters));
  p_a.send(letters);
}

void run_one_way(troupe::read_connection<std::vector<int>> p_a) {
  print("child received (p_a):", repr(p_a.recv()));
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};

  // Duplex: p_b sends numbers and receives letters, p_a the other way.
  auto [p_b, p_a]
    = troupe::pipe<std::vector<int>, std::vector<std::string>>{rt};
  troupe::process p{rt, run, p_a};
  p.start();
  std::vector<int> numbers{1, 2, 3, 4, 5};
  print("parent sends:", repr(numbers));
  p_b.send(numbers);
  p.join();
  // The child has ended, but what it sent is still buffered.
  print("parent received:", repr(p_b.recv()));
  print("parent done");

  // One-way: p_a only receives, p_b only sends.
  auto [reader, writer] = troupe::one_way_pipe<std::vector<int>>{rt};
  troupe::process q{rt, run_one_way, reader};
  q.start();
  print("parent sends (p_b):", repr(numbers));
  writer.send(numbers);
  q.join();
  print("parent done");
}
