// Twin of seed 004, section 5(3) ("ShareableList 共享列表"): a list of
// mixed items in shared memory, changed in place, with a second holder in
// another OS process.
//
// Python's ShareableList is troupe::shareable_list: items are None, int,
// float, bool, str or bytes; an item may change type but not outgrow its
// slot (value_error, as Python's ValueError).

#include <string>
#include <vector>

#include <troupe/os_process.hpp>
#include <troupe/shareable_list.hpp>
#include <troupe/troupe.hpp>

namespace shm_example {

/// "In a second process": c[-1] = -999.
void set_last(troupe::shareable_list c) {
  c.set(c.size() - 1, -999);
}

} // namespace shm_example

TROUPE_ENTRY(shm_example::set_last);

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv}; // first: a child runs its entry point here
  using sl = troupe::shareable_list;

  sl a{"howdy", troupe::bytes{"HoWdY"}, -273.154, 100, sl::none, true, 42};
  std::string types;
  for (const auto& entry : a.to_vector())
    types += std::string{types.empty() ? "" : ", "} + "<class '"
             + std::string{sl::type_name(entry)} + "'>";
  troupe::print("[" + types + "]");
  troupe::print(a.get<double>(2));
  a.set(2, -78.5);
  troupe::print(a.get<double>(2));
  a.set(2, "dry ice"); // changing data types is supported as well
  troupe::print(a.get<std::string>(2));
  try {
    a.set(2, "larger than previously allocated storage space");
  } catch (const troupe::value_error& e) {
    troupe::print("ValueError:", e.what());
  }
  troupe::print(a.get<std::string>(2));
  troupe::print(a.size());
  troupe::print(a.index(42));
  troupe::print(a.count(troupe::bytes{"howdy"}));
  troupe::print(a.count(troupe::bytes{"HoWdY"}));

  sl b{std::vector<int>{0, 1, 2, 3, 4}}; // in a first process
  troupe::os_process second{rt, troupe::entry<shm_example::set_last>, b};
  second.start();
  second.join();
  troupe::print(b.get<int>(b.size() - 1));
}
