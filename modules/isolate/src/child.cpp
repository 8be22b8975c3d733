// The child's side of an os_process: from the runtime's constructor in the
// re-executed program to the OS process's end.

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <caf/actor_system.hpp>

#include <troupe/error.hpp>
#include <troupe/ext/exit_hook.hpp>
#include <troupe/isolate/descriptors.hpp>
#include <troupe/isolate/entry.hpp>
#include <troupe/process.hpp>
#include <troupe/runtime.hpp>

#include "bootstrap.hpp"
#include "link.hpp"
#include "registry.hpp"

namespace troupe::isolate::detail {

namespace {

/// Written by the SIGTERM handler, read by the thread that turns it into
/// a cooperative stop.
int term_fd = -1;

void on_sigterm(int) {
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(term_fd, &one, sizeof(one));
}

void on_parent_death(int) {
  // The parent died (PR_SET_PDEATHSIG): end this process and whatever it
  // started in its process group. Async-signal-safe.
  ::kill(0, SIGKILL);
}

/// The parent's death ends this child, and everything in its process
/// group. The signal is caught (not SIGKILL itself) so that the handler
/// can take the group along.
void arm_parent_death(long parent_pid) {
  struct sigaction sa {};
  sa.sa_handler = &on_parent_death;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::prctl(PR_SET_PDEATHSIG, SIGHUP);
  if (::getppid() != static_cast<pid_t>(parent_pid))
    ::kill(0, SIGKILL); // it died before the signal was armed
}

[[noreturn]] void fail_early(const std::string& what) {
  std::cerr << "troupe: os_process child " << ::getpid() << ": " << what
            << '\n';
  std::cerr.flush();
  ::_exit(1);
}

void apply_limit(int resource, std::int64_t value, const char* what) {
  if (value < 0)
    return;
  rlimit lim{};
  ::getrlimit(resource, &lim);
  lim.rlim_cur = static_cast<rlim_t>(value);
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur > lim.rlim_max)
    lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(resource, &lim) != 0)
    fail_early(std::string{"cannot apply the "} + what
               + " limit: " + std::strerror(errno));
}

/// Ends the OS process so that its parent sees `code` (the cooperative
/// stop as SIGTERM, a kill as SIGKILL, as Python reports them).
[[noreturn]] void end_process(int code) {
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  if (code == -15) {
    ::signal(SIGTERM, SIG_DFL);
    ::raise(SIGTERM);
  } else if (code < 0) {
    ::kill(0, SIGKILL);
  }
  ::_exit(code & 0xff);
}

/// A sanitizer's runtime catches crash signals to report them, and then
/// exits with status 1: the parent would see 1 where a plain build shows
/// -11. The child's exit codes stay Python's under sanitizers too: crash
/// signals get their default action back (the sanitizer's own checks,
/// which do not go through these signals, still report).
void restore_crash_signals() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
    struct sigaction sa {};
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    ::sigaction(sig, &sa, nullptr);
  }
#endif
}

} // namespace

namespace {
std::atomic<runtime*> the_child_runtime{nullptr};
} // namespace

void child_main(runtime& rt, int control_fd, long parent_pid) {
  the_child_runtime.store(&rt);
  mark_entry_reached();
  restore_crash_signals();
  ::unsetenv(
    child_marker); // NOLINT(concurrency-mt-unsafe): our threads do not read it
  arm_parent_death(parent_pid);
  bootstrap start;
  try {
    std::vector<int> fds;
    start = read_bootstrap(control_fd, fds);
    set_received_descriptors(std::move(fds));
  } catch (const std::exception& e) {
    fail_early(e.what());
  }
  apply_limit(RLIMIT_AS, start.limit_address_space, "address space");
  apply_limit(RLIMIT_CPU, start.limit_cpu_seconds, "CPU time");
  apply_limit(RLIMIT_CORE, start.limit_core_size, "core size");
  auto invoke = find_entry(start.entry);
  if (invoke == nullptr)
    fail_early("no entry point named '" + start.entry
               + "' in this program (is its TROUPE_ENTRY compiled in?)");
  term_fd = ::eventfd(0, EFD_CLOEXEC);
  struct sigaction sa {};
  sa.sa_handler = &on_sigterm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &sa, nullptr);
  // No grace of its own: the parent times it (the os_process's grace, or
  // the longer or endless one of a supervisor's shutdown spec) and then
  // SIGKILLs the group. A grace here would cut a longer one short.
  process proc{rt,
               {.name = start.name,
                .daemon = false,
                .terminate_grace = std::chrono::hours{24 * 365}},
               [invoke, args = std::move(start.args)] { invoke(args); }};
  // this_process::ready() in the entry point (a supervisor's await_ready
  // on the parent's side) goes to the parent once the agent exists.
  struct readiness {
    std::mutex mtx;
    caf::actor agent;   // (mtx)
    bool ready = false; // (mtx)
  };
  auto readied = std::make_shared<readiness>();
  ext::on_ready(proc, [readied] {
    std::lock_guard guard{readied->mtx};
    readied->ready = true;
    if (readied->agent)
      report_ready(readied->agent);
  });
  proc.start();
  auto agent = start_child_agent(rt.system(), control_fd, proc.handle());
  {
    std::lock_guard guard{readied->mtx};
    readied->agent = agent;
    if (readied->ready)
      report_ready(agent);
  }
  std::thread{[proc] {
    std::uint64_t count = 0;
    while (::read(term_fd, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    proc.terminate();
  }}.detach();
  proc.join();
  auto code = proc.exitcode().value_or(1);
  if (code != 0)
    report_end(rt.system(), agent, code, proc.exit_reason(), 5000);
  end_process(code);
}

} // namespace troupe::isolate::detail

namespace troupe::isolate {

runtime& child_runtime() {
  auto* rt = detail::the_child_runtime.load();
  if (rt == nullptr)
    throw state_error("isolate::child_runtime: this OS process is not an "
                      "os_process child");
  return *rt;
}

} // namespace troupe::isolate
