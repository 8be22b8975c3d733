// What child_spec.hpp declares out of line: the type names (ext::type_name)
// in the errors of start_child(extra...), and nested supervisors as children.

#include "troupe/child_spec.hpp"

#include "troupe/ext/describe.hpp"
#include "troupe/supervisor.hpp"

namespace troupe {

std::string
detail::type_names(std::initializer_list<const std::type_info*> types) {
  std::string result;
  for (const auto* t : types) {
    if (!result.empty())
      result += ", ";
    result += ext::type_name(*t);
  }
  return result;
}

child_start start_supervisor(supervisor_options opts,
                             std::vector<child_spec> children) {
  return child_start{
    [opts = std::move(opts), children = std::move(children)](
      runtime& rt, const std::string& name, const std::any*) -> process {
      auto o = opts;
      o.name = name;
      supervisor sup{rt, std::move(o), children};
      return detail::process_access::make(detail::process_access::state(sup));
    },
    child_type::supervisor};
}

} // namespace troupe
