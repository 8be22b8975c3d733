// Twin of seed 000, section 4.1 ("共享内存", shared memory): a child sets a
// shared double and negates a shared array; the parent sees both changes.
//
// Python's Value('d', 0.0) and Array('i', range(10)) become
// troupe::value<double> and troupe::array<int>. A double is lock-free, so
// the value has no lock at all; the array is guarded by an owned rlock.

#include <numeric>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using troupe_examples::repr;

void f(troupe::value<double> n, troupe::array<int> a) {
  n.set(3.1415927);
  for (std::size_t i = 0; i < a.size(); ++i)
    a.set(i, -a.get(i));
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::value<double> num{rt, 0.0};
  std::vector<int> range(10);
  std::iota(range.begin(), range.end(), 0);
  troupe::array<int> arr{rt, range};

  troupe::process p{rt, f, num, arr};
  p.start();
  p.join();

  troupe::print(repr(num.get()));
  troupe::print(repr(arr.to_vector())); // Python's arr[:]
}
