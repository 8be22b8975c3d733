// Which process the calling thread runs: the thread-local binding
// (current_scope), the parent of what it creates, and the default runtime.

#include "detail/current.hpp"

#include <memory>
#include <mutex>
#include <utility>

#include "troupe/detail/process_state.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe::detail {

// -- thread-local identity ----------------------------------------------------

namespace {

thread_local process_state* tl_state = nullptr;
thread_local caf::blocking_actor* tl_self = nullptr;
thread_local bool tl_starting_child = false;
thread_local process_state* tl_parent = nullptr;

std::mutex default_mtx;
std::weak_ptr<runtime_impl> default_rt;

} // namespace

current_scope::current_scope(process_state* st, caf::blocking_actor* self)
  : prev_state_(tl_state), prev_self_(tl_self) {
  tl_state = st;
  tl_self = self;
}

current_scope::~current_scope() {
  clear_last_sender();
  tl_state = prev_state_;
  tl_self = prev_self_;
}

caf::blocking_actor* current_self() noexcept {
  return tl_self;
}

process_state* current_state_ptr() noexcept {
  return tl_state;
}

bool& starting_supervised_child() noexcept {
  return tl_starting_child;
}

parent_scope::parent_scope(process_state* parent) noexcept
  : prev_(std::exchange(tl_parent, parent)) {}

parent_scope::~parent_scope() {
  tl_parent = prev_;
}

std::shared_ptr<process_state> spawning_parent() {
  if (tl_parent != nullptr)
    return tl_parent->shared_from_this();
  return current_state();
}

void set_default_runtime(const std::shared_ptr<runtime_impl>& rt) {
  std::lock_guard guard{default_mtx};
  if (default_rt.expired())
    default_rt = rt;
}

void clear_default_runtime(const runtime_impl* rt) {
  std::lock_guard guard{default_mtx};
  if (default_rt.lock().get() == rt)
    default_rt.reset();
}

std::shared_ptr<process_state> current_state() {
  if (tl_state != nullptr)
    return tl_state->shared_from_this();
  std::lock_guard guard{default_mtx};
  if (auto rt = default_rt.lock())
    return rt->main_state();
  return nullptr;
}

} // namespace troupe::detail
