// Snapshots of supervision trees (a supervisor's, the whole runtime's) and
// their printing.

#include <mutex>
#include <ostream>
#include <sstream>
#include <utility>

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe {

supervision_tree detail::supervisor_core::tree(const process_state& self) {
  using kids_t
    = std::vector<std::pair<supervision_tree, std::shared_ptr<process_state>>>;
  auto [node, kids] = read<std::pair<supervision_tree, kids_t>>([this] {
    std::pair<supervision_tree, kids_t> result;
    std::lock_guard guard{mtx_};
    result.first.restarts = total_restarts_;
    for (auto& c : children_) {
      supervision_tree kid;
      kid.id = opts_.strategy == strategy::simple_one_for_one ? c->name
                                                              : c->spec->id;
      kid.name = c->name;
      kid.type = *c->spec->type;
      kid.state = c->state;
      kid.restarts = c->restarts;
      result.second.emplace_back(std::move(kid), c->st);
    }
    return result;
  });
  {
    std::lock_guard guard{self.mtx};
    node.name = self.name;
    node.pid = self.pid;
    node.state = self.ph == process_state::phase::running
                   ? child_state::running
                   : child_state::stopped;
  }
  node.id = node.name;
  node.type = child_type::supervisor;
  node.strategy = opts_.strategy;
  for (auto& [kid, st] : kids) {
    if (st) {
      if (st->as_supervisor) {
        auto sub = st->as_supervisor->tree(*st);
        sub.id = kid.id;
        sub.restarts = kid.restarts;
        kid = std::move(sub);
      } else {
        std::lock_guard guard{st->mtx};
        kid.pid = st->pid;
        kid.name = st->name;
      }
    }
    node.children.push_back(std::move(kid));
  }
  return node;
}

supervision_tree supervision_snapshot(runtime& rt) {
  supervision_tree root;
  root.id = "runtime";
  root.name = "MainProcess";
  root.pid = 1;
  root.type = child_type::supervisor;
  root.state = child_state::running;
  for (auto& st : rt.impl()->active()) {
    {
      std::lock_guard guard{st->mtx};
      if (!st->supervised_by.expired())
        continue; // shown under its supervisor
    }
    if (st->as_supervisor) {
      root.children.push_back(st->as_supervisor->tree(*st));
      continue;
    }
    supervision_tree node;
    {
      std::lock_guard guard{st->mtx};
      node.id = node.name = st->name;
      node.pid = st->pid;
    }
    node.type = child_type::worker;
    node.state = child_state::running;
    root.children.push_back(std::move(node));
  }
  return root;
}

// -- printing -----------------------------------------------------------------

const char* to_string(strategy s) {
  switch (s) {
    case strategy::one_for_one:
      return "one_for_one";
    case strategy::one_for_all:
      return "one_for_all";
    case strategy::rest_for_one:
      return "rest_for_one";
    case strategy::simple_one_for_one:
      return "simple_one_for_one";
  }
  return "?";
}

const char* to_string(child_state s) {
  switch (s) {
    case child_state::running:
      return "running";
    case child_state::restarting:
      return "restarting";
    case child_state::stopped:
      return "stopped";
  }
  return "?";
}

namespace {

void print_node(std::ostream& out, const supervision_tree& node,
                const std::string& lead, const std::string& branch) {
  out << branch
      << (node.type == child_type::supervisor ? "supervisor '" : "worker '")
      << node.id << '\'';
  if (node.name != node.id && !node.name.empty())
    out << " (" << node.name << ')';
  if (node.pid != 0 && node.state == child_state::running)
    out << " pid=" << node.pid;
  out << ' ' << to_string(node.state);
  if (node.strategy)
    out << ' ' << to_string(*node.strategy);
  out << " restarts=" << node.restarts << '\n';
  for (std::size_t i = 0; i < node.children.size(); ++i) {
    auto last = i + 1 == node.children.size();
    print_node(out, node.children[i], lead + (last ? "    " : "|   "),
               lead + (last ? "`-- " : "|-- "));
  }
}

} // namespace

std::ostream& operator<<(std::ostream& out, const supervision_tree& tree) {
  print_node(out, tree, "", "");
  return out;
}

std::string to_string(const supervision_tree& tree) {
  std::ostringstream out;
  out << tree;
  return out.str();
}

} // namespace troupe
