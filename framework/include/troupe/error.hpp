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

/// A put found a bounded channel full and could not wait (Python's
/// `queue.Full`): `put_nowait`, a timed `put`, or `overflow::fail`.
class full : public error {
public:
  using error::error;
};

/// A get found a channel empty and could not wait (Python's
/// `queue.Empty`): `get_nowait`, or a timed `get` that ran out of time.
class empty : public error {
public:
  using error::error;
};

/// The channel, or its peer, is closed (Python's `ValueError` after
/// `close()`, `EOFError` and `BrokenPipeError`): a put or send after close,
/// or a get or recv once a closed channel is drained.
class closed : public error {
public:
  using error::error;
};

/// A `barrier` was broken (Python's `BrokenBarrierError`): a waiter timed
/// out, `abort()` or `reset()` was called, the action threw, or a party
/// ended while others waited. Every waiter of that round gets it, and later
/// waits too until `reset()`. The message says what broke it.
class broken_barrier : public error {
public:
  using error::error;
};

/// A blocking acquire would wait forever: it closes a cycle of processes
/// each waiting for a troupe lock another one of them holds (or acquires a
/// non-recursive lock the caller already holds). The message names every
/// process and lock in the cycle; the call throws instead of hanging.
class deadlock_error : public error {
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
