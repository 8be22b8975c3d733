#include "spawner.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <deque>
#include <future>
#include <map>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bootstrap.hpp"
#include "forkserver.hpp"

#ifndef P_PIDFD
#  define P_PIDFD 3
#endif

namespace troupe::isolate::detail {

namespace {

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(
    ::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

std::vector<char*> c_strings(const std::vector<std::string>& xs) {
  std::vector<char*> out;
  out.reserve(xs.size() + 1);
  for (const auto& x : xs)
    out.push_back(const_cast<char*>(x.c_str())); // NOLINT: POSIX signature
  out.push_back(nullptr);
  return out;
}

/// posix_spawn's file actions and attributes, released on every path.
struct spawn_setup {
  posix_spawn_file_actions_t actions{};
  posix_spawnattr_t attr{};

  spawn_setup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~spawn_setup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  spawn_setup(const spawn_setup&) = delete;
  spawn_setup& operator=(const spawn_setup&) = delete;
};

thread_local bool on_spawner_thread = false;

class spawner {
public:
  spawner() {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    evfd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epfd_ < 0 || evfd_ < 0)
      throw_errno(errno, "troupe: cannot create the os_process spawner");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = evfd_;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, evfd_, &ev);
    zygote_fd_ = zygote_socket(); // forked before any thread, so before us
    if (zygote_fd_ >= 0)
      add_fd(zygote_fd_);
    // Lives as long as the program: children's PR_SET_PDEATHSIG follows it.
    std::thread{[this] { loop(); }}.detach();
  }

  std::shared_ptr<child_proc> spawn(const spawn_request& req,
                                    exit_callback on_exit) {
    if (on_spawner_thread) {
      // From an exit callback (a process ended, and what its end started
      // starts another): this thread would wait for itself.
      auto child = start(req);
      add_watch(child, req, std::move(on_exit));
      handle_zygote_exits();
      return child;
    }
    auto cmd = std::make_unique<command>();
    cmd->req = &req;
    cmd->on_exit = std::move(on_exit);
    auto result = cmd->result.get_future();
    {
      std::lock_guard guard{mtx_};
      commands_.push_back(std::move(cmd));
    }
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(evfd_, &one, sizeof(one));
    auto out = result.get();
    if (!out.child) {
      // Rebuilt here rather than carried as an exception: an exception
      // object shared between threads is reference-counted inside
      // libstdc++, where ThreadSanitizer cannot see the synchronization.
      auto what = out.what;
      auto suffix = ": " + out.error.message();
      if (what.ends_with(suffix))
        what.erase(what.size() - suffix.size());
      throw std::system_error(out.error, what);
    }
    return out.child;
  }

private:
  /// A started child, or why it could not start.
  struct spawn_outcome {
    std::shared_ptr<child_proc> child;
    std::error_code error;
    std::string what;
  };

  struct command {
    const spawn_request* req = nullptr;
    exit_callback on_exit;
    std::promise<spawn_outcome> result;
  };

  struct watched {
    std::shared_ptr<child_proc> child;
    exit_callback on_exit;
    std::vector<int> outputs; // forwarded streams still open
  };

  /// A forwarded stream of a child: its read end and the partial line.
  struct output {
    int stream = 1;
    std::string partial;
    std::shared_ptr<line_callback> on_line;
  };

  void add_fd(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  }

  void add_watch(const std::shared_ptr<child_proc>& child,
                 const spawn_request& req, exit_callback on_exit) {
    if (child->via_zygote())
      zygote_children_.emplace(child->pid(), child->pidfd());
    else
      add_fd(child->pidfd());
    watched w{child, std::move(on_exit), {}};
    auto on_line = std::make_shared<line_callback>(req.on_line);
    for (auto [fd, stream] :
         {std::pair{req.stdout_read, 1}, std::pair{req.stderr_read, 2}}) {
      if (fd < 0)
        continue;
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
      outputs_.emplace(fd, output{stream, {}, on_line});
      add_fd(fd);
      w.outputs.push_back(fd);
    }
    watched_.emplace(child->pidfd(), std::move(w));
  }

  /// Reads what `fd` has; forwards whole lines. False once it reached end
  /// of file (then it is closed and forgotten).
  bool drain(int fd) {
    auto it = outputs_.find(fd);
    if (it == outputs_.end())
      return false;
    auto& out = it->second;
    std::array<char, 65536> buf{};
    for (;;) {
      auto n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return true; // EAGAIN: nothing more for now
      if (n == 0)
        break;
      out.partial.append(buf.data(), static_cast<std::size_t>(n));
      std::size_t begin = 0;
      for (auto nl = out.partial.find('\n'); nl != std::string::npos;
           nl = out.partial.find('\n', begin)) {
        if (*out.on_line)
          (*out.on_line)(out.stream, std::string_view{out.partial}.substr(
                                       begin, nl - begin));
        begin = nl + 1;
      }
      out.partial.erase(0, begin);
    }
    if (!out.partial.empty() && *out.on_line)
      (*out.on_line)(out.stream, out.partial); // a last line without newline
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    outputs_.erase(it);
    return false;
  }

  void loop() {
    on_spawner_thread = true;
    std::array<epoll_event, 16> events{};
    for (;;) {
      auto n = ::epoll_wait(epfd_, events.data(),
                            static_cast<int>(events.size()), -1);
      if (n < 0)
        continue; // EINTR
      for (int i = 0; i < n; ++i) {
        auto fd = events[static_cast<std::size_t>(i)].data.fd;
        if (fd == evfd_)
          run_commands();
        else if (fd == zygote_fd_)
          for (const auto& x : zygote_read())
            pending_exits_.push_back(x);
        else if (outputs_.count(fd) != 0)
          drain(fd);
        else
          reap(fd);
      }
      handle_zygote_exits();
    }
  }

  /// Ends the zygote reported (kept until now when they came in the middle
  /// of a start).
  void handle_zygote_exits() {
    auto exits = std::move(pending_exits_);
    pending_exits_.clear();
    for (const auto& x : exits) {
      auto z = zygote_children_.find(x.pid);
      if (z == zygote_children_.end())
        continue;
      auto it = watched_.find(z->second);
      zygote_children_.erase(z);
      if (it == watched_.end())
        continue;
      auto entry = std::move(it->second);
      watched_.erase(it);
      entry.child->mark_exited();
      for (int fd : entry.outputs)
        drain(fd);
      if (entry.on_exit)
        entry.on_exit(child_proc::status{x.code, x.signal});
      zygote_release(x.pid); // its group id may be reused from now on
    }
  }

  void run_commands() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(evfd_, &count, sizeof(count));
    std::deque<std::unique_ptr<command>> todo;
    {
      std::lock_guard guard{mtx_};
      todo.swap(commands_);
    }
    for (auto& cmd : todo) {
      try {
        auto child = start(*cmd->req);
        add_watch(child, *cmd->req, std::move(cmd->on_exit));
        cmd->result.set_value({std::move(child), {}, {}});
      } catch (const std::system_error& e) {
        cmd->result.set_value({nullptr, e.code(), e.what()});
      } catch (const std::exception& e) {
        cmd->result.set_value(
          {nullptr, std::make_error_code(std::errc::io_error), e.what()});
      } catch (...) {
        cmd->result.set_value({nullptr,
                               std::make_error_code(std::errc::io_error),
                               "troupe: cannot start an os_process"});
      }
      handle_zygote_exits();
    }
  }

  std::shared_ptr<child_proc> start(const spawn_request& req) {
    if (req.forkserver) {
      auto [pid, pidfd] = zygote_fork(req, pending_exits_);
      return std::make_shared<child_proc>(pid, pidfd, true);
    }
    spawn_setup setup;
    auto* fa = &setup.actions;
    // Only the control socket crosses, as descriptor 3; stdin reads
    // nothing (as in Python's children); stdout and stderr are shared or
    // forwarded pipes.
    posix_spawn_file_actions_adddup2(fa, req.control_fd, child_control_fd);
    posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDONLY, 0);
    if (req.stdout_fd >= 0)
      posix_spawn_file_actions_adddup2(fa, req.stdout_fd, 1);
    if (req.stderr_fd >= 0)
      posix_spawn_file_actions_adddup2(fa, req.stderr_fd, 2);
    posix_spawn_file_actions_addclosefrom_np(fa, child_control_fd + 1);
    if (!req.working_directory.empty())
      posix_spawn_file_actions_addchdir_np(fa, req.working_directory.c_str());
    // Its own process group (so that a kill reaches what it started), no
    // blocked signals, SIGTERM and SIGINT at their defaults.
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGINT);
    posix_spawnattr_setpgroup(&setup.attr, 0);
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &defaults);
    posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETPGROUP
                                            | POSIX_SPAWN_SETSIGMASK
                                            | POSIX_SPAWN_SETSIGDEF);
    auto argv = c_strings(req.argv);
    auto envp = c_strings(req.env);
    pid_t pid = 0;
    if (auto err = ::posix_spawn(&pid, "/proc/self/exe", fa, &setup.attr,
                                 argv.data(), envp.data());
        err != 0) {
      std::string what = "troupe: cannot start an os_process: posix_spawn";
      if (!req.working_directory.empty())
        what += " (working directory '" + req.working_directory + "')";
      throw_errno(err, what);
    }
    auto pidfd = pidfd_open(pid);
    if (pidfd < 0) {
      auto err = errno;
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw_errno(err, "troupe: cannot start an os_process: pidfd_open");
    }
    return std::make_shared<child_proc>(pid, pidfd);
  }

  void reap(int pidfd) {
    auto it = watched_.find(pidfd);
    if (it == watched_.end())
      return;
    auto status = it->second.child->try_reap();
    if (!status)
      return;
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, pidfd, nullptr);
    auto entry = std::move(it->second);
    watched_.erase(it);
    // What the child wrote before it ended comes before its end.
    for (int fd : entry.outputs)
      drain(fd);
    if (entry.on_exit)
      entry.on_exit(*status);
  }

  int epfd_ = -1;
  int evfd_ = -1;
  std::mutex mtx_;
  std::deque<std::unique_ptr<command>> commands_;
  std::map<int, watched> watched_; // the spawner thread's only
  std::map<int, output> outputs_;  // the spawner thread's only
  int zygote_fd_ = -1;
  std::map<pid_t, int> zygote_children_; // pid -> pidfd (key of watched_)
  std::vector<zygote_exit> pending_exits_;
};

spawner& the_spawner() {
  // Never destroyed: its thread runs until the program ends.
  static auto* instance
    = new spawner; // NOLINT(cppcoreguidelines-owning-memory)
  return *instance;
}

} // namespace

child_proc::~child_proc() {
  if (pidfd_ >= 0)
    ::close(pidfd_);
}

void child_proc::signal(int sig, bool whole_group) {
  std::lock_guard guard{mtx_};
  if (reaped_)
    return; // the pid and group id may belong to someone else by now
  if (whole_group)
    ::kill(-pid_, sig); // the group outlives its leader until reaped
  pidfd_send_signal(pidfd_, sig);
}

bool child_proc::mark_exited() {
  std::lock_guard guard{mtx_};
  return !std::exchange(reaped_, true);
}

std::optional<child_proc::status> child_proc::try_reap() {
  std::lock_guard guard{mtx_};
  if (reaped_)
    return std::nullopt;
  siginfo_t info{};
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_), &info,
               WEXITED | WNOHANG)
        != 0
      || info.si_pid == 0)
    return std::nullopt;
  reaped_ = true;
  status st;
  if (info.si_code == CLD_EXITED)
    st.code = info.si_status;
  else
    st.signal = info.si_status;
  return st;
}

std::shared_ptr<child_proc> spawn_child(const spawn_request& req,
                                        exit_callback on_exit) {
  return the_spawner().spawn(req, std::move(on_exit));
}

} // namespace troupe::isolate::detail
