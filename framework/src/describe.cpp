// Naming exceptions and types (troupe/ext/describe.hpp): one describer for
// exit reasons, supervisor reports, pool tasks and manager calls.

#include "troupe/ext/describe.hpp"

#include <array>
#include <cstdlib>
#include <mutex>
#include <string_view>

#include <cxxabi.h>

namespace troupe::ext {

namespace {

/// Readable names of types. Demangling parses the mangled name and
/// allocates every time; a process that fails keeps failing with the same
/// few types, so the last few names are kept. Never destroyed: a thread may
/// describe an exception during static destruction.
class type_names {
public:
  static type_names& get() {
    static auto* instance = new type_names;
    return *instance;
  }

  /// Appends the name of `type` to `out`.
  void append(const std::type_info& type, std::string& out) {
    std::lock_guard guard{mtx_};
    for (auto& x : recent_) {
      if (x.type != nullptr && *x.type == type) {
        out += x.name;
        return;
      }
    }
    auto& slot = recent_[next_];
    next_ = (next_ + 1) % recent_.size();
    int status = 0;
    auto* raw = abi::__cxa_demangle(type.name(), nullptr, nullptr, &status);
    slot.name = status == 0 && raw != nullptr ? raw : type.name();
    std::free(raw); // NOLINT(cppcoreguidelines-no-malloc)
    slot.type = &type;
    out += slot.name;
  }

private:
  struct entry {
    const std::type_info* type = nullptr;
    std::string name;
  };

  std::mutex mtx_;
  std::array<entry, 8> recent_;
  std::size_t next_ = 0;
};

} // namespace

std::string type_name(const std::type_info& type) {
  std::string out;
  type_names::get().append(type, out);
  return out;
}

std::string describe_exception(const std::exception& e) {
  std::string_view what = e.what();
  std::string out;
  out.reserve(32 + what.size());
  type_names::get().append(typeid(e), out);
  out += ": ";
  out += what;
  return out;
}

std::string describe_exception(const std::exception_ptr& e) {
  if (!e)
    return "no exception";
  try {
    std::rethrow_exception(e);
  } catch (...) {
    return describe_current_exception();
  }
}

std::string describe_current_exception() {
  if (!std::current_exception())
    return "no exception";
  try {
    throw;
  } catch (const std::exception& x) {
    return describe_exception(x);
  } catch (...) {
    return "an exception of unknown type";
  }
}

} // namespace troupe::ext
