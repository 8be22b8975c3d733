// A supervisor's events: the ring of the last `max_events`, the report of
// each (on_event, or stderr by default) and their one-line form.

#include <iostream>
#include <ostream>
#include <sstream>

#include "troupe/ext/describe.hpp"

#include "supervision/supervisor_core.hpp"

namespace troupe {

namespace detail {

supervisor_event& supervisor_core::next_event(supervisor_event::kind what,
                                              const child& c) {
  supervisor_event* slot = nullptr;
  if (events_.size() < max_events) {
    slot = &events_.emplace_back();
  } else {
    slot = &events_[events_head_];
    events_head_ = (events_head_ + 1) % max_events;
  }
  auto& ev = *slot;
  ev.what = what;
  ev.supervisor.assign(opts_.name);
  ev.child.assign(opts_.strategy == strategy::simple_one_for_one ? c.name
                                                                 : c.spec->id);
  ev.pid = pid_of(c);
  ev.exitcode.reset();
  ev.reason.clear();
  ev.restarts = c.restarts;
  ev.delay = milliseconds{0};
  ev.when = std::chrono::system_clock::now();
  return ev;
}

void supervisor_core::report(const supervisor_event& ev) {
  if (opts_.on_event) {
    try {
      opts_.on_event(ev);
    } catch (...) {
      std::cerr << "troupe: supervisor '" + opts_.name + "': on_event threw: "
                     + ext::describe_current_exception() + "\n";
    }
    return;
  }
  if (ev.what == supervisor_event::kind::restarted)
    return; // the default report names failures, not recoveries
  std::ostringstream line;
  line << "troupe: " << ev << '\n';
  std::cerr << line.str();
}

std::vector<supervisor_event> supervisor_core::events() {
  return read<std::vector<supervisor_event>>([this] {
    std::lock_guard guard{mtx_};
    auto head = events_.begin() + static_cast<std::ptrdiff_t>(events_head_);
    std::vector<supervisor_event> out;
    out.reserve(events_.size());
    out.insert(out.end(), head, events_.end());
    out.insert(out.end(), events_.begin(), head);
    return out;
  });
}

int supervisor_core::restarts() {
  return read<int>([this] {
    std::lock_guard guard{mtx_};
    return total_restarts_;
  });
}

} // namespace detail

std::ostream& operator<<(std::ostream& out, const supervisor_event& ev) {
  out << ev.supervisor << ": child '" << ev.child << '\'';
  if (ev.pid != 0)
    out << " (pid " << ev.pid << ')';
  using kind = supervisor_event::kind;
  switch (ev.what) {
    case kind::child_exited:
      out << " exited";
      if (ev.exitcode)
        out << " with code " << *ev.exitcode;
      if (!ev.reason.empty())
        out << ": " << ev.reason;
      break;
    case kind::restarting:
      out << " restarting";
      if (ev.delay.count() > 0)
        out << " in " << ev.delay.count() << " ms";
      out << " (restarts so far: " << ev.restarts << ')';
      break;
    case kind::restarted:
      out << " restarted (restart " << ev.restarts << ')';
      break;
    case kind::start_failed:
      out << " could not start: " << ev.reason;
      break;
    case kind::intensity_exceeded:
      out << " failed once too often: " << ev.reason;
      break;
  }
  return out;
}

} // namespace troupe
