#pragma once

// The one long-lived thread that starts child OS processes and reaps them.
//
// Starting from one thread matters: PR_SET_PDEATHSIG, which ends a child
// when its parent dies, follows the *thread* that spawned it, so a child
// started by a troupe process thread that then ended would be killed
// while the program lives. The same thread waits on every child's pidfd
// (no global SIGCHLD handler, no wait on a recycled pid) and reports each
// end.

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace troupe::isolate::detail {

/// One child OS process, from its start until it was reaped.
class child_proc {
public:
  /// `via_zygote`: forked by the forkserver's zygote, which reports its
  /// end (and reaps it when told); otherwise a child of this process.
  child_proc(pid_t pid, int pidfd, bool via_zygote = false)
    : pid_(pid), pidfd_(pidfd), via_zygote_(via_zygote) {}
  ~child_proc();

  child_proc(const child_proc&) = delete;
  child_proc& operator=(const child_proc&) = delete;

  [[nodiscard]] pid_t pid() const noexcept {
    return pid_;
  }

  /// Sends `sig` to the child (not to a recycled pid: through its pidfd);
  /// with `whole_group`, to its process group too (its own children).
  /// Nothing once it was reaped.
  void signal(int sig, bool whole_group);

  /// Reaps the child if it ended: its exit status (`code`) or the signal
  /// that ended it (`signal`). Empty if it still runs.
  struct status {
    int code = 0;
    int signal = 0;
  };
  std::optional<status> try_reap();

  /// For a zygote's child: records that it ended (no signal reaches it
  /// from now on). False if that was recorded already.
  bool mark_exited();

  [[nodiscard]] bool via_zygote() const noexcept {
    return via_zygote_;
  }

  [[nodiscard]] int pidfd() const noexcept {
    return pidfd_;
  }

private:
  std::mutex mtx_;
  pid_t pid_;
  int pidfd_;
  bool via_zygote_;
  bool reaped_ = false;
};

/// Called with each whole line (without its newline) a child writes to a
/// forwarded stream: 1 for standard output, 2 for standard error.
using line_callback = std::function<void(int stream, std::string_view line)>;

struct spawn_request {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string working_directory;
  int control_fd = -1;     // becomes descriptor 3 in the child
  bool forkserver = false; // forked by the zygote instead of spawned
  /// Write ends that become the child's descriptors 1 and 2, or -1 to
  /// share the parent's.
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// Read ends of those pipes: the spawner thread reads them and calls
  /// `on_line` (it owns and closes them).
  int stdout_read = -1;
  int stderr_read = -1;
  line_callback on_line;
};

using exit_callback = std::function<void(child_proc::status)>;

/// Starts `req` as a child OS process (on the spawner thread) and calls
/// `on_exit` there once it ended and was reaped, after the lines it wrote
/// to forwarded streams (all of them, unless a grandchild still holds a
/// stream open). Throws `std::system_error`
/// when the OS refuses. `on_exit` must not block.
std::shared_ptr<child_proc> spawn_child(const spawn_request& req,
                                        exit_callback on_exit);

} // namespace troupe::isolate::detail
