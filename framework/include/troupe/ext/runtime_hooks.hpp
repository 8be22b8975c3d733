#pragma once

/// Hooks into every runtime's construction and shutdown, for modules that
/// must act before anything else runs — load a CAF module (the middleman)
/// before the actor system starts, or take over the program when it was
/// started as a worker (an OS-process child runs its entry point from the
/// runtime's constructor and never returns to `main`) — or after
/// everything else ended (wait until child OS processes are gone).

namespace caf {
class actor_system;
class actor_system_config;
} // namespace caf

namespace troupe {
class runtime;
} // namespace troupe

namespace troupe::ext {

/// Called with a runtime's CAF configuration after the command line was
/// parsed and before its actor system starts.
using config_hook = void (*)(caf::actor_system_config& cfg);

/// Called at the end of a runtime's constructor, on the constructing
/// thread (the main process), before the constructor returns. What it
/// throws leaves the constructor.
using start_hook = void (*)(runtime& rt);

/// Called during a runtime's shutdown once all of its processes have ended
/// (finished, or declared killed), before its actor system stops: for a
/// module to wait until what it runs outside this process is really gone.
/// It must return in bounded time (the shutdown never hangs forever).
using shutdown_hook = void (*)(caf::actor_system& sys);

/// Registers a hook for every runtime constructed afterwards, typically
/// from a module's static initializer; registering the same hook again does
/// nothing. Thread-safe.
void add_config_hook(config_hook hook);

/// As `add_config_hook`.
void add_start_hook(start_hook hook);

/// As `add_config_hook`.
void add_shutdown_hook(shutdown_hook hook);

} // namespace troupe::ext
