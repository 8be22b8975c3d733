// The name space's object (`manager::name_space`): its fields as a snapshot
// and the journal records of their changes.

#include "troupe/manager/name_space.hpp"

#include <string>
#include <string_view>
#include <vector>

#include <troupe/serialization/error.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace troupe::managed::detail {

std::string ns_object::save() const {
  std::vector<field_image> out;
  for (auto& [name, f] : fields) {
    if (f.raw)
      out.push_back(field_image{name, f.tag, *f.raw});
    else if (f.save != nullptr)
      out.push_back(field_image{name, f.tag, f.save(f.value)});
  }
  return serialization::to_bytes(out);
}

void ns_object::load(std::string_view bytes) {
  fields.clear();
  for (auto& f : serialization::from_bytes<std::vector<field_image>>(bytes))
    fields.insert_or_assign(f.name,
                            field{f.tag, {}, nullptr, std::move(f.bytes)});
}

void ns_object::replay(std::string_view bytes) {
  auto r = serialization::from_bytes<record>(bytes);
  if (r.code == 1)
    fields.insert_or_assign(r.f.name,
                            field{r.f.tag, {}, nullptr, std::move(r.f.bytes)});
  else if (r.code == 2)
    fields.erase(r.f.name);
  else
    throw serialization::format_error("unknown namespace record code "
                                      + std::to_string(int{r.code}));
}

} // namespace troupe::managed::detail
