#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include <caf/actor.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include "troupe/detail/unique_function.hpp"
#include "troupe/fwd.hpp"

namespace troupe {

namespace detail {

/// A callable a process can run with the given arguments: by value (moved
/// in) or by reference to the process's own copies.
template <class F, class... Args>
concept target_for = std::is_invocable_v < std::decay_t<F>
&, std::decay_t<Args>&&... >
     || std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&...>;

} // namespace detail

/// Settings of one process, given at construction with designated
/// initializers: `process p{rt, {.name = "A", .daemon = true}, f, x}`.
struct process_options {
  /// Empty picks Python's default, `Process-N` (N counts up per runtime).
  std::string name{};

  /// A daemon process is terminated when the runtime shuts down instead of
  /// being waited for. Empty inherits the flag of the creating process (the
  /// process or actor whose thread constructs it; the main process is not a
  /// daemon), as Python's `Process(daemon=None)` does.
  std::optional<bool> daemon{};

  /// Time between `terminate()` and declaring the process killed; empty
  /// takes the runtime's `terminate_grace`.
  std::optional<std::chrono::milliseconds> terminate_grace{};
};

/// A process: Python's `multiprocessing.Process`, run as an actor with a
/// mailbox on a thread of its own.
///
/// Construct it from a callable and its arguments (moved in, so move-only
/// arguments work), or derive from `process_base<T>` and override `run()`.
/// Then `start()` it and `join()` it. Inside the target, `this_process`
/// gives its identity, its mailbox, and the cancellation checkpoint.
///
/// Handles are cheap to copy and all copies refer to the same process; a
/// process keeps running when its handles are gone (the runtime waits for
/// it at shutdown unless it is a daemon).
///
/// Exit codes follow Python's: empty while running or never started; 0
/// after a normal return; 1 after an uncaught exception (see
/// `exit_reason()` for its type and message); the code passed to
/// `this_process::exit(code)`; -15 when it ended because of `terminate()`;
/// -9 when it was killed (`kill()`, or `terminate()` past its grace).
///
/// Thread-safety: every member may be called from any thread.
class process {
public:
  /// A process that will call `f(args...)` when started.
  template <class F, class... Args>
    requires(detail::target_for<F, Args...>)
  process(runtime& rt, F&& f, Args&&... args)
    : process(rt, process_options{}, std::forward<F>(f),
              std::forward<Args>(args)...) {}

  /// A process with options that will call `f(args...)` when started.
  template <class F, class... Args>
    requires(detail::target_for<F, Args...>)
  process(runtime& rt, process_options opts, F&& f, Args&&... args)
    : process(rt, std::move(opts)) {
    set_target([f = std::forward<F>(f),
                tup = std::make_tuple(std::forward<Args>(args)...)]() mutable {
      // The target runs once, so its arguments move in; a target taking
      // `T&` gets the process's own copy, as a Python child does.
      if constexpr (std::is_invocable_v<std::decay_t<F>&,
                                        std::decay_t<Args>&&...>)
        std::apply(f, std::move(tup));
      else
        std::apply(f, tup);
    });
  }

  process(const process&) = default;
  process(process&&) noexcept = default;
  process& operator=(const process&) = default;
  process& operator=(process&&) noexcept = default;
  virtual ~process();

  // -- lifecycle --------------------------------------------------------------

  /// Starts the process. Does not block (beyond handing the target to a
  /// thread). Throws `state_error` when called a second time or after the
  /// runtime shut down.
  void start();

  /// Blocks until the process has ended. Throws `state_error` before
  /// `start()` and when a process joins itself, and `terminated` when the
  /// joining process is asked to stop while it waits (joining a process
  /// that already ended never throws it).
  void join() const;

  /// Blocks until the process has ended or `timeout` passed; returns
  /// whether it ended. Errors as `join()`; a negative timeout throws
  /// `value_error`.
  bool join(std::chrono::nanoseconds timeout) const;

  /// Whether the process was started and has not ended. Does not block.
  [[nodiscard]] bool is_alive() const;

  /// See the class comment. Does not block.
  [[nodiscard]] std::optional<int> exitcode() const;

  /// Why the process ended, for people: empty after a normal return or
  /// while running; otherwise e.g. `std::runtime_error: disk full`,
  /// `terminated`, `killed after a terminate grace of 1000 ms`.
  [[nodiscard]] std::string exit_reason() const;

  /// Asks the process to stop: its next blocking troupe call (or
  /// `this_process::checkpoint()`) throws `terminated`, so RAII unwinds.
  /// If it has not ended after its terminate grace, it is declared killed:
  /// `join()` returns, its exit code is -9, and what it held is released.
  /// Does not block; no effect on an ended process; `state_error` before
  /// `start()`.
  void terminate() const;

  /// Declares the process killed now (exit code -9): `join()` returns and
  /// what it held is released at once. Its thread, which cannot be
  /// pre-empted, is also asked to stop as with `terminate()`. Does not
  /// block; no effect on an ended process; `state_error` before `start()`.
  void kill() const;

  // -- attributes -------------------------------------------------------------

  /// Unique, stable id within the runtime; 0 before `start()`.
  [[nodiscard]] pid_type pid() const;

  [[nodiscard]] std::string name() const;

  /// Renames the process (allowed at any time, as in Python).
  void name(std::string new_name);

  [[nodiscard]] bool daemon() const;

  /// Sets the daemon flag. Throws `state_error` after `start()`.
  void daemon(bool flag);

  // -- messages ---------------------------------------------------------------

  /// Puts a message into the process's mailbox; the sender is the calling
  /// process. Does not block. A message to a process that has not started
  /// or has ended is dropped, as in Erlang.
  template <class... Ts>
  void send(Ts&&... xs) const {
    send_message(caf::make_message(std::forward<Ts>(xs)...));
  }

  /// The CAF actor behind the process while it runs (empty before start and
  /// after its end), for CAF-level interplay: monitors, links, requests.
  [[nodiscard]] caf::actor handle() const;

  // -- comparison and printing ------------------------------------------------

  friend bool operator==(const process& x, const process& y) noexcept {
    return x.state_ == y.state_;
  }

  /// Prints Python's repr: `<process name='A' pid=3 parent=1 started>`,
  /// `... stopped exitcode=0>`.
  friend std::ostream& operator<<(std::ostream& out, const process& x);

protected:
  /// Wraps existing state (current_process(), a supervisor, actor handles).
  explicit process(std::shared_ptr<detail::process_state> st)
    : state_(std::move(st)) {}

  /// For subclasses (see `process_base`): a process that runs `run()`.
  process(runtime& rt, process_options opts);

  /// The process's body. The default calls the target given at
  /// construction, as in Python.
  virtual void run();

private:
  /// The object the started process runs: a copy of the subclass object
  /// (see `process_base`), or none for the target form.
  [[nodiscard]] virtual std::unique_ptr<process> clone_for_start() const;

  template <class Derived>
  friend class process_base;

  friend class detail::process_actor; // calls run()
  friend struct detail::process_access;

  void set_target(detail::unique_function<void()> target);

  void send_message(caf::message msg) const;

  std::shared_ptr<detail::process_state> state_;
};

namespace detail {

/// The framework's way into a process handle (modules use `troupe/ext/`):
/// its state, and a handle for a state.
struct process_access {
  [[nodiscard]] static const std::shared_ptr<process_state>&
  state(const process& p) noexcept {
    return p.state_;
  }

  /// A handle of type `Handle` (`process`, or `actor`) for `st`.
  template <class Handle = process>
  [[nodiscard]] static Handle make(std::shared_ptr<process_state> st) {
    return Handle{std::move(st)};
  }
};

} // namespace detail

/// Base for processes that override `run()`, Python's `class P(Process)`.
///
///     class worker : public troupe::process_base<worker> {
///     public:
///       worker(troupe::runtime& rt, int n) : process_base{rt, {.name = "w"}},
///       n_{n} {} void run() override { ... n_ ... }
///     private:
///       int n_;
///     };
///
/// As in Python, where the child works on its own copy of the object,
/// `start()` copies the object and the copy runs: changes `run()` makes to
/// members are not seen by the parent (share state through channels), and
/// the parent's object may be destroyed while the process runs. `Derived`
/// must therefore be copy-constructible.
template <class Derived>
class process_base : public process {
public:
  explicit process_base(runtime& rt, process_options opts = {})
    : process(rt, std::move(opts)) {}

private:
  [[nodiscard]] std::unique_ptr<process> clone_for_start() const override {
    static_assert(std::is_copy_constructible_v<Derived>,
                  "a process subclass must be copy-constructible: the "
                  "started process runs on its own copy, as in Python");
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }
};

} // namespace troupe
