#include "troupe/os_process.hpp"

#include <array>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include <troupe/error.hpp>
#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/external_process.hpp>

#include "bootstrap.hpp"
#include "link.hpp"
#include "spawner.hpp"

extern char** environ; // NOLINT(readability-redundant-declaration)

namespace troupe::isolate::detail {

namespace {

/// This program's command line, to start it again.
const std::vector<std::string>& own_argv() {
  static const std::vector<std::string> argv = [] {
    std::string all;
    if (int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC); fd >= 0) {
      std::array<char, 4096> buf{};
      for (;;) {
        auto n = ::read(fd, buf.data(), buf.size());
        if (n <= 0)
          break;
        all.append(buf.data(), static_cast<std::size_t>(n));
      }
      ::close(fd);
    }
    std::vector<std::string> out;
    std::size_t begin = 0;
    while (begin < all.size()) {
      auto end = all.find('\0', begin);
      if (end == std::string::npos)
        end = all.size();
      out.push_back(all.substr(begin, end - begin));
      begin = end + 1;
    }
    return out;
  }();
  return argv;
}

std::vector<std::string> child_environment(const os_process_options& opts) {
  std::set<std::string> drop{opts.unset_env.begin(), opts.unset_env.end()};
  drop.insert(child_marker);
  for (const auto& kv : opts.env)
    drop.insert(kv.first);
  std::vector<std::string> env;
  for (char** p = environ; p != nullptr && *p != nullptr; ++p) {
    std::string_view entry{*p};
    auto key = entry.substr(0, entry.find('='));
    if (drop.count(std::string{key}) == 0)
      env.emplace_back(entry);
  }
  for (const auto& [key, value] : opts.env)
    env.push_back(key + "=" + value);
  env.push_back(std::string{child_marker} + "="
                + std::to_string(child_control_fd) + ":"
                + std::to_string(::getpid()));
  return env;
}

/// A signal's name and description: "SIGSEGV (segmentation fault)".
std::string describe_signal(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  const char* descr = ::sigdescr_np(sig);
  std::string out = abbrev != nullptr ? std::string{"SIG"} + abbrev
                                      : "signal " + std::to_string(sig);
  if (descr != nullptr) {
    std::string text = descr;
    if (!text.empty())
      text[0]
        = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
    out += " (" + text + ")";
  }
  return out;
}

/// Closes a descriptor on every path.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() {
    return std::exchange(fd, -1);
  }
};

} // namespace

class os_process_impl : public std::enable_shared_from_this<os_process_impl> {
public:
  os_process_impl(runtime& rt, os_process_options opts, std::string entry,
                  std::vector<std::string> args)
    : rt_(&rt), opts_(std::move(opts)), entry_(std::move(entry)),
      args_(std::move(args)) {}

  void start() {
    std::unique_lock guard{mtx_};
    if (started_)
      throw state_error("os_process '" + opts_.name
                        + "': start() called a second time");
    std::array<int, 2> fds{};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "troupe: os_process: socketpair");
    fd_guard mine{fds[0]};
    fd_guard theirs{fds[1]};
    if (theirs.fd == child_control_fd) {
      // dup2 onto itself would leave close-on-exec set.
      theirs.fd = ::fcntl(fds[1], F_DUPFD_CLOEXEC, child_control_fd + 1);
      ::close(fds[1]);
    }
    spawn_request req;
    req.argv = own_argv();
    req.env = child_environment(opts_);
    req.working_directory = opts_.working_directory;
    req.control_fd = theirs.fd;
    end_ = std::make_shared<reported_end>();
    // The exit callback runs on the spawner thread once the child was
    // reaped; until `ext_` exists it only records the status. It keeps this
    // object alive until then: the handles may all be gone (a supervisor
    // keeps only the process handle), the child still has to be reported.
    child_ = spawn_child(req, [self = shared_from_this()](
                                child_proc::status st) { self->on_exit(st); });
    theirs = fd_guard{};
    bootstrap b;
    b.entry = entry_;
    b.name = opts_.name;
    b.terminate_grace_ms
      = opts_.terminate_grace.value_or(rt_->options().terminate_grace).count();
    if (opts_.limits.address_space)
      b.limit_address_space
        = static_cast<std::int64_t>(*opts_.limits.address_space);
    if (opts_.limits.cpu_time)
      b.limit_cpu_seconds = opts_.limits.cpu_time->count();
    if (opts_.limits.core_size)
      b.limit_core_size = static_cast<std::int64_t>(*opts_.limits.core_size);
    b.args = std::move(args_);
    // A child that died before reading it is reported by the reaper.
    write_bootstrap(mine.fd, b);
    link_ = start_parent_link(rt_->system(), mine.release(), end_);
    auto child = child_;
    ext_.emplace(*rt_,
                 process_options{.name = opts_.name,
                                 .daemon = opts_.daemon,
                                 .terminate_grace = opts_.terminate_grace},
                 [child](int sig) { child->signal(sig, sig == SIGKILL); });
    started_ = true;
    ext_->set_mailbox(link_);
    ext::on_exit(ext_->handle(), [link = link_](const ext::exit_info&) {
      caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
    });
    auto pending = pending_status_;
    guard.unlock();
    if (pending)
      finish(*pending); // outside the lock: exit hooks may call back in
  }

  void on_exit(child_proc::status st) {
    {
      std::lock_guard guard{mtx_};
      if (!ext_) {
        pending_status_ = st; // start() has not admitted the process yet
        return;
      }
    }
    finish(st);
  }

  const process& as_process() const {
    std::lock_guard guard{mtx_};
    if (!ext_)
      throw state_error("os_process '" + opts_.name + "' was not started");
    return ext_->handle();
  }

  bool started() const {
    std::lock_guard guard{mtx_};
    return started_;
  }

  std::optional<int> os_pid() const {
    std::lock_guard guard{mtx_};
    if (!child_)
      return std::nullopt;
    return child_->pid();
  }

  std::string name() const {
    std::lock_guard guard{mtx_};
    return ext_ ? ext_->handle().name() : opts_.name;
  }

  void name(std::string new_name) {
    std::lock_guard guard{mtx_};
    if (ext_) {
      auto p = ext_->handle();
      p.name(std::move(new_name));
    } else {
      opts_.name = std::move(new_name);
    }
  }

  bool daemon() const {
    std::lock_guard guard{mtx_};
    return ext_ ? ext_->handle().daemon() : opts_.daemon.value_or(false);
  }

  void daemon(bool flag) {
    std::lock_guard guard{mtx_};
    if (started_)
      throw state_error("os_process '" + opts_.name
                        + "': the daemon flag cannot change after start()");
    opts_.daemon = flag;
  }

private:
  /// Combines the OS's exit status with what the child reported.
  void finish(child_proc::status st) {
    std::optional<std::pair<int, std::string>> reported;
    {
      std::lock_guard guard{end_->mtx};
      reported = end_->value;
    }
    int code = 0;
    std::string reason;
    if (st.signal != 0) {
      code = -st.signal;
      if (reported && reported->first == code)
        reason = reported->second;
      else
        reason = "killed by " + describe_signal(st.signal);
    } else if (reported && (reported->first & 0xff) == st.code) {
      code = reported->first;
      reason = reported->second;
    } else {
      code = st.code;
      if (code != 0)
        reason = "exit(" + std::to_string(code) + ")";
    }
    ext_->finish(code, std::move(reason));
  }

  runtime* rt_;
  mutable std::mutex mtx_;
  os_process_options opts_;
  std::string entry_;
  std::vector<std::string> args_;
  bool started_ = false;
  std::shared_ptr<reported_end> end_;
  std::shared_ptr<child_proc> child_;
  caf::actor link_;
  std::optional<ext::external_process> ext_;
  std::optional<child_proc::status> pending_status_;
};

} // namespace troupe::isolate::detail

namespace troupe {

os_process::os_process(runtime& rt, os_process_options opts,
                       std::string_view entry, std::vector<std::string> args)
  : impl_(std::make_shared<isolate::detail::os_process_impl>(
    rt, std::move(opts), std::string{entry}, std::move(args))) {}

void os_process::start() {
  impl_->start();
}

void os_process::join() const {
  as_process().join();
}

bool os_process::join(std::chrono::nanoseconds timeout) const {
  return as_process().join(timeout);
}

bool os_process::is_alive() const {
  return impl_->started() && as_process().is_alive();
}

std::optional<int> os_process::exitcode() const {
  if (!impl_->started())
    return std::nullopt;
  return as_process().exitcode();
}

std::string os_process::exit_reason() const {
  if (!impl_->started())
    return {};
  return as_process().exit_reason();
}

void os_process::terminate() const {
  as_process().terminate();
}

void os_process::kill() const {
  as_process().kill();
}

pid_type os_process::pid() const {
  return impl_->started() ? as_process().pid() : 0;
}

std::optional<int> os_process::os_pid() const {
  return impl_->os_pid();
}

std::string os_process::name() const {
  return impl_->name();
}

void os_process::name(std::string new_name) {
  impl_->name(std::move(new_name));
}

bool os_process::daemon() const {
  return impl_->daemon();
}

void os_process::daemon(bool flag) {
  impl_->daemon(flag);
}

const process& os_process::as_process() const {
  return impl_->as_process();
}

} // namespace troupe
