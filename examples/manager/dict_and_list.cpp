// Twin of seed 000, section 4.2 ("服务进程", server process): a Manager holds
// a dict and a list; a child process changes both through proxies and the
// parent prints them.
//
// Python's dict takes keys and values of any type; a troupe dict is typed,
// so the seed's mixed keys (1, '2', 0.25) and values ('1', 2, None) become
// std::variant types.

#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

#include "python_repr.hpp"

namespace {

using key = std::variant<int, double, std::string>;
using item = std::variant<std::monostate, int, std::string>; // monostate: None

void f(troupe::managed::dict<key, item> d, troupe::managed::list<int> l) {
  d.set(1, "1");
  d.set("2", 2);
  d.set(0.25, std::monostate{});
  l.reverse();
}

// Python's repr of the variants and of the dict.
struct repr_visitor {
  std::ostream& out;
  void operator()(std::monostate) const {
    out << "None";
  }
  void operator()(int x) const {
    out << x;
  }
  void operator()(double x) const {
    out << troupe_examples::repr(x);
  }
  void operator()(const std::string& x) const {
    out << '\'' << x << '\'';
  }
};

std::string repr(const std::vector<std::pair<key, item>>& items) {
  std::ostringstream out;
  out << '{';
  for (std::size_t i = 0; i < items.size(); ++i) {
    out << (i == 0 ? "" : ", ");
    std::visit(repr_visitor{out}, items[i].first);
    out << ": ";
    std::visit(repr_visitor{out}, items[i].second);
  }
  out << '}';
  return out.str();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::manager manager{rt}; // Python's `with Manager() as manager:`
  auto d = manager.dict<key, item>();
  auto l = manager.list<int>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});

  troupe::process p{rt, f, d, l};
  p.start();
  p.join();

  troupe::print(repr(d.items())); // {1: '1', '2': 2, 0.25: None}
  troupe::print(troupe_examples::repr(l.snapshot())); // [9, 8, ..., 0]
}
