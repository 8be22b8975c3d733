// Which process the calling thread runs, for the framework's own files:
// binding a thread to a process, its mailbox, the default runtime.

#pragma once

#include <memory>

#include <caf/fwd.hpp>

#include "troupe/fwd.hpp"

namespace troupe::detail {

/// Binds the calling thread to a process for the lifetime of this object.
class current_scope {
public:
  current_scope(process_state* st, caf::blocking_actor* self);
  ~current_scope();

  current_scope(const current_scope&) = delete;
  current_scope& operator=(const current_scope&) = delete;

private:
  process_state* prev_state_;
  caf::blocking_actor* prev_self_;
};

/// Forgets the sender `this_process::sender()` returns on this thread
/// (defined in this_process.cpp, with that sender).
void clear_last_sender() noexcept;

/// The mailbox owner of the calling thread (null if none).
caf::blocking_actor* current_self() noexcept;

/// Makes `rt` the fallback for threads troupe does not know (or clears it).
void set_default_runtime(const std::shared_ptr<runtime_impl>& rt);
void clear_default_runtime(const runtime_impl* rt);

} // namespace troupe::detail
