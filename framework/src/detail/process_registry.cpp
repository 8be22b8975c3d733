#include "detail/process_registry.hpp"

#include <algorithm>

#include "troupe/error.hpp"

namespace troupe::detail {

process_registry::~process_registry() {
  // Break the self-references of whatever is still registered (only after
  // an abandoned shutdown), so the states can go.
  for (auto& sh : shards_) {
    std::lock_guard guard{sh.mtx};
    for (auto* st = sh.head; st != nullptr;) {
      auto* next = st->reg_next;
      st->reg_prev = st->reg_next = nullptr;
      auto keep = std::move(st->reg_self);
      st = next;
    }
    sh.head = nullptr;
  }
}

pid_type process_registry::admit(const std::shared_ptr<process_state>& st) {
  auto pid = next_pid_.fetch_add(1, std::memory_order_relaxed);
  auto& sh = shard_of(pid);
  std::lock_guard guard{sh.mtx};
  if (closed_.load())
    throw state_error("the troupe runtime is shutting down; it starts no "
                      "more processes");
  st->reg_prev = nullptr;
  st->reg_next = sh.head;
  if (sh.head != nullptr)
    sh.head->reg_prev = st.get();
  sh.head = st.get();
  st->reg_self = st;
  st->reg_pid = pid;
  return pid;
}

void process_registry::retire(process_state& st, pid_type pid) {
  std::shared_ptr<process_state> keep; // released after the lock
  {
    auto& sh = shard_of(pid);
    std::lock_guard guard{sh.mtx};
    if (!st.reg_self)
      return;
    if (st.reg_prev != nullptr)
      st.reg_prev->reg_next = st.reg_next;
    else
      sh.head = st.reg_next;
    if (st.reg_next != nullptr)
      st.reg_next->reg_prev = st.reg_prev;
    st.reg_prev = st.reg_next = nullptr;
    keep = std::move(st.reg_self);
  }
  if (watched_.load()) {
    std::lock_guard guard{watch_mtx_};
    ++epoch_;
    watch_cv_.notify_all();
  }
}

void process_registry::close() {
  closed_ = true;
  // An admit that checked `closed_` before we set it holds its shard's lock
  // until it has linked; passing every lock once waits for those.
  for (auto& sh : shards_)
    std::lock_guard guard{sh.mtx};
}

std::vector<std::shared_ptr<process_state>> process_registry::active() const {
  std::vector<std::pair<pid_type, std::shared_ptr<process_state>>> found;
  for (auto& sh : shards_) {
    std::lock_guard guard{sh.mtx};
    for (auto* st = sh.head; st != nullptr; st = st->reg_next)
      found.emplace_back(st->reg_pid, st->reg_self);
  }
  std::sort(found.begin(), found.end(),
            [](auto& x, auto& y) { return x.first < y.first; });
  std::vector<std::shared_ptr<process_state>> result;
  result.reserve(found.size());
  for (auto& entry : found)
    result.push_back(std::move(entry.second));
  return result;
}

} // namespace troupe::detail
