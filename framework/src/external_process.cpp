// A process whose body runs outside this OS process (see
// troupe/ext/external_process.hpp).

#include "troupe/ext/external_process.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <caf/actor.hpp>

#include "troupe/detail/block_pool.hpp"
#include "troupe/detail/process_state.hpp"
#include "troupe/runtime.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe::ext {

namespace {

using detail::process_state;

std::shared_ptr<process_state> make_state(runtime& rt, process_options& opts,
                                          external_process::stop_fn stop) {
  auto& impl = rt.impl();
  auto name
    = opts.name.empty() ? impl->next_process_name() : std::move(opts.name);
  auto parent = detail::spawning_parent();
  auto st = std::allocate_shared<process_state>(
    detail::pool_allocator<process_state>{}, impl,
    process_state::kind::external, std::move(name),
    detail::inherited_daemon(opts, parent.get()),
    opts.terminate_grace.value_or(impl->options().terminate_grace));
  st->parent = std::move(parent);
  st->external_stop = std::move(stop);
  st->thread_done = true; // no thread of ours runs it
  {
    std::lock_guard guard{st->mtx};
    st->ph = process_state::phase::running;
  }
  if (detail::starting_supervised_child())
    st->in_tree = true;
  auto pid = st->rt->admit(st); // throws once the runtime shuts down
  std::lock_guard guard{st->mtx};
  st->pid = pid;
  return st;
}

} // namespace

external_process::external_process(runtime& rt, process_options opts,
                                   stop_fn stop)
  : handle_(
    detail::process_access::make(make_state(rt, opts, std::move(stop)))) {}

void external_process::set_mailbox(caf::actor mailbox) const {
  auto& st = *detail::process_access::state(handle_);
  std::lock_guard guard{st.mtx};
  if (st.ph == process_state::phase::running)
    st.hdl = std::move(mailbox);
}

void external_process::mark_ready() const {
  detail::process_access::state(handle_)->mark_ready();
}

bool external_process::finish(int exitcode, std::string reason) const {
  return detail::process_access::state(handle_)->finish(exitcode,
                                                        std::move(reason));
}

} // namespace troupe::ext
