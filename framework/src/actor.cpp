#include "troupe/actor.hpp"

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "detail/runtime_impl.hpp"

namespace troupe::detail {

namespace {

/// `caf::to_string(rsn)`, without CAF's stringification inspector for the
/// errors actors usually end with: a `sec` or `exit_reason` code with no
/// context. Same text ("system_error(runtime_error)"), through far less
/// code: on the restart path that code is rarely in cache.
std::string describe(const caf::error& rsn) {
  auto named = [](const char* category, std::string code) {
    std::string out;
    out.reserve(std::char_traits<char>::length(category) + code.size() + 2);
    out += category;
    out += '(';
    out += code;
    out += ')';
    return out;
  };
  if (rsn.context().empty()) {
    if (rsn.category() == caf::atom("system"))
      return named("system_error",
                   caf::to_string(static_cast<caf::sec>(rsn.code())));
    if (rsn.category() == caf::atom("exit"))
      return named("exit_reason",
                   caf::to_string(static_cast<caf::exit_reason>(rsn.code())));
  }
  return caf::to_string(rsn);
}

/// Whether `rsn` is the exit reason `x`. CAF's `rsn == x` builds an error
/// from `x` first, a heap allocation per comparison.
bool is(const caf::error& rsn, caf::exit_reason x) {
  return rsn.category() == caf::atom("exit")
         && rsn.code() == static_cast<std::uint8_t>(x);
}

/// Python-style exit code and a reason for people from a CAF exit reason.
std::pair<int, std::string> exit_of(const caf::error& rsn, int stop_signal) {
  if (!rsn)
    return stop_signal == 0
             ? std::pair{0, std::string{}}
             : std::pair{
               -stop_signal,
               std::string{stop_signal == 9 ? "killed" : "terminated"}};
  if (is(rsn, caf::exit_reason::user_shutdown))
    return {-15, "terminated"};
  if (is(rsn, caf::exit_reason::kill))
    return {-9, "killed"};
  if (is(rsn, caf::exit_reason::unhandled_exception))
    return {1, "unhandled exception"};
  return {1, describe(rsn)};
}

} // namespace

std::shared_ptr<process_state> prepare_actor(runtime& rt,
                                             process_options opts) {
  auto& impl = rt.impl();
  auto name
    = opts.name.empty() ? impl->next_actor_name() : std::move(opts.name);
  auto parent = spawning_parent();
  auto st = std::allocate_shared<process_state>(
    pool_allocator<process_state>{}, impl, process_state::kind::event_based,
    std::move(name), inherited_daemon(opts, parent.get()),
    opts.terminate_grace.value_or(impl->options().terminate_grace));
  st->parent = std::move(parent);
  if (starting_supervised_child())
    st->in_tree = true;
  auto pid = impl->admit(st);
  std::lock_guard guard{st->mtx};
  st->pid = pid;
  st->ph = process_state::phase::running;
  return st;
}

void actor_ended(process_state& st, const caf::error& rsn) {
  auto [code, why] = exit_of(rsn, st.stop_signal.load());
  st.finish(code, std::move(why));
}

actor bind_actor(std::shared_ptr<process_state> st, caf::actor hdl,
                 bool tracked) {
  {
    std::lock_guard guard{st->mtx};
    // While it runs; `finish` drops it (an ended actor (tracked) may have
    // finished already).
    if (st->ph != process_state::phase::ended)
      st->hdl = hdl;
    st->body = hdl.address();
  }
  if (!tracked)
    hdl->attach_functor([st](const caf::error& rsn) { actor_ended(*st, rsn); });
  // A stop requested before the handle existed (e.g. by a shutdown).
  if (auto sig = st->stop_signal.load(); sig != 0)
    caf::anon_send_exit(hdl, sig == 9 ? caf::exit_reason::kill
                                      : caf::exit_reason::user_shutdown);
  return process_access::make<actor>(std::move(st));
}

} // namespace troupe::detail
