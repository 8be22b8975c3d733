#pragma once

/// `troupe::os_process`: a process in an OS process of its own. See
/// docs/isolation.md.

#include <any>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include <troupe/child_spec.hpp>
#include <troupe/error.hpp>
#include <troupe/ext/describe.hpp>
#include <troupe/isolate/descriptors.hpp>
#include <troupe/isolate/entry.hpp>
#include <troupe/process.hpp>

namespace troupe {

/// How the child OS process comes to be (Python's start methods).
enum class start_method {
  /// Re-executes this program (`/proc/self/exe`, same arguments) with a
  /// marker; `troupe::runtime`'s constructor in the child runs the entry
  /// point and ends the child, so code in `main` before that line runs in
  /// the child too (see `is_os_process_child`).
  spawn,

  /// Forks the child from a zygote: a copy of the program made in the
  /// first `troupe::runtime`'s constructor, before its actor system
  /// started, while the program was single-threaded (forking a program
  /// whose threads hold locks is never done). Saves loading the program
  /// again; needs `set_start_method(start_method::forkserver)` before that
  /// first runtime is constructed.
  forkserver,
};

/// Python's `multiprocessing.set_start_method`: the start method of
/// os_processes that do not name one. Choosing `forkserver` also asks for
/// the zygote, made when the next (normally the first) `troupe::runtime`
/// is constructed; call it at the top of `main`, before any thread starts.
void set_start_method(start_method method);

/// The start method of os_processes that do not name one (`spawn` unless
/// set).
[[nodiscard]] start_method get_start_method();

/// Where a child's standard output and error go.
enum class child_output {
  /// To the parent's standard output and error, byte for byte.
  inherit,

  /// Line by line through the parent: each whole line the child writes is
  /// printed as `<process name>: <line>` (standard output lines with
  /// `troupe::print`, so that they never interleave with other processes'
  /// lines; standard error lines to the parent's standard error). A child's
  /// lines come before its end: when `join()` returns, they are printed.
  lines,
};

/// Limits applied in the child before its entry point runs (setrlimit);
/// empty leaves the inherited limit.
struct resource_limits {
  /// Address space in bytes (`RLIMIT_AS`): allocations past it fail
  /// (`std::bad_alloc`), which ends only the child.
  std::optional<std::uint64_t> address_space{};

  /// CPU time (`RLIMIT_CPU`): past it the kernel sends SIGXCPU, then
  /// SIGKILL.
  std::optional<std::chrono::seconds> cpu_time{};

  /// Largest core dump in bytes (`RLIMIT_CORE`); 0 disables core dumps.
  std::optional<std::uint64_t> core_size{};
};

/// Settings of one `os_process`, with designated initializers.
struct os_process_options {
  /// As `process_options::name`.
  std::string name{};

  /// As `process_options::daemon`: a daemon is terminated at the runtime's
  /// shutdown instead of being waited for.
  std::optional<bool> daemon{};

  /// Time between `terminate()` (SIGTERM) and SIGKILL to the child's
  /// process group; empty takes the runtime's `terminate_grace`.
  std::optional<std::chrono::milliseconds> terminate_grace{};

  /// Empty takes `get_start_method()`.
  std::optional<troupe::start_method> start_method{};

  /// Environment variables set in the child (added or replaced).
  std::map<std::string, std::string> env{};

  /// Environment variables removed in the child.
  std::vector<std::string> unset_env{};

  /// The child's working directory; empty keeps the parent's.
  std::string working_directory{};

  resource_limits limits{};

  child_output output = child_output::inherit;
};

namespace isolate::detail {

class os_process_impl;

/// An entry point's arguments as the child reads them: one record each,
/// and the descriptors they pass (see troupe/isolate/descriptors.hpp).
struct packed_arguments {
  std::vector<std::string> args;
  descriptor_set descriptors;
};

/// Converts each argument to its parameter's type and serializes it.
template <auto F, class... Args, std::size_t... I>
packed_arguments pack_arguments(std::index_sequence<I...>, Args&&... args) {
  using params = typename entry_signature<decltype(F)>::params;
  descriptor_capture capture;
  packed_arguments out;
  out.args.reserve(sizeof...(Args));
  (out.args.push_back(encode_argument<std::tuple_element_t<I, params>>(
     std::tuple_element_t<I, params>(std::forward<Args>(args)))),
   ...);
  out.descriptors = descriptor_set{capture.take()};
  return out;
}

template <auto F, class... Args>
consteval bool check_arguments() {
  using sig = entry_signature<decltype(F)>;
  static_assert((check_argument<Args>() && ...));
  static_assert(sig::arity == sizeof...(Args),
                "troupe::os_process: the number of arguments differs from "
                "the entry point's number of parameters");
  static_assert(std::is_invocable_v<decltype(F), Args...>,
                "troupe::os_process: the arguments do not convert to the "
                "entry point's parameters");
  return true;
}

} // namespace isolate::detail

/// Whether this OS process was started as an `os_process` child and has
/// not yet run its entry point: Python's `__name__ != '__main__'`. Code in
/// `main` before the `troupe::runtime` line runs in the child too; guard
/// what must run only in the parent with `if (!troupe::is_os_process_child())`.
/// Does not need a runtime.
[[nodiscard]] bool is_os_process_child() noexcept;

/// A process running in a child OS process: Python's
/// `multiprocessing.Process` with its default isolation. The same
/// lifecycle, exit codes and supervision as `troupe::process`; its target
/// is a registered entry point (see troupe/isolate/entry.hpp) and its
/// arguments are values, serialized into the child.
///
///     void resize(std::string path, int width);
///     TROUPE_ENTRY(resize);
///     ...
///     troupe::os_process p{rt, {.name = "resizer"},
///                          troupe::entry<resize>, "a.png", 640};
///     p.start();
///     p.join();          // p.exitcode(): 0, 1, n, -15, -9, -11, ...
///
/// A crash, `abort()`, runaway memory or an endless loop in the child ends
/// only the child: the parent sees `-signal` and a reason naming the
/// signal ("killed by SIGSEGV (segmentation fault)"). `terminate()` sends
/// SIGTERM, which in the child is troupe's cooperative stop (blocking
/// troupe calls throw `terminated`, RAII unwinds); past the grace, the
/// child's whole process group gets SIGKILL. `kill()` sends SIGKILL at
/// once.
///
/// Handles are cheap to copy; all copies refer to the same process.
/// Thread-safety: every member from any thread.
class os_process {
public:
  template <auto F, class... Args>
    requires(isolate::detail::check_arguments<F, Args...>())
  os_process(runtime& rt, isolate::entry_t<F> e, Args&&... args)
    : os_process(rt, os_process_options{}, e, std::forward<Args>(args)...) {}

  template <auto F, class... Args>
    requires(isolate::detail::check_arguments<F, Args...>())
  os_process(runtime& rt, os_process_options opts, isolate::entry_t<F>,
             Args&&... args)
    : os_process(
      rt, std::move(opts), isolate::entry_t<F>::name(),
      isolate::detail::pack_arguments<F>(std::index_sequence_for<Args...>{},
                                         std::forward<Args>(args)...)) {}

  // -- lifecycle --------------------------------------------------------------

  /// Starts the child OS process: returns once it exists (its entry point
  /// starts soon after). Throws `state_error` when called a second time,
  /// after the runtime shut down, or for `forkserver` without a zygote
  /// (saying why), and `std::system_error` when the OS refuses (e.g. a
  /// `working_directory` that does not exist).
  void start();

  /// As `process::join`.
  void join() const;

  /// As `process::join(timeout)`.
  bool join(std::chrono::nanoseconds timeout) const;

  [[nodiscard]] bool is_alive() const;

  /// 0 after a normal return; 1 after an uncaught exception; n after
  /// `this_process::exit(n)`; -15 after `terminate()`; -9 after `kill()`
  /// or a terminate grace that ran out; `-signal` when a signal ended the
  /// child (a crash). Empty while running or never started.
  [[nodiscard]] std::optional<int> exitcode() const;

  /// Why it ended: empty after a normal return; the exception's type and
  /// message; `terminated`; `killed by SIGSEGV (segmentation fault)`; ...
  [[nodiscard]] std::string exit_reason() const;

  /// SIGTERM to the child (troupe's cooperative stop there); SIGKILL to its
  /// process group after the grace. Does not block. `state_error` before
  /// `start()`.
  void terminate() const;

  /// SIGKILL to the child's process group; the process is declared killed
  /// (-9) at once. Does not block. `state_error` before `start()`.
  void kill() const;

  // -- attributes -------------------------------------------------------------

  /// The process's id in this runtime (as `process::pid`); 0 before
  /// `start()`.
  [[nodiscard]] pid_type pid() const;

  /// The child's OS process id (Python's `Process.pid`); empty before
  /// `start()`.
  [[nodiscard]] std::optional<int> os_pid() const;

  [[nodiscard]] std::string name() const;

  /// Renames the process (before or after `start()`; the child keeps the
  /// name it started with).
  void name(std::string new_name);

  [[nodiscard]] bool daemon() const;

  /// Sets the daemon flag. Throws `state_error` after `start()`.
  void daemon(bool flag);

  // -- messages ---------------------------------------------------------------

  /// Puts a message into the child's mailbox (received there with
  /// `this_process::receive`); the sender is the calling process, so the
  /// child can `reply`. Every type in the message must be one CAF can
  /// serialize (numbers, strings, vectors of them, ...). Messages sent
  /// before the link to the child is up are held and delivered in order;
  /// before `start()` and after the end they are dropped.
  template <class... Ts>
  void send(Ts&&... xs) const {
    if (const auto* p = started_process())
      p->send(std::forward<Ts>(xs)...);
  }

  /// The process as a `troupe::process` handle (for supervisors,
  /// `active_children()`, exit hooks). `state_error` before `start()`.
  [[nodiscard]] const process& as_process() const;

private:
  os_process(runtime& rt, os_process_options opts, std::string_view entry,
             isolate::detail::packed_arguments args);

  /// The process once started; null before.
  [[nodiscard]] const process* started_process() const noexcept;

  std::shared_ptr<isolate::detail::os_process_impl> impl_;
};

namespace isolate::detail {

/// The arguments a `simple_one_for_one` supervisor's `start_child(extra...)`
/// adds (see child_start).
template <class... Extra>
std::tuple<Extra...> extra_arguments(const std::any* extra,
                                     const std::string& name) {
  if constexpr (sizeof...(Extra) == 0) {
    return {};
  } else {
    if (extra == nullptr)
      throw value_error("child '" + name
                        + "' takes arguments from "
                          "start_child(...); start it under a "
                          "simple_one_for_one supervisor");
    const auto* args = std::any_cast<std::tuple<Extra...>>(extra);
    if (args == nullptr)
      throw value_error("start_child: child template '" + name
                        + "' takes extra arguments ("
                        + ext::type_name(typeid(std::tuple<Extra...>))
                        + "), got (" + ext::type_name(extra->type()) + ")");
    return *args;
  }
}

} // namespace isolate::detail

/// A supervised child running entry point `F` in an OS process of its own,
/// named after the child's id: `troupe::start_os_process(troupe::entry<f>,
/// args...)` in a `child_spec`. Every restart is a fresh OS process with a
/// clean heap. `Extra` (explicit template arguments) are the types a
/// `simple_one_for_one` supervisor's `start_child` adds, as for
/// `start_process`. The options' name is replaced by the child's id.
template <class... Extra, auto F, class... Args>
  requires(
    isolate::detail::check_arguments<F, const Args&..., const Extra&...>())
child_start start_os_process(os_process_options opts, isolate::entry_t<F> e,
                             Args... args) {
  return child_start{
    [opts = std::move(opts), e, tup = std::make_tuple(std::move(args)...)](
      runtime& rt, const std::string& name, const std::any* extra) {
      auto all = std::tuple_cat(
        tup, isolate::detail::extra_arguments<Extra...>(extra, name));
      auto o = opts;
      o.name = name;
      auto p = std::apply(
        [&](const auto&... xs) {
          return os_process{rt, std::move(o), e, xs...};
        },
        all);
      p.start();
      return p.as_process();
    },
    child_type::worker};
}

/// As `start_os_process(opts, e, args...)` with default options.
template <class... Extra, auto F, class... Args>
  requires(
    isolate::detail::check_arguments<F, const Args&..., const Extra&...>())
child_start start_os_process(isolate::entry_t<F> e, Args... args) {
  return start_os_process<Extra...>(os_process_options{}, e,
                                    std::move(args)...);
}

} // namespace troupe
