#include "troupe/os_process.hpp"

#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <iostream>
#include <map>
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
#include <troupe/print.hpp>

#include "bootstrap.hpp"
#include "forkserver.hpp"
#include "link.hpp"
#include "registry.hpp"
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
  fd_guard() = default;
  explicit fd_guard(int x) : fd(x) {}
  fd_guard(fd_guard&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard& operator=(fd_guard&& other) noexcept {
    if (this != &other) {
      if (fd >= 0)
        ::close(fd);
      fd = std::exchange(other.fd, -1);
    }
    return *this;
  }
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() {
    return std::exchange(fd, -1);
  }
};

void make_pipe(fd_guard& read_end, fd_guard& write_end) {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "troupe: os_process: pipe2");
  read_end = fd_guard{fds[0]};
  write_end = fd_guard{fds[1]};
}

/// Prints one line a child wrote, with the child's name.
void forward_line(const std::string& name, int stream, std::string_view line) {
  if (stream == 1) {
    troupe::print(name + ":", line);
    return;
  }
  static std::mutex mtx;
  std::lock_guard guard{mtx};
  std::cerr << name << ": " << line << '\n' << std::flush;
}

} // namespace

/// Children not yet reaped, per runtime (its actor system), so that the
/// runtime's shutdown returns only once they are gone.
class live_children {
public:
  void add(const caf::actor_system* sys) {
    std::lock_guard guard{mtx_};
    ++count_[sys];
  }

  void remove(const caf::actor_system* sys) {
    {
      std::lock_guard guard{mtx_};
      if (auto it = count_.find(sys); it != count_.end() && --it->second == 0)
        count_.erase(it);
    }
    cv_.notify_all();
  }

  /// False if some were still there at `until`.
  bool await_none(const caf::actor_system* sys,
                  std::chrono::steady_clock::time_point until) {
    std::unique_lock guard{mtx_};
    return cv_.wait_until(guard, until, [&] { return count_.count(sys) == 0; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::map<const caf::actor_system*, int> count_;
};

live_children& children() {
  static auto* instance = new live_children; // NOLINT: used by the spawner
  return *instance;                          // thread until the very end
}

/// The child of a started os_process, once it exists; stop requests that
/// come before are kept and applied then.
class child_slot {
public:
  void signal(int sig) {
    std::lock_guard guard{mtx_};
    if (child_) {
      child_->signal(sig, sig == SIGKILL);
      return;
    }
    if (pending_ != SIGKILL)
      pending_ = sig;
  }

  void set(std::shared_ptr<child_proc> child) {
    std::lock_guard guard{mtx_};
    child_ = std::move(child);
    if (pending_ != 0)
      child_->signal(pending_, pending_ == SIGKILL);
  }

private:
  std::mutex mtx_;
  std::shared_ptr<child_proc> child_;
  int pending_ = 0;
};

class os_process_impl : public std::enable_shared_from_this<os_process_impl> {
public:
  os_process_impl(runtime& rt, os_process_options opts, std::string entry,
                  packed_arguments args)
    : rt_(&rt), opts_(std::move(opts)), entry_(std::move(entry)),
      args_(std::move(args.args)), descriptors_(std::move(args.descriptors)) {}

  void start() {
    std::unique_lock guard{mtx_};
    if (started_)
      throw state_error("os_process '" + opts_.name
                        + "': start() called a second time");
    auto method = opts_.start_method.value_or(get_start_method());
    if (std::string why;
        method == start_method::forkserver && !zygote_ready(why))
      throw state_error(
        (opts_.name.empty() ? "os_process" : "os_process '" + opts_.name + "'")
        + ": " + why);
    // Admitted first (a pid, a name, its place in the tree); stop requests
    // that come before the child exists are applied once it does.
    auto slot = std::make_shared<child_slot>();
    ext_.emplace(*rt_,
                 process_options{.name = opts_.name,
                                 .daemon = opts_.daemon,
                                 .terminate_grace = opts_.terminate_grace},
                 [slot](int sig) { slot->signal(sig); });
    started_ = true;
    auto name = ext_->handle().name();
    fd_guard mine;
    try {
      mine = spawn(name, slot);
    } catch (const std::exception& e) {
      auto reason = std::string{"could not start: "} + e.what();
      guard.unlock();
      ext_->finish(1, reason);
      throw;
    }
    bootstrap b;
    b.entry = entry_;
    b.name = name;
    if (opts_.limits.address_space)
      b.limit_address_space
        = static_cast<std::int64_t>(*opts_.limits.address_space);
    if (opts_.limits.cpu_time)
      b.limit_cpu_seconds = opts_.limits.cpu_time->count();
    if (opts_.limits.core_size)
      b.limit_core_size = static_cast<std::int64_t>(*opts_.limits.core_size);
    b.args = std::move(args_);
    b.descriptors = static_cast<std::uint32_t>(descriptors_.fds().size());
    // The child's this_process::ready() (a supervisor's await_ready).
    end_->on_ready = [weak = weak_from_this()] {
      if (auto self = weak.lock())
        self->ext_->mark_ready();
    };
    // A child that died before reading it is reported by the reaper.
    write_bootstrap(mine.fd, b, descriptors_.fds());
    descriptors_ = {}; // the child has its own copies (or is gone)
    link_ = start_parent_link(rt_->system(), mine.release(), end_);
    ext_->set_mailbox(link_);
    ext::on_exit(ext_->handle(), [link = link_](const ext::exit_info&) {
      caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
    });
  }

  /// Runs on the spawner thread once the child was reaped.
  void on_exit(child_proc::status st) {
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
  /// Starts the child OS process; returns the parent's end of the control
  /// socket. Called with `mtx_` held.
  fd_guard spawn(const std::string& name,
                 const std::shared_ptr<child_slot>& slot) {
    std::array<int, 2> fds{};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds.data()) != 0)
      throw std::system_error(errno, std::generic_category(),
                              "troupe: os_process: socketpair");
    fd_guard mine{fds[0]};
    fd_guard theirs{fds[1]};
    if (theirs.fd == child_control_fd) {
      // dup2 onto itself would leave close-on-exec set.
      theirs = fd_guard{::fcntl(fds[1], F_DUPFD_CLOEXEC, child_control_fd + 1)};
    }
    spawn_request req;
    fd_guard out_read;
    fd_guard out_write;
    fd_guard err_read;
    fd_guard err_write;
    if (opts_.output == child_output::lines) {
      make_pipe(out_read, out_write);
      make_pipe(err_read, err_write);
      req.stdout_fd = out_write.fd;
      req.stderr_fd = err_write.fd;
      req.stdout_read = out_read.fd;
      req.stderr_read = err_read.fd;
      req.on_line = [name](int stream, std::string_view line) {
        forward_line(name, stream, line);
      };
    }
    req.argv = own_argv();
    req.env = child_environment(opts_);
    req.working_directory = opts_.working_directory;
    req.control_fd = theirs.fd;
    req.forkserver = opts_.start_method.value_or(get_start_method())
                     == start_method::forkserver;
    end_ = std::make_shared<reported_end>();
    // The exit callback keeps this object alive until the child was
    // reported: the handles may all be gone (a supervisor keeps only the
    // process handle).
    const auto* sys = &rt_->system();
    children().add(sys);
    try {
      child_ = spawn_child(
        req, [self = shared_from_this(), sys](child_proc::status st) {
          self->on_exit(st);
          children().remove(sys);
        });
    } catch (...) {
      children().remove(sys);
      throw;
    }
    out_read.release(); // the spawner thread reads and closes them now
    err_read.release();
    slot->set(child_);
    return mine;
  }

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
  descriptor_set descriptors_;
  bool started_ = false;
  std::shared_ptr<reported_end> end_;
  std::shared_ptr<child_proc> child_;
  caf::actor link_;
  std::optional<ext::external_process> ext_;
};

void await_children_of(caf::actor_system& sys) {
  // Every child was declared ended; the killed ones got SIGKILL, which the
  // kernel carries out in well under this bound.
  if (!children().await_none(&sys, std::chrono::steady_clock::now()
                                     + std::chrono::seconds{5}))
    std::cerr << "troupe: child OS processes were still not gone 5 s after "
                 "they were killed; not waiting for them\n";
}

} // namespace troupe::isolate::detail

namespace troupe {

namespace {

std::atomic<start_method> default_start_method{start_method::spawn};

} // namespace

void set_start_method(start_method method) {
  default_start_method.store(method);
  if (method == start_method::forkserver)
    isolate::detail::request_zygote();
}

start_method get_start_method() {
  return default_start_method.load();
}

os_process::os_process(runtime& rt, os_process_options opts,
                       std::string_view entry,
                       isolate::detail::packed_arguments args)
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

const process* os_process::started_process() const noexcept {
  return impl_->started() ? &impl_->as_process() : nullptr;
}

const process& os_process::as_process() const {
  return impl_->as_process();
}

} // namespace troupe
