// Module hooks into runtime construction (troupe/ext/runtime_hooks.hpp).

#include "troupe/ext/runtime_hooks.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "detail/runtime_impl.hpp"

namespace troupe {

namespace {

struct hook_lists {
  std::mutex mtx;
  std::vector<ext::config_hook> config;
  std::vector<ext::start_hook> start;
  std::vector<ext::shutdown_hook> shutdown;
};

hook_lists& hooks() {
  static hook_lists lists; // registered from other static initializers
  return lists;
}

template <class Hook>
void add_once(std::vector<Hook>& list, Hook hook) {
  if (hook != nullptr
      && std::find(list.begin(), list.end(), hook) == list.end())
    list.push_back(hook);
}

template <class Hook>
std::vector<Hook> copy_of(const std::vector<Hook>& list) {
  std::lock_guard guard{hooks().mtx};
  return list;
}

} // namespace

namespace ext {

void add_config_hook(config_hook hook) {
  std::lock_guard guard{hooks().mtx};
  add_once(hooks().config, hook);
}

void add_start_hook(start_hook hook) {
  std::lock_guard guard{hooks().mtx};
  add_once(hooks().start, hook);
}

void add_shutdown_hook(shutdown_hook hook) {
  std::lock_guard guard{hooks().mtx};
  add_once(hooks().shutdown, hook);
}

} // namespace ext

namespace detail {

void run_config_hooks(caf::actor_system_config& cfg) {
  for (auto hook : copy_of(hooks().config))
    hook(cfg);
}

void run_start_hooks(runtime& rt) {
  for (auto hook : copy_of(hooks().start))
    hook(rt);
}

void run_shutdown_hooks(caf::actor_system& sys) {
  for (auto hook : copy_of(hooks().shutdown))
    hook(sys);
}

} // namespace detail

} // namespace troupe
