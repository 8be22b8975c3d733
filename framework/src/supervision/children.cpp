// A supervisor's children table: specs resolved on the way in, the
// children in start order with their indexes by id and uid, and the reads
// of it (which_children, count_children).

#include <utility>

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe::detail {

child_spec supervisor_core::resolve(child_spec spec) const {
  if (spec.id.empty())
    throw value_error("supervisor '" + opts_.name
                      + "': a child spec needs an id");
  auto bad = [&](const std::string& what) {
    throw value_error("supervisor '" + opts_.name + "': child '" + spec.id
                      + "' " + what);
  };
  if (!spec.start)
    bad("has no start");
  if (spec.shutdown && spec.shutdown->grace().count() < 0)
    bad("has an invalid shutdown of "
        + std::to_string(spec.shutdown->grace().count())
        + " ms (a grace is 0 or more; 0 is brutal_kill)");
  if (spec.significant && spec.restart == restart::permanent)
    bad("is significant and permanent: only a transient or temporary "
        "child can be significant (a permanent one never ends for good)");
  if (spec.significant && opts_.auto_shutdown == auto_shutdown::never)
    bad("is significant, but the supervisor's auto_shutdown is never");
  if (!spec.type)
    spec.type = spec.start.type();
  if (!spec.shutdown)
    spec.shutdown = *spec.type == child_type::supervisor
                      ? shutdown_spec::infinity()
                      : shutdown_spec{std::chrono::seconds{5}};
  return spec;
}

// -- finding ------------------------------------------------------------------

supervisor_core::child* supervisor_core::find(const std::string& id) const {
  auto i = by_id_.find(id);
  return i == by_id_.end() ? nullptr : i->second;
}

/// The child whose running instance, or instance that ended while it
/// restarts, is `st`: found through the uid its start left in `st`.
supervisor_core::child*
supervisor_core::find(const std::shared_ptr<process_state>& st) const {
  if (!st)
    return nullptr;
  std::uint64_t uid = 0;
  {
    std::lock_guard guard{st->mtx};
    if (st->supervised_by.lock().get() != this)
      return nullptr;
    uid = st->child_uid;
  }
  auto* c = find(uid);
  return c != nullptr && (c->st == st || c->ended == st) ? c : nullptr;
}

supervisor_core::child* supervisor_core::find(std::uint64_t uid) const {
  auto i = by_uid_.find(uid);
  return i == by_uid_.end() ? nullptr : i->second;
}

supervisor_core::child& supervisor_core::require(const std::string& id) const {
  if (auto* c = find(id))
    return *c;
  throw supervisor_error(supervisor_errc::not_found, "supervisor '" + opts_.name
                                                       + "' has no child '" + id
                                                       + "'");
}

// -- adding and removing ------------------------------------------------------

/// Appends `c` to the children (last in start order) and indexes it.
supervisor_core::child& supervisor_core::add(std::unique_ptr<child> c) {
  auto& ref = *c;
  std::lock_guard guard{mtx_};
  ref.pos = children_.insert(children_.end(), std::move(c));
  by_uid_.emplace(ref.uid, &ref);
  if (!template_)
    by_id_.emplace(ref.spec->id, &ref);
  return ref;
}

void supervisor_core::remove(std::uint64_t uid) {
  std::unique_ptr<child> gone; // freed outside the lock
  std::lock_guard guard{mtx_};
  auto i = by_uid_.find(uid);
  if (i == by_uid_.end())
    return;
  auto* c = i->second;
  by_uid_.erase(i);
  if (!template_)
    by_id_.erase(c->spec->id);
  gone = std::move(*c->pos);
  children_.erase(c->pos);
}

// -- reading ------------------------------------------------------------------

std::vector<child_info> supervisor_core::which_children() {
  return read<std::vector<child_info>>([this] { return children_now(); });
}

child_counts supervisor_core::count_children() {
  return read<child_counts>([this] { return counts_now(); });
}

std::vector<child_info> supervisor_core::children_now() const {
  std::lock_guard guard{mtx_};
  std::vector<child_info> result;
  result.reserve(children_.size());
  for (auto& c : children_) {
    child_info info{c->spec->id, std::nullopt, *c->spec->type, c->state,
                    c->restarts};
    if (opts_.strategy == strategy::simple_one_for_one)
      info.id = c->name;
    if (c->st)
      info.handle = process_access::make(c->st);
    result.push_back(std::move(info));
  }
  return result;
}

child_counts supervisor_core::counts_now() const {
  std::lock_guard guard{mtx_};
  child_counts n;
  if (template_) {
    // As OTP's: the template is the one spec; every child (running or
    // restarting) counts by the template's type.
    n.specs = 1;
    for (auto& c : children_)
      if (c->st)
        ++n.active;
    (*template_->type == child_type::supervisor ? n.supervisors : n.workers)
      = children_.size();
    return n;
  }
  n.specs = children_.size();
  for (auto& c : children_) {
    if (c->st)
      ++n.active;
    if (*c->spec->type == child_type::supervisor)
      ++n.supervisors;
    else
      ++n.workers;
  }
  return n;
}

// -- stops from outside the loop ----------------------------------------------

bool supervisor_core::route_terminate(
  const std::shared_ptr<process_state>& st) {
  std::weak_ptr<process_state> weak = st;
  return post(command{[this, weak] {
                        if (auto target = weak.lock())
                          if (auto* c = find(target))
                            end_child_soon(*c);
                      },
                      [] {}});
}

void supervisor_core::kill_children(const std::string& why) {
  std::vector<std::shared_ptr<process_state>> running;
  {
    std::lock_guard guard{mtx_};
    for (auto& c : children_)
      if (c->st)
        running.push_back(c->st);
  }
  for (auto i = running.rbegin(); i != running.rend(); ++i)
    kill_process(*i, "killed: " + why);
}

bool route_terminate(const std::shared_ptr<supervisor_core>& sup,
                     const std::shared_ptr<process_state>& child) {
  return sup->route_terminate(child);
}

} // namespace troupe::detail
