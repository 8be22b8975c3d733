#pragma once

#include <stdexcept>
#include <string>

namespace troupe {

/// Base of every exception troupe throws. The message says what went wrong
/// and, where it helps, what to do about it.
class error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A value or a call is not acceptable (Python's `ValueError`), e.g. a
/// negative timeout.
class value_error : public error {
public:
  using error::error;
};

/// An operation is not valid in the object's current state (Python raises
/// `AssertionError` or `ValueError` for these), e.g. `start()` twice,
/// `join()` before `start()`, or a process joining itself.
class state_error : public error {
public:
  using error::error;
};

/// A blocking call ran out of time where the API reports that by throwing.
class timeout_error : public error {
public:
  using error::error;
};

/// Thrown inside a process by blocking troupe calls and by
/// `this_process::checkpoint()` after the process was asked to stop
/// (`terminate()`, `kill()`, or a stop from its supervisor). Let it
/// propagate: RAII unwinds and the process ends with exit code -15.
class terminated : public error {
public:
  using error::error;
};

} // namespace troupe
