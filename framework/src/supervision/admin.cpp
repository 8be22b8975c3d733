// OTP's administrative calls, run on the supervisor's thread (the facade
// sends them there): start_child, terminate_child, restart_child,
// delete_child, with OTP's results as supervisor_error codes.

#include <exception>
#include <utility>

#include "troupe/ext/describe.hpp"

#include "detail/runtime_impl.hpp"
#include "supervision/supervisor_core.hpp"

namespace troupe::detail {

process supervisor_core::start_child(child_spec spec) {
  if (opts_.strategy == strategy::simple_one_for_one)
    throw supervisor_error(supervisor_errc::simple_one_for_one,
                           "supervisor '" + opts_.name
                             + "': a simple_one_for_one supervisor starts "
                               "children with start_child(args...)");
  auto resolved = resolve(std::move(spec));
  if (auto* existing = find(resolved.id)) {
    if (existing->state == child_state::running)
      throw supervisor_error(supervisor_errc::already_started,
                             "supervisor '" + opts_.name + "': child '"
                               + resolved.id + "' is already started (pid "
                               + std::to_string(pid_of(*existing)) + ")");
    throw supervisor_error(supervisor_errc::already_present,
                           "supervisor '" + opts_.name + "': child '"
                             + resolved.id + "' is already present");
  }
  auto c = std::make_unique<child>();
  c->spec = std::make_shared<const child_spec>(std::move(resolved));
  c->uid = ++uid_counter_;
  c->name = c->spec->id;
  auto& ref = add(std::move(c));
  try {
    start_one(ref);
  } catch (...) {
    auto why = ext::describe_current_exception();
    auto id = ref.spec->id;
    remove(ref.uid);
    rethrow_start_failure(id, why);
  }
  return detail::process_access::make(ref.st);
}

process supervisor_core::start_child_with(std::any extra) {
  if (opts_.strategy != strategy::simple_one_for_one)
    throw supervisor_error(supervisor_errc::not_simple,
                           "supervisor '" + opts_.name
                             + "': start_child(args...) needs a "
                               "simple_one_for_one supervisor; pass a "
                               "child_spec");
  auto c = std::make_unique<child>();
  c->spec = template_; // shared: only the extra arguments are the child's
  c->uid = ++uid_counter_;
  c->name = template_->id + "-" + std::to_string(++simple_counter_);
  c->extra = std::make_shared<const std::any>(std::move(extra));
  auto& ref = add(std::move(c));
  try {
    start_one(ref);
  } catch (const value_error&) {
    remove(ref.uid); // the extra arguments do not fit the template
    throw;
  } catch (...) {
    auto why = ext::describe_current_exception();
    auto name = ref.name;
    remove(ref.uid);
    rethrow_start_failure(name, why);
  }
  return detail::process_access::make(ref.st);
}

void supervisor_core::terminate_child(const std::string& id) {
  no_simple("terminate_child(id)", "terminate_child(handle)");
  auto& c = require(id);
  end_child(c);
}

void supervisor_core::terminate_child(
  const std::shared_ptr<process_state>& st) {
  auto* c = find(st);
  if (c == nullptr)
    throw supervisor_error(supervisor_errc::not_found,
                           "supervisor '" + opts_.name
                             + "': the process is not one of its running "
                               "or restarting children");
  end_child(*c);
}

process supervisor_core::restart_child(const std::string& id) {
  no_simple("restart_child", "start_child(args...)");
  auto& c = require(id);
  busy_check(c, "restart");
  try {
    start_one(c);
  } catch (...) {
    rethrow_start_failure(id, ext::describe_current_exception());
  }
  return detail::process_access::make(c.st);
}

void supervisor_core::delete_child(const std::string& id) {
  no_simple("delete_child", "terminate_child(handle)");
  auto& c = require(id);
  busy_check(c, "delete");
  remove(c.uid);
}

// -- errors -------------------------------------------------------------------

supervisor_error supervisor_core::not_running_error() const {
  return supervisor_error(supervisor_errc::not_running,
                          "supervisor '" + opts_.name + "' is not running");
}

void supervisor_core::rethrow_start_failure(const std::string& id,
                                            const std::string& why) const {
  throw supervisor_error(supervisor_errc::start_failed,
                         "supervisor '" + opts_.name
                           + "' could not start child '" + id + "': " + why);
}

void supervisor_core::no_simple(const char* call, const char* instead) const {
  if (opts_.strategy == strategy::simple_one_for_one)
    throw supervisor_error(supervisor_errc::simple_one_for_one,
                           "supervisor '" + opts_.name + "': " + call
                             + " is not available for simple_one_for_one; "
                               "use "
                             + instead);
}

void supervisor_core::busy_check(const child& c, const char* what) const {
  if (c.state == child_state::running)
    throw supervisor_error(supervisor_errc::running,
                           "supervisor '" + opts_.name + "': cannot " + what
                             + " child '" + c.spec->id
                             + "' while it is running");
  if (c.state == child_state::restarting)
    throw supervisor_error(supervisor_errc::restarting,
                           "supervisor '" + opts_.name + "': cannot " + what
                             + " child '" + c.spec->id
                             + "' while it is restarting");
}

} // namespace troupe::detail
