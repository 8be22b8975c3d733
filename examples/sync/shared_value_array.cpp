// Twin of seed 000, section 4.1 ("共享内存", shared memory): a child sets a
// shared double and negates a shared array; the parent sees both changes.
//
// Python's Value('d', 0.0) and Array('i', range(10)) become
// troupe::value<double> and troupe::array<int>. A double is lock-free, so
// the value has no lock at all; the array is guarded by an owned rlock.

#include <charconv>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

void f(troupe::value<double> n, troupe::array<int> a) {
  n.set(3.1415927);
  for (std::size_t i = 0; i < a.size(); ++i)
    a.set(i, -a.get(i));
}

/// Python's repr of a float: the shortest text that reads back the same.
std::string py_float(double x) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, end);
}

/// Python's repr of a list of ints.
std::string py_list(const std::vector<int>& xs) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < xs.size(); ++i)
    out << (i == 0 ? "" : ", ") << xs[i];
  out << ']';
  return out.str();
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

  troupe::print(py_float(num.get()));
  troupe::print(py_list(arr.to_vector())); // Python's arr[:]
}
