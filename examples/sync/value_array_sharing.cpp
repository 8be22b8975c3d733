// Twin of seed 004, section 5(1) (sharing Value and Array between
// processes): "the child changes the value, and the main process sees the
// change" — once for a Value('d', 10.0), once for an Array('i', [1..5]).
//
// Then what Python's `v.value += 1` cannot do without get_lock(): four
// processes add to a shared counter with update(), which is atomic by
// construction, and the total is exact.

#include <string>
#include <vector>

#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using troupe_examples::repr;

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};

  // A child changes a shared number; the main process follows.
  troupe::value<double> num{rt, 10.0};
  troupe::process p{rt, [](troupe::value<double> n) { n.set(10.78); }, num};
  p.start();
  p.join();
  troupe::print(repr(num.get()));

  // A child changes one element of a shared array.
  troupe::array<int> arr{rt, {1, 2, 3, 4, 5}};
  troupe::process q{rt, [](troupe::array<int> a) { a.set(2, 9999); }, arr};
  q.start();
  q.join();
  troupe::print(repr(arr.to_vector()));

  // Read-modify-write from several processes: update() never loses one.
  troupe::value<int> counter{rt, 0};
  std::vector<troupe::process> adders;
  for (int i = 0; i < 4; ++i) {
    adders.emplace_back(
      rt,
      [](troupe::value<int> c) {
        for (int k = 0; k < 100000; ++k)
          c.update([](int x) { return x + 1; });
      },
      counter);
    adders.back().start();
  }
  for (auto& a : adders)
    a.join();
  troupe::print("counter:", counter.get());
}
