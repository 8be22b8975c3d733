// Twin of seed 004, section 6(4) ("向管理器注册自定义类型", registering a
// custom type with a manager): Python's BaseManager.register('Maths',
// MathsClass), then `maths = manager.Maths()` and calls through the proxy.
//
// The proxy's calls are checked by the compiler: `maths.call(&maths_class::
// add, 4)` or `maths.call(&maths_class::add, "4", 3)` do not compile, where
// Python finds out at run time in the manager process.

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

namespace {

class maths_class {
public:
  int add(int x, int y) const {
    return x + y;
  }

  int mul(int x, int y) const {
    return x * y;
  }
};

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::manager manager{rt};
  manager.register_type<maths_class>("Maths"); // MyManager.register(...)
  auto maths = manager.make<maths_class>("Maths");
  troupe::print(maths.call(&maths_class::add, 4, 3)); // prints 7
  troupe::print(maths.call(&maths_class::mul, 7, 8)); // prints 56

  // The proxy works from any process, and calls run one at a time inside
  // the manager, so the object needs no lock of its own.
  troupe::process p{rt,
                    [](troupe::managed::object<maths_class> m) {
                      troupe::print("from a child:",
                                    m.call(&maths_class::add, 20, 22));
                    },
                    maths};
  p.start();
  p.join();
}
