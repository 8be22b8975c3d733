// Sending on the read end of a one-way pipe must not compile. Built twice
// by CMakeLists.txt: as is (it must compile, so the test below cannot pass
// for an unrelated reason), and with TROUPE_EXPECT_COMPILE_ERROR defined
// (the compiler must reject the marked line).

#include <troupe/pipe.hpp>
#include <troupe/runtime.hpp>

int main() {
  troupe::runtime rt;
  auto [reader, writer] = troupe::one_way_pipe<int>{rt};
  writer.send(1);
  int got = reader.recv();
#ifdef TROUPE_EXPECT_COMPILE_ERROR
  reader.send(got); // the read end has no send
#endif
  return got == 1 ? 0 : 1;
}
