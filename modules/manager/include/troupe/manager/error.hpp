#pragma once

#include <troupe/error.hpp>

namespace troupe {

/// A proxy call could not reach its manager: it was restarting for longer
/// than the manager's `call_timeout`, it was shut down, or its supervisor
/// gave up restarting it. The message says which. A call that throws this
/// was not applied (a durable write that was applied but not yet on disk
/// says so in the message).
class manager_unavailable : public error {
public:
  using error::error;
};

/// A dict proxy's `get(key)` or `erase`-like call found no such key
/// (Python's `KeyError`).
class key_error : public error {
public:
  using error::error;
};

/// A list proxy's index is out of range, or `pop()` found the list empty
/// (Python's `IndexError`).
class index_error : public error {
public:
  using error::error;
};

} // namespace troupe
