#include "forkserver.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <troupe/isolate/descriptors.hpp>

#include "bootstrap.hpp"
#include "spawner.hpp"

#ifndef P_PIDFD
#  define P_PIDFD 3
#endif

extern char** environ; // NOLINT(readability-redundant-declaration)

namespace troupe::isolate::detail {

namespace {

// -- the wire
// ------------------------------------------------------------------

enum : char {
  fork_request = 'F',    // parent -> zygote: a child; fds attached
  release_request = 'R', // parent -> zygote: reap this pid
  forked_reply = 'S',    // zygote -> parent: pid; its pidfd attached
  failed_reply = 'E',    // zygote -> parent: errno
  exited_report = 'X',   // zygote -> parent: pid, code, signal
};

struct header {
  char type = 0;
  std::uint8_t has_stdout = 0;
  std::uint8_t has_stderr = 0;
  std::int32_t pid = 0;
  std::int32_t code = 0; // errno for failed_reply
  std::int32_t signal = 0;
  std::uint32_t env_count = 0;
};

constexpr std::size_t max_message = std::size_t{1} << 20;

/// Sends one message with up to three descriptors.
bool send_message(int sock, const header& h, const std::string& payload,
                  const std::vector<int>& fds) {
  std::string bytes(sizeof(header), '\0');
  std::memcpy(bytes.data(), &h, sizeof(header));
  bytes += payload;
  // A datagram (SOCK_SEQPACKET) socket: all of it goes, or none.
  return send_with_descriptors(sock, bytes, fds) >= 0;
}

/// Receives one message; false at end of file or on error.
bool receive_message(int sock, header& h, std::string& payload,
                     std::vector<int>& fds) {
  payload.assign(max_message, '\0');
  fds.clear();
  auto got = receive_with_descriptors(sock, payload, fds, 3);
  if (got.bytes < static_cast<ssize_t>(sizeof(header))) {
    for (int fd : fds)
      ::close(fd);
    fds.clear();
    return false;
  }
  std::memcpy(&h, payload.data(), sizeof(header));
  payload.erase(static_cast<std::size_t>(got.bytes));
  payload.erase(0, sizeof(header));
  return true;
}

// -- state
// ---------------------------------------------------------------------

std::atomic<bool> requested{false};
std::mutex state_mtx;
int parent_socket = -1;         // the parent's end, once the zygote runs
std::string unavailable_reason; // why there is none, when asked for

bool single_threaded() {
  std::error_code ec;
  auto it = std::filesystem::directory_iterator{"/proc/self/task", ec};
  if (ec)
    return false;
  return std::distance(it, std::filesystem::directory_iterator{}) == 1;
}

// -- the zygote
// ----------------------------------------------------------------

/// In a freshly forked child of the zygote: takes the descriptors, the
/// environment and the working directory of the request, and returns to
/// become the child in the runtime constructor.
void become_child(const header& h, const std::string& payload,
                  const std::vector<int>& fds) {
  ::setpgid(0, 0);
  std::size_t i = 0;
  ::dup2(fds.at(i++), child_control_fd);
  if (h.has_stdout != 0)
    ::dup2(fds.at(i++), 1);
  if (h.has_stderr != 0)
    ::dup2(fds.at(i++), 2);
  if (int null = ::open("/dev/null", O_RDONLY); null >= 0) {
    ::dup2(null, 0);
    if (null != 0)
      ::close(null);
  }
  ::close_range(child_control_fd + 1, ~0U, 0);
  // The environment (each string NUL-terminated), then the directory.
  auto* env = new char*[h.env_count + 1]; // NOLINT: the child's for good
  std::size_t pos = 0;
  for (std::uint32_t k = 0; k < h.env_count; ++k) {
    auto end = payload.find('\0', pos);
    env[k] = ::strdup(payload.substr(pos, end - pos).c_str());
    pos = end + 1;
  }
  env[h.env_count] = nullptr;
  environ = env;
  auto cwd = payload.substr(pos, payload.find('\0', pos) - pos);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
    std::cerr << "troupe: os_process child: cannot enter working directory '"
              << cwd << "': " << std::strerror(errno) << '\n';
    ::_exit(127);
  }
  // The child's parent is the zygote.
  ::setenv(
    child_marker, // NOLINT(concurrency-mt-unsafe): single thread
    (std::to_string(child_control_fd) + ":" + std::to_string(::getppid()))
      .c_str(),
    1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGTERM, SIG_DFL);
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGCHLD, SIG_DFL);
}

/// The zygote's loop. Returns only in a forked child, as that child.
void zygote_main(int sock) {
  struct child {
    int pidfd = -1;
    bool reported = false;
  };
  std::map<pid_t, child> children;
  header h;
  std::string payload;
  std::vector<int> fds;
  for (;;) {
    std::vector<pollfd> polled{{sock, POLLIN, 0}};
    std::vector<pid_t> order;
    for (auto& [pid, c] : children)
      if (!c.reported) {
        polled.push_back({c.pidfd, POLLIN, 0});
        order.push_back(pid);
      }
    if (::poll(polled.data(), polled.size(), -1) < 0)
      continue;
    for (std::size_t k = 1; k < polled.size(); ++k) {
      if ((polled[k].revents & POLLIN) == 0)
        continue;
      auto pid = order[k - 1];
      auto& c = children[pid];
      siginfo_t info{};
      if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(c.pidfd),
                   &info, WEXITED | WNOWAIT | WNOHANG)
            != 0
          || info.si_pid == 0)
        continue;
      c.reported = true;
      header x;
      x.type = exited_report;
      x.pid = pid;
      if (info.si_code == CLD_EXITED)
        x.code = info.si_status;
      else
        x.signal = info.si_status;
      send_message(sock, x, {}, {});
    }
    if ((polled[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0)
      continue;
    if (!receive_message(sock, h, payload, fds)) {
      // The parent is gone: so is everything it started through us.
      for (auto& [pid, c] : children)
        if (!c.reported)
          ::kill(-pid, SIGKILL);
      ::_exit(0);
    }
    if (h.type == release_request) {
      if (auto it = children.find(h.pid); it != children.end()) {
        siginfo_t info{};
        ::waitid(static_cast<idtype_t>(P_PIDFD),
                 static_cast<id_t>(it->second.pidfd), &info, WEXITED);
        ::close(it->second.pidfd);
        children.erase(it);
      }
      continue;
    }
    if (h.type != fork_request || fds.empty())
      continue;
    auto cwd_at = payload.rfind('\0', payload.size() - 2);
    auto cwd = payload.substr(cwd_at == std::string::npos ? 0 : cwd_at + 1);
    cwd = cwd.substr(0, cwd.find('\0'));
    header reply;
    if (!cwd.empty() && ::access(cwd.c_str(), X_OK) != 0) {
      reply.type = failed_reply;
      reply.code = errno;
    } else if (auto pid = ::fork(); pid == 0) {
      ::close(sock);
      for (auto& [other, c] : children)
        ::close(c.pidfd);
      become_child(h, payload, fds);
      for (int fd : fds)
        if (fd > child_control_fd)
          ::close(fd);
      return;
    } else if (pid < 0) {
      reply.type = failed_reply;
      reply.code = errno;
    } else {
      auto pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      children[pid] = child{pidfd, false};
      reply.type = forked_reply;
      reply.pid = pid;
      send_message(sock, reply, {}, {pidfd});
      for (int fd : fds)
        ::close(fd);
      continue;
    }
    send_message(sock, reply, {}, {});
    for (int fd : fds)
      ::close(fd);
  }
}

} // namespace

void request_zygote() {
  requested.store(true);
}

void start_zygote_if_requested() {
  if (!requested.load() || std::getenv(child_marker) != nullptr) // NOLINT
    return;
  std::lock_guard guard{state_mtx};
  if (parent_socket >= 0)
    return;
  if (!single_threaded()) {
    unavailable_reason
      = "the forkserver's zygote must be forked while the program is "
        "single-threaded: call troupe::set_start_method(troupe::start_method"
        "::forkserver) before the first troupe::runtime and before starting "
        "any thread";
    return;
  }
  std::array<int, 2> sv{};
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv.data()) != 0) {
    unavailable_reason = std::string{"socketpair: "} + std::strerror(errno);
    return;
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    unavailable_reason = std::string{"fork: "} + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return;
  }
  if (pid > 0) {
    ::close(sv[1]);
    parent_socket = sv[0];
    return;
  }
  // The zygote: its own process group (a terminal's ^C goes to the
  // parent, whose death ends the zygote), nothing open but its socket.
  ::close(sv[0]);
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent)
    ::_exit(0);
  int sock = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 64);
  ::close(sv[1]);
  ::close_range(3, 63, 0);
  ::close_range(65, ~0U, 0);
  ::signal(SIGINT, SIG_IGN);
  zygote_main(sock);
  // Here only as a new child (still holding this copy of `guard`): go on
  // constructing the runtime, as the child.
  parent_socket = -1;
  requested.store(false);
}

bool zygote_ready(std::string& why) {
  std::lock_guard guard{state_mtx};
  if (parent_socket >= 0)
    return true;
  why = !unavailable_reason.empty()
          ? unavailable_reason
          : "no forkserver: call troupe::set_start_method(troupe::"
            "start_method::forkserver) before the first troupe::runtime "
            "is constructed";
  return false;
}

int zygote_socket() {
  std::lock_guard guard{state_mtx};
  return parent_socket;
}

std::pair<pid_t, int> zygote_fork(const spawn_request& req,
                                  std::vector<zygote_exit>& exits) {
  int sock = zygote_socket();
  if (sock < 0) {
    std::string why;
    zygote_ready(why);
    throw std::system_error(ECHILD, std::generic_category(), "troupe: " + why);
  }
  header h;
  h.type = fork_request;
  h.has_stdout = req.stdout_fd >= 0 ? 1 : 0;
  h.has_stderr = req.stderr_fd >= 0 ? 1 : 0;
  h.env_count = static_cast<std::uint32_t>(req.env.size());
  std::string payload;
  for (const auto& e : req.env) {
    payload += e;
    payload += '\0';
  }
  payload += req.working_directory;
  payload += '\0';
  if (payload.size() + sizeof(header) > max_message)
    throw std::system_error(E2BIG, std::generic_category(),
                            "troupe: os_process: the environment is too "
                            "large for the forkserver");
  std::vector<int> fds{req.control_fd};
  if (req.stdout_fd >= 0)
    fds.push_back(req.stdout_fd);
  if (req.stderr_fd >= 0)
    fds.push_back(req.stderr_fd);
  if (!send_message(sock, h, payload, fds))
    throw std::system_error(errno, std::generic_category(),
                            "troupe: the forkserver is gone");
  header r;
  std::string body;
  std::vector<int> got;
  for (;;) {
    if (!receive_message(sock, r, body, got))
      throw std::system_error(EPIPE, std::generic_category(),
                              "troupe: the forkserver is gone");
    if (r.type == exited_report) {
      exits.push_back({r.pid, r.code, r.signal});
      continue;
    }
    if (r.type == failed_reply) {
      std::string what = "troupe: cannot start an os_process: forkserver";
      if (!req.working_directory.empty())
        what += " (working directory '" + req.working_directory + "')";
      throw std::system_error(r.code, std::generic_category(), what);
    }
    if (r.type == forked_reply && !got.empty())
      return {r.pid, got.front()};
  }
}

std::vector<zygote_exit> zygote_read() {
  std::vector<zygote_exit> exits;
  int sock = zygote_socket();
  if (sock < 0)
    return exits;
  header r;
  std::string body;
  std::vector<int> got;
  for (;;) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0)
      break;
    if (!receive_message(sock, r, body, got))
      break;
    for (int fd : got)
      ::close(fd);
    if (r.type == exited_report)
      exits.push_back({r.pid, r.code, r.signal});
  }
  return exits;
}

void zygote_release(pid_t pid) {
  int sock = zygote_socket();
  if (sock < 0)
    return;
  header h;
  h.type = release_request;
  h.pid = pid;
  send_message(sock, h, {}, {});
}

} // namespace troupe::isolate::detail
