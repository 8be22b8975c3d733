// Twin of seed 004, section 1 ("管道 Pipe 通信方式"): a child sends a list
// through its end of a pipe and closes it; the parent receives it. A
// second recv() reads end of file (Python would hang here instead).

#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;
using conn
  = troupe::connection<std::vector<std::string>, std::vector<std::string>>;

void myfunction(conn c) {
  c.send({"hi!! I am Python"});
  c.close();
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  auto [parent_conn, child_conn] = troupe::pipe<std::vector<std::string>>{rt};
  troupe::process p{rt, myfunction, child_conn};
  p.start();
  print("['" + parent_conn.recv().front() + "']");
  p.join();
  try {
    static_cast<void>(parent_conn.recv());
  } catch (const troupe::closed&) {
    print("end of file: the child closed its end");
  }
}
