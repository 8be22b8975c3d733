#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <troupe/serialization/durable_store.hpp>
#include <troupe/supervisor.hpp>

namespace troupe {

// The deprecated members must not warn in every copy of the options (GCC 12
// reports the implicit special members' use of them); clang still warns
// where a program names them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/// Settings of a `manager`, with designated initializers:
/// `troupe::manager mgr{rt, {.state_path = "shop.state"}}`.
struct manager_options {
  /// Shown in errors and as the supervisor's name; the state actor is its
  /// child `<name>.state`. Empty picks `Manager-N`.
  std::string name{};

  /// Empty: the state lives in memory (it survives crashes of the state
  /// actor, not the end of the runtime). Otherwise the file the state is
  /// kept in (a snapshot plus a journal, see docs/manager.md): every
  /// acknowledged write survives a crash of the manager and the end of the
  /// program, and a manager opening the same path gets the state back.
  std::filesystem::path state_path{};

  /// What a state file that cannot be read does: `refuse` (the
  /// constructor throws `serialization::state_file_error` naming the file
  /// and what is wrong) or `start_empty` (the bad file is kept aside,
  /// `manager::warning()` says where, and the manager starts empty).
  serialization::on_corrupt on_corrupt = serialization::on_corrupt::refuse;

  /// Journal records after which the manager writes a fresh snapshot.
  std::size_t compact_after = 10000;

  /// How long a proxy call waits for a manager that does not answer
  /// (restarting, overloaded) before it throws `manager_unavailable`.
  std::chrono::milliseconds call_timeout{std::chrono::seconds{10}};

  /// The supervisor's restart limit: at most `intensity` restarts of the
  /// state actor within `period`; one more and it gives up (calls then
  /// throw `manager_unavailable` at once).
  restart_limit restarts{.intensity = 10, .period = std::chrono::seconds{10}};

  /// Deprecated spellings of `restarts` (troupe 0.1): when given, they
  /// take the place of the field they name.
  [[deprecated(
    "use .restarts = {.intensity = n, .period = t}")]] std::optional<int>
    restart_intensity{};
  [[deprecated("use .restarts = {.intensity = n, .period = t}")]] std::optional<
    std::chrono::milliseconds>
    restart_period{};

  /// Restart with backoff instead of at once.
  std::optional<backoff_options> backoff{};

  /// The supervisor's events (crashes and restarts of the state actor);
  /// empty prints them to stderr.
  std::function<void(const supervisor_event&)> on_event{};
};

#pragma GCC diagnostic pop

} // namespace troupe

namespace troupe::managed {

/// Settings of one managed object: `mgr.dict<std::string, int>({.name =
/// "stock"})`.
struct object_options {
  /// Empty: a new object named `<kind>-N` (N counts per manager, so a
  /// program that creates its objects in the same order finds its durable
  /// state again). A name that exists opens that object (its type must
  /// match); initial contents apply only when the object is created.
  std::string name{};
};

} // namespace troupe::managed
