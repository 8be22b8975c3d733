// Entry points by name, and the hooks that make every runtime of a program
// using troupe::isolate able to start OS-process children and to be one.

#include "registry.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <unistd.h>

#include <troupe/error.hpp>
#include <troupe/ext/runtime_hooks.hpp>
#include <troupe/os_process.hpp>

#include "bootstrap.hpp"
#include "forkserver.hpp"
#include "link.hpp"

namespace troupe::isolate::detail {

namespace {

struct entry_record {
  entry_invoker invoke = nullptr;
  batch_invoker invoke_batch = nullptr;
  const void* function = nullptr;
  std::string where;
};

struct registry {
  std::mutex mtx;
  std::map<std::string, entry_record, std::less<>> entries;
  std::vector<std::string> conflicts;
};

registry& the_registry() {
  static registry reg; // filled by other files' static initializers
  return reg;
}

std::atomic<bool> entry_reached{false};

/// The marker's `<fd>:<parent pid>`, or false if this is no child.
bool parse_marker(int& fd, long& parent) {
  const char* text = std::getenv(child_marker); // NOLINT(concurrency-mt-unsafe)
  if (text == nullptr)
    return false;
  char* end = nullptr;
  fd = static_cast<int>(std::strtol(text, &end, 10));
  if (end == nullptr || *end != ':')
    return false;
  parent = std::strtol(end + 1, nullptr, 10);
  return true;
}

void check_conflicts() {
  auto& reg = the_registry();
  std::lock_guard guard{reg.mtx};
  if (reg.conflicts.empty())
    return;
  std::string text;
  for (const auto& c : reg.conflicts)
    text += (text.empty() ? "" : "; ") + c;
  throw value_error(text);
}

void configure_runtime(caf::actor_system_config& cfg) {
  load_middleman(cfg);
  // Last: a child forked by the zygote comes back here, as the child.
  start_zygote_if_requested();
}

void on_runtime_start(runtime& rt) {
  check_conflicts();
  int fd = -1;
  long parent = 0;
  if (!entry_reached.load() && parse_marker(fd, parent))
    child_main(rt, fd, parent);
}

void main_left_without_runtime() {
  if (entry_reached.load())
    return; // the entry point (or what it called) ended the program
  static constexpr char text[]
    = "troupe: this os_process child left main() without constructing a "
      "troupe::runtime, so its entry point never ran; construct the runtime "
      "in main() before any early return (see docs/isolation.md)\n";
  [[maybe_unused]] auto n = ::write(2, text, sizeof(text) - 1);
  ::_exit(1);
}

struct install_hooks {
  install_hooks() {
    ext::add_config_hook(&configure_runtime);
    ext::add_start_hook(&on_runtime_start);
    ext::add_shutdown_hook(&await_children_of);
    int fd = -1;
    long parent = 0;
    if (parse_marker(fd, parent))
      std::atexit(&main_left_without_runtime);
  }
};

const install_hooks installed;

} // namespace

bool add_entry(std::string_view name, entry_invoker invoke,
               batch_invoker invoke_batch, const void* function,
               const char* file, int line) {
  auto& reg = the_registry();
  std::lock_guard guard{reg.mtx};
  auto where = std::string{file} + ":" + std::to_string(line);
  auto [it, added] = reg.entries.try_emplace(
    std::string{name}, entry_record{invoke, invoke_batch, function, where});
  if (!added && it->second.function != function)
    reg.conflicts.push_back(
      "troupe: two entry points are named '" + std::string{name}
      + "': registered at " + it->second.where + " and at " + where
      + "; name one differently with TROUPE_ENTRY_AS(f, \"name\")");
  return true;
}

entry_invoker find_entry(std::string_view name) {
  auto& reg = the_registry();
  std::lock_guard guard{reg.mtx};
  auto it = reg.entries.find(name);
  return it == reg.entries.end() ? nullptr : it->second.invoke;
}

batch_invoker find_batch(std::string_view name) {
  auto& reg = the_registry();
  std::lock_guard guard{reg.mtx};
  auto it = reg.entries.find(name);
  return it == reg.entries.end() ? nullptr : it->second.invoke_batch;
}

void mark_entry_reached() noexcept {
  entry_reached.store(true);
}

} // namespace troupe::isolate::detail

namespace troupe::isolate {

namespace {

[[noreturn]] void unknown_entry(std::string_view name) {
  throw value_error("no entry point is registered as '" + std::string{name}
                    + "' in this program (TROUPE_ENTRY)");
}

} // namespace

std::string call_entry(std::string_view name,
                       const std::vector<std::string>& args) {
  auto* invoke = detail::find_entry(name);
  if (invoke == nullptr)
    unknown_entry(name);
  return invoke(args);
}

std::string call_batch(std::string_view name, std::string_view calls) {
  auto* invoke = detail::find_batch(name);
  if (invoke == nullptr)
    unknown_entry(name);
  return invoke(calls);
}

} // namespace troupe::isolate

namespace troupe {

bool is_os_process_child() noexcept {
  int fd = -1;
  long parent = 0;
  return !isolate::detail::entry_reached.load()
         && isolate::detail::parse_marker(fd, parent);
}

} // namespace troupe
