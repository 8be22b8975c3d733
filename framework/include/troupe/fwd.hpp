#pragma once

#include <cstdint>

namespace troupe {

class runtime;
class process;
class actor;
struct process_options;
struct runtime_options;

/// A process's id: unique within its runtime and stable for its lifetime
/// (the main process is 1). Zero means "not started" (Python's `None`).
using pid_type = std::uint64_t;

namespace ext {

struct exit_info;
class stop_callback;

} // namespace ext

namespace detail {

class runtime_impl;
class process_state;
struct process_access;
class process_actor;

} // namespace detail

} // namespace troupe
