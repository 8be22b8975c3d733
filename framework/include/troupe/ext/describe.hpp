#pragma once

/// How troupe names an exception in an exit reason, a log line or an error
/// message: "<its dynamic type, demangled>: <what()>", e.g.
/// "std::runtime_error: disk full". A process's `exit_reason()` after an
/// uncaught exception, a supervisor's report of a failed start, a pool's
/// failed task and a manager's failed call all say it this way; a module
/// that reports an exception uses the same words.

#include <exception>
#include <string>
#include <typeinfo>

namespace troupe::ext {

/// "<type>: <what>" for `e`, with its dynamic type demangled. Does not
/// throw beyond `std::bad_alloc`. Thread-safe; the names of recently seen
/// types are cached (a failing process keeps failing with the same few).
[[nodiscard]] std::string describe_exception(const std::exception& e);

/// As above for the exception `e` holds; "an exception of unknown type" for
/// one not derived from `std::exception`, "no exception" for a null `e`.
[[nodiscard]] std::string describe_exception(const std::exception_ptr& e);

/// As above for the exception being handled: call it inside a `catch`
/// block. "no exception" outside of one.
[[nodiscard]] std::string describe_current_exception();

/// The demangled name of `type`, e.g. "std::runtime_error"; its mangled
/// name when it cannot be demangled. Thread-safe and cached as above.
[[nodiscard]] std::string type_name(const std::type_info& type);

} // namespace troupe::ext
