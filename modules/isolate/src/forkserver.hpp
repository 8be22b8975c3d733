#pragma once

// The forkserver start method: a zygote, forked from the program while it
// is still single-threaded (in the first runtime's constructor, before its
// actor system starts), forks each child. A child forked from it returns
// from the zygote into that runtime constructor and becomes the child
// there, without loading the program again.
//
// The zygote reports each child's end; it reaps one only when the parent
// says so, so that the child's process group id stays reserved until the
// parent stops signalling it.

#include <string>
#include <vector>

#include <sys/types.h>

namespace troupe::isolate::detail {

struct spawn_request;

/// Asks for a zygote at the next runtime construction
/// (`set_start_method(forkserver)`).
void request_zygote();

/// From the config hook: starts the zygote if one was requested, none
/// exists and this process is single-threaded. In a child forked by the
/// zygote, returns as that child.
void start_zygote_if_requested();

/// Whether a zygote serves this program; otherwise `why` says why not.
bool zygote_ready(std::string& why);

/// The zygote's socket, for the spawner's poll (-1 without a zygote).
int zygote_socket();

struct zygote_exit {
  pid_t pid = 0;
  int code = 0;
  int signal = 0;
};

/// Forks a child for `req` (spawner thread only): its pid and a pidfd.
/// Ends of other children that the zygote reports meanwhile are appended
/// to `exits`. Throws `std::system_error` when the zygote cannot.
std::pair<pid_t, int> zygote_fork(const spawn_request& req,
                                  std::vector<zygote_exit>& exits);

/// Reads what the zygote reported (spawner thread only).
std::vector<zygote_exit> zygote_read();

/// Lets the zygote reap `pid`, whose end was handled.
void zygote_release(pid_t pid);

} // namespace troupe::isolate::detail
