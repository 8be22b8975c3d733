// Twin of seed 003, section 9.8 ("共享内存", shared memory): one Manager
// serves a number, a string, an array, a list and a dict; a child reads and
// changes each, and the main process prints what it sees afterwards.
//
// The seed prints 子进程： ("child:") and 主进程： ("main:"). Its
// Value(c_char_p, b'hello') is a managed string, and its Array('i',
// range(5)) a managed list of ints.

#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

namespace {

using troupe::print;
namespace managed = troupe::managed;

void run(managed::value<int> v, managed::value<std::string> s,
         managed::list<int> a, managed::list<std::string> l,
         managed::dict<std::string, std::string> d) {
  print("child:", v.get());
  // Python's `v.value += 10` races with other writers; update() does not.
  v.update([](int x) { return x + 10; });
  print("child:", "b'" + s.get() + "'");
  s.set("world");
  print("child:", a.at(0));
  a.set(0, 5);
  l.append("subprocess");
  d.set("name", "xiaoming");
}

std::string repr(const std::vector<std::string>& xs) {
  std::ostringstream out;
  out << '[';
  for (std::size_t i = 0; i < xs.size(); ++i)
    out << (i == 0 ? "'" : ", '") << xs[i] << '\'';
  out << ']';
  return out.str();
}

std::string repr(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::ostringstream out;
  out << '{';
  for (std::size_t i = 0; i < kv.size(); ++i)
    out << (i == 0 ? "'" : ", '") << kv[i].first << "': '" << kv[i].second
        << '\'';
  out << '}';
  return out.str();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::manager server{rt};
  auto v = server.value<int>(250);
  auto s = server.value<std::string>("hello");
  auto a = server.list<int>({0, 1, 2, 3, 4});
  auto l = server.list<std::string>();
  auto d = server.dict<std::string, std::string>();

  troupe::process p{rt, run, v, s, a, l, d};
  p.start();
  p.join();
  print("main:", v.get());
  print("main:", "b'" + s.get() + "'");
  print("main:", a.at(0));
  print("main:", repr(l.snapshot()));
  print("main:", repr(d.items()));
}
