#pragma once

// Supervisor tests that hold for every kind of child: a thread
// (`troupe::process`) or an OS process (`troupe::os_process`). A binary
// includes this header once and instantiates the suites `supervisor_kinds`
// and `supervisor_kinds_restart` with its kinds (see
// supervisor_thread_kind_test.cpp, and supervisor_kinds_test.cpp in the
// isolate module's tests). The bodies are supervisor_test.cpp's and
// supervisor_conformance_test.cpp's, with the same expectations; only the
// plumbing differs: workers log to a file, since a troupe::queue cannot
// cross into another OS process, and every worker body is a plain function
// of strings and ints, so that it can be an entry point.

#include <algorithm>
#include <any>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/troupe.hpp>

#include "test_util.hpp"

namespace supervisor_cases {

using namespace std::chrono_literals;
using troupe::child_spec;
using troupe::child_state;
using troupe::restart;
using troupe::strategy;
using troupe::test::deadline;
using troupe::test::eventually;

/// How long a test waits for what must happen soon, before it calls it a
/// failure.
constexpr auto soon = std::chrono::milliseconds{5000};

// -- the log ----------------------------------------------------------------

/// Appends `line` to the file `path` in one O_APPEND write, so that lines
/// of several OS processes never interleave.
inline void append_line(const std::string& path, const std::string& line) {
  auto text = line + '\n';
  int fd
    = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::system_error(errno, std::generic_category(), "open " + path);
  auto n = ::write(fd, text.data(), text.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    throw std::runtime_error("cannot append to " + path);
}

/// The log of one test: a file the workers append lines to, read in order
/// as a troupe::queue would be.
class file_log {
public:
  file_log()
    : path_((std::filesystem::temp_directory_path()
             / ("troupe-sup-kinds-" + std::to_string(::getpid()) + "-"
                + std::to_string(++counter)))
              .string()) {
    std::filesystem::remove(path_);
  }
  ~file_log() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  file_log(const file_log&) = delete;
  file_log& operator=(const file_log&) = delete;

  [[nodiscard]] const std::string& path() const {
    return path_;
  }

  /// Every whole line written so far.
  [[nodiscard]] std::vector<std::string> lines() const {
    std::ifstream in{path_};
    std::stringstream text;
    text << in.rdbuf();
    auto all = text.str();
    std::vector<std::string> out;
    std::size_t from = 0;
    // A line without its '\n' is still being written.
    for (auto nl = all.find('\n'); nl != std::string::npos;
         nl = all.find('\n', from)) {
      out.push_back(all.substr(from, nl - from));
      from = nl + 1;
    }
    return out;
  }

  /// The line after the last one taken, if it comes within `limit`.
  std::optional<std::string> try_get(std::chrono::milliseconds limit) {
    std::vector<std::string> now;
    if (!eventually(
          [&] {
            now = lines();
            return now.size() > taken_;
          },
          limit))
      return std::nullopt;
    return now[taken_++];
  }

private:
  static inline int counter = 0;
  std::string path_;
  std::size_t taken_ = 0;
};

/// The next log line, or a failure naming what was expected.
inline std::string next(file_log& log) {
  auto line = log.try_get(deadline);
  return line ? *line : std::string{"<nothing logged within the deadline>"};
}

/// The next `lines.size()` log lines, in whatever order they came: children
/// start in order, but each logs from its own thread or OS process.
inline void expect_lines(file_log& log, std::vector<std::string> lines) {
  std::vector<std::string> got;
  for (std::size_t i = 0; i < lines.size(); ++i)
    got.push_back(next(log));
  std::sort(lines.begin(), lines.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, lines);
}

// -- the workers (entry points for OS processes) ----------------------------

/// What a worker does when told by a message.
enum command : int {
  exit_normally = 0, // return: exit code 0
  fail = 1,          // throw std::runtime_error("boom"): exit code 1
  exit_two = 2,      // this_process::exit(2): abnormal
  shut_down = 3,     // throw terminated: exit code -15, a shutdown
};

/// Logs "start <id>", then obeys one command from its mailbox; logs
/// "stop <id>" when asked to stop.
inline void worker(std::string log, std::string id) {
  append_line(log, "start " + id);
  int cmd = -1;
  try {
    cmd = troupe::this_process::receive<int>();
  } catch (const troupe::terminated&) {
    append_line(log, "stop " + id);
    throw;
  }
  switch (cmd) {
    case fail:
      throw std::runtime_error("boom");
    case exit_two:
      troupe::this_process::exit(2);
    case shut_down:
      throw troupe::terminated("shutdown");
    default:
      return;
  }
}

/// Logs "<prefix> <n> <word>", then waits for any message.
inline void echo_worker(std::string log, std::string prefix, int n,
                        std::string word) {
  append_line(log, prefix + " " + std::to_string(n) + " " + word);
  (void)troupe::this_process::receive<int>();
}

/// Logs "start <id>", waits; asked to stop, needs 200 ms (a slow flush,
/// say) before it does.
inline void slow_stopper(std::string log, std::string id) {
  append_line(log, "start " + id);
  try {
    (void)troupe::this_process::receive<int>();
  } catch (const troupe::terminated&) {
    std::this_thread::sleep_for(200ms); // its cleanup
    throw;
  }
}

/// Logs "start <id>", then never reaches a troupe call again (a loop
/// without a checkpoint): deaf to a request to stop. An OS process of it
/// ends only by SIGKILL.
inline void deaf(std::string log, std::string id) {
  append_line(log, "start " + id);
  for (;;)
    std::this_thread::sleep_for(1ms);
}

// -- the kind of child ------------------------------------------------------

/// How a suite's children run: each start returns a started process
/// running the worker named (see above) as a thread or an OS process.
class child_kind {
public:
  virtual ~child_kind() = default;

  /// worker(log, id).
  [[nodiscard]] virtual troupe::child_start
  worker(const std::string& log, const std::string& id) const = 0;

  /// A simple_one_for_one template: start_child(std::string id) runs
  /// worker(log, id).
  [[nodiscard]] virtual troupe::child_start
  worker_template(const std::string& log) const = 0;

  /// start_child(int n, std::string word) runs echo_worker(log, prefix, n,
  /// word).
  [[nodiscard]] virtual troupe::child_start
  echo_template(const std::string& log, const std::string& prefix) const = 0;

  /// start_child(std::string id) runs slow_stopper(log, id).
  [[nodiscard]] virtual troupe::child_start
  slow_stopper_template(const std::string& log) const = 0;

  /// deaf(log, id); a thread of it runs until release_deaf().
  [[nodiscard]] virtual troupe::child_start
  deaf(const std::string& log, const std::string& id) const = 0;

  /// start_child(std::string id) runs deaf(log, id).
  [[nodiscard]] virtual troupe::child_start
  deaf_template(const std::string& log) const = 0;

  /// Lets deaf threads end once their test is done with them (a thread
  /// that was declared killed still runs).
  virtual void release_deaf() const {}

  /// How long a test watches for a start that must not come: a thread logs
  /// within microseconds, an OS process only once it was loaded.
  [[nodiscard]] virtual std::chrono::milliseconds quiet() const = 0;

  /// Whether ending a child costs real CPU time of its own (an OS process
  /// under a sanitizer spends a good part of a second in its exit), so
  /// that ten ends on two cores cannot show that they ran in parallel.
  [[nodiscard]] virtual bool costly_ends() const {
    return false;
  }
};

/// A kind as a test parameter.
struct kind_param {
  std::string name;
  std::function<std::unique_ptr<child_kind>()> make;
};

inline void PrintTo(const kind_param& p, std::ostream* os) {
  *os << p.name;
}

inline std::string kind_name(const testing::TestParamInfo<kind_param>& info) {
  return info.param.name;
}

// -- helpers ----------------------------------------------------------------

inline std::optional<troupe::child_info> info_of(const troupe::supervisor& sup,
                                                 const std::string& id) {
  for (auto& c : sup.which_children())
    if (c.id == id)
      return c;
  return std::nullopt;
}

inline child_state state_of(const troupe::supervisor& sup,
                            const std::string& id) {
  auto c = info_of(sup, id);
  return c ? c->state : child_state::stopped;
}

/// The running handle of child `id`.
inline troupe::process child_of(const troupe::supervisor& sup,
                                const std::string& id) {
  auto c = info_of(sup, id);
  if (!c || !c->handle)
    throw std::runtime_error("no running child " + id);
  return *c->handle;
}

/// Waits until child `id` runs an instance other than `old`.
inline troupe::process replaced(const troupe::supervisor& sup,
                                const std::string& id,
                                const troupe::process& old) {
  std::optional<troupe::process> now;
  EXPECT_TRUE(eventually([&] {
    for (auto& c : sup.which_children())
      if (c.id == id && c.handle && !(*c.handle == old)) {
        now = *c.handle;
        return true;
      }
    return false;
  }))
    << "child " << id << " was not restarted";
  return now ? *now : old;
}

inline bool has_child(const troupe::supervisor& sup, const std::string& id) {
  auto kids = sup.which_children();
  return std::any_of(kids.begin(), kids.end(),
                     [&](auto& c) { return c.id == id; });
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

template <class F>
troupe::supervisor_errc errc_of(F f) {
  try {
    f();
  } catch (const troupe::supervisor_error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no supervisor_error";
  return troupe::supervisor_errc::not_running;
}

/// Collects events (the on_event callback runs on the supervisor's thread,
/// or on the thread of a fast restart).
struct event_log {
  std::mutex mtx;
  std::vector<troupe::supervisor_event> events;

  std::function<void(const troupe::supervisor_event&)> callback() {
    return [this](const troupe::supervisor_event& ev) {
      std::lock_guard guard{mtx};
      events.push_back(ev);
    };
  }

  std::size_t count(troupe::supervisor_event::kind what) {
    std::lock_guard guard{mtx};
    return static_cast<std::size_t>(std::count_if(
      events.begin(), events.end(), [&](auto& ev) { return ev.what == what; }));
  }

  std::vector<troupe::supervisor_event>
  of(troupe::supervisor_event::kind what) {
    std::lock_guard guard{mtx};
    std::vector<troupe::supervisor_event> result;
    for (auto& ev : events)
      if (ev.what == what)
        result.push_back(ev);
    return result;
  }
};

/// Retries often but slowly enough that a loop of failed starts is seen.
inline troupe::supervisor_options looping(strategy s) {
  return {.strategy = s,
          .restarts = {.intensity = 10'000, .period = std::chrono::seconds{60}},
          .backoff
          = troupe::backoff_options{.min = 20ms, .max = 20ms, .jitter = 0.0}};
}

/// The restart types' cases (OTP: permanent_normal, transient_shutdown,
/// ...).
struct restart_case {
  restart type;
  command how;
  bool restarted;
  const char* name;
};

inline std::vector<restart_case> restart_cases() {
  return {
    {restart::permanent, exit_normally, true, "permanent_exit_normally"},
    {restart::permanent, shut_down, true, "permanent_shut_down"},
    {restart::permanent, fail, true, "permanent_fail"},
    {restart::transient, exit_normally, false, "transient_exit_normally"},
    {restart::transient, shut_down, false, "transient_shut_down"},
    {restart::transient, fail, true, "transient_fail"},
    {restart::transient, exit_two, true, "transient_exit_two"},
    {restart::temporary, exit_normally, false, "temporary_exit_normally"},
    {restart::temporary, shut_down, false, "temporary_shut_down"},
    {restart::temporary, fail, false, "temporary_fail"},
  };
}

inline void PrintTo(const restart_case& c, std::ostream* os) {
  *os << c.name;
}

using restart_param = std::tuple<kind_param, restart_case>;

inline std::string
restart_param_name(const testing::TestParamInfo<restart_param>& info) {
  return std::get<0>(info.param).name + "_" + std::get<1>(info.param).name;
}

inline const kind_param& kind_of(const kind_param& p) {
  return p;
}

inline const kind_param& kind_of(const restart_param& p) {
  return std::get<0>(p);
}

/// The fixture: the kind, and child specs of its workers.
template <class Param>
class kind_test : public testing::TestWithParam<Param> {
protected:
  void SetUp() override {
    kind_ = kind_of(this->GetParam()).make();
  }
  void TearDown() override {
    kind_->release_deaf();
    kind_.reset();
  }

  [[nodiscard]] const child_kind& kind() const {
    return *kind_;
  }

  child_spec worker_spec(const file_log& log, const std::string& id,
                         restart r = restart::permanent) const {
    return child_spec{
      .id = id, .start = kind_->worker(log.path(), id), .restart = r};
  }

  /// A worker `id` whose start works `good` times, then throws; `starts`
  /// counts the attempts.
  child_spec flaky_spec(const file_log& log, const std::string& id,
                        std::shared_ptr<std::atomic<int>> starts, int good = 1,
                        std::string why = {}) const {
    if (why.empty())
      why = id + " cannot start";
    return child_spec{.id = id,
                      .start = [inner = kind_->worker(log.path(), id), id,
                                starts, good, why](troupe::runtime& r) {
                        if (++*starts > good)
                          throw std::runtime_error(why);
                        return inner(r, id, nullptr);
                      }};
  }

  /// A worker `id` whose starts are counted in `starts`.
  child_spec counted_spec(const file_log& log, const std::string& id,
                          std::shared_ptr<std::atomic<int>> starts) const {
    return flaky_spec(log, id, std::move(starts), 1'000'000);
  }

  /// A worker "once" whose start works the first time only; `starts`
  /// counts the attempts.
  child_spec starts_only_once(const file_log& log,
                              std::shared_ptr<std::atomic<int>> starts) const {
    return flaky_spec(log, "once", std::move(starts), 1, "gone for good");
  }

  /// A worker `id` whose start works the first time and from the third on
  /// (b in the one_for_all retry tests); `starts` counts the attempts.
  child_spec
  fails_second_start(const file_log& log, const std::string& id,
                     std::shared_ptr<std::atomic<int>> starts) const {
    return child_spec{.id = id,
                      .start = [inner = kind_->worker(log.path(), id), id,
                                starts](troupe::runtime& r) {
                        if (++*starts == 2)
                          throw std::runtime_error(id + " cannot start now");
                        return inner(r, id, nullptr);
                      }};
  }

  /// The simple_one_for_one template "w": `start_child(n)` runs worker
  /// "w<n>"; child 1's start works only the first time.
  troupe::child_start
  flaky_template(const file_log& log,
                 std::shared_ptr<std::atomic<int>> starts) const {
    return troupe::child_start{
      [inner = kind_->worker_template(log.path()), starts](
        troupe::runtime& r, const std::string& name, const std::any* extra) {
        auto n = std::get<0>(std::any_cast<const std::tuple<int>&>(*extra));
        if (n == 1 && ++*starts > 1)
          throw std::runtime_error("w1 cannot start");
        std::any id = std::tuple<std::string>{"w" + std::to_string(n)};
        return inner(r, name, &id);
      },
      troupe::child_type::worker};
  }

private:
  std::unique_ptr<child_kind> kind_;
};

} // namespace supervisor_cases

class supervisor_kinds
  : public supervisor_cases::kind_test<supervisor_cases::kind_param> {};

class supervisor_kinds_restart
  : public supervisor_cases::kind_test<supervisor_cases::restart_param> {};

// The test bodies: those of the originals, under the same names.

// -- restart types (OTP: permanent_normal, transient_shutdown, ...) ---------

TEST_P(supervisor_kinds_restart, restart_type_decides_after_each_kind_of_exit) {
  using namespace supervisor_cases;
  auto [type, how, restarted, name] = std::get<1>(GetParam());
  (void)name;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt, {.restarts = {.intensity = 10}}, {worker_spec(log, "w", type)}};
  ASSERT_EQ(next(log), "start w");
  auto first = child_of(sup, "w");
  first.send(static_cast<int>(how));
  first.join();
  if (restarted) {
    EXPECT_EQ(next(log), "start w");
    auto second = replaced(sup, "w", first);
    EXPECT_TRUE(second.is_alive());
    EXPECT_EQ(sup.restarts(), 1);
    return;
  }
  // Not restarted: temporary specs are gone, the others are kept stopped.
  ASSERT_TRUE(eventually([&] {
    return type == restart::temporary
             ? !has_child(sup, "w")
             : state_of(sup, "w") == child_state::stopped;
  }));
  EXPECT_EQ(sup.count_children().active, 0u);
  EXPECT_EQ(sup.restarts(), 0);
  EXPECT_FALSE(log.try_get(kind().quiet()))
    << "a child that must stay down started";
}

TEST_P(supervisor_kinds,
       kill_is_an_abnormal_exit_and_restarts_a_transient_child) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{rt, {}, {worker_spec(log, "w", restart::transient)}};
  ASSERT_EQ(next(log), "start w");
  auto first = child_of(sup, "w");
  first.kill();
  EXPECT_EQ(first.exitcode(), -9);
  // The killed thread may still log its stop before the new one starts.
  auto line = next(log);
  if (line == "stop w")
    line = next(log);
  EXPECT_EQ(line, "start w");
  replaced(sup, "w", first);
}

// -- intensity --------------------------------------------------------------

TEST_P(supervisor_kinds,
       one_for_one_the_third_abnormal_exit_within_the_period_stops_it) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.name = "sup", .restarts = {.intensity = 2, .period = 3600s}},
    {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  for (int i = 0; i < 2; ++i) {
    auto w = child_of(sup, "w");
    w.send(static_cast<int>(fail));
    ASSERT_EQ(next(log), "start w");
    replaced(sup, "w", w);
  }
  child_of(sup, "w").send(static_cast<int>(fail));
  ASSERT_TRUE(sup.join(deadline)) << "the supervisor did not give up";
  EXPECT_EQ(sup.exitcode(), 1);
  EXPECT_TRUE(contains(sup.exit_reason(), "maximum restart intensity"))
    << sup.exit_reason();
  EXPECT_TRUE(contains(sup.exit_reason(), "std::runtime_error: boom"))
    << sup.exit_reason();
}

TEST_P(supervisor_kinds, multiple_restarts_a_sliding_window_keeps_it_alive) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{rt,
                         {.restarts = {.intensity = 2, .period = 300ms}},
                         {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  auto crash_twice = [&] {
    for (int i = 0; i < 2; ++i) {
      auto w = child_of(sup, "w");
      w.send(static_cast<int>(fail));
      ASSERT_EQ(next(log), "start w");
      replaced(sup, "w", w);
    }
  };
  crash_twice();
  // Not synchronization: the point is that the period passes, so the two
  // restarts above fall out of the window.
  std::this_thread::sleep_for(350ms);
  crash_twice();
  EXPECT_TRUE(sup.is_alive());
  EXPECT_EQ(sup.restarts(), 4);
}

TEST_P(supervisor_kinds, intensity_zero_gives_up_at_the_first_restart) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt, {.restarts = {.intensity = 0}}, {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  child_of(sup, "w").send(static_cast<int>(fail));
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(sup.exitcode(), 1);
}

// -- escalation -------------------------------------------------------------

TEST_P(supervisor_kinds,
       a_nested_supervisor_that_gives_up_is_restarted_by_its_parent) {
  using namespace supervisor_cases;
  for (auto inner_strategy :
       {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one,
        strategy::simple_one_for_one}) {
    SCOPED_TRACE(static_cast<int>(inner_strategy));
    troupe::runtime rt;
    file_log log;
    event_log events;
    auto inner
      = child_spec{.id = "inner",
                   .start = troupe::start_supervisor(
                     {.strategy = inner_strategy, .restarts = {.intensity = 0}},
                     {worker_spec(log, "w")})};
    troupe::supervisor top{rt,
                           {.name = "top",
                            .restarts = {.intensity = 5},
                            .on_event = events.callback()},
                           {inner}};
    auto sub = troupe::supervisor::from(child_of(top, "inner"));
    if (inner_strategy == strategy::simple_one_for_one)
      sub.start_child();
    ASSERT_EQ(next(log), "start w");
    sub.which_children().at(0).handle->send(static_cast<int>(fail));
    ASSERT_TRUE(sub.join(deadline));
    EXPECT_EQ(sub.exitcode(), 1);
    auto again = replaced(top, "inner", sub);
    EXPECT_TRUE(again.is_alive());
    auto exits = events.of(troupe::supervisor_event::kind::child_exited);
    ASSERT_EQ(exits.size(), 1u);
    EXPECT_EQ(exits[0].child, "inner");
    EXPECT_TRUE(contains(exits[0].reason, "maximum restart intensity"))
      << exits[0].reason;
    if (inner_strategy != strategy::simple_one_for_one) {
      EXPECT_EQ(next(log), "start w"); // the new inner supervisor's child
    }
  }
}

// -- strategies -------------------------------------------------------------

TEST_P(supervisor_kinds, order_of_children_start_in_order_and_stop_in_reverse) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::rest_for_one},
                         {worker_spec(log, "a"), worker_spec(log, "b"),
                          worker_spec(log, "c"), worker_spec(log, "d")}};
  expect_lines(log, {"start a", "start b", "start c", "start d"});
  auto pids = [&] {
    std::vector<troupe::pid_type> result;
    for (auto& c : sup.which_children())
      result.push_back(c.handle ? c.handle->pid() : 0);
    return result;
  };
  auto before = pids();
  EXPECT_TRUE(std::is_sorted(before.begin(), before.end()));
  // rest_for_one: b fails; d then c stop (reverse), b c d start (in order:
  // their pids follow that order).
  child_of(sup, "b").send(static_cast<int>(fail));
  EXPECT_EQ(next(log), "stop d");
  EXPECT_EQ(next(log), "stop c");
  expect_lines(log, {"start b", "start c", "start d"});
  std::vector<troupe::pid_type> after;
  ASSERT_TRUE(eventually([&] {
    after = pids();
    return std::count(after.begin(), after.end(), 0) == 0;
  }));
  EXPECT_EQ(after[0], before[0]);
  EXPECT_GT(after[1], before[3]);
  EXPECT_TRUE(std::is_sorted(after.begin(), after.end()));
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  for (auto line : {"stop d", "stop c", "stop b", "stop a"})
    EXPECT_EQ(next(log), line);
  EXPECT_EQ(sup.exitcode(), -15);
}

TEST_P(supervisor_kinds, one_for_all_restarts_every_child) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::one_for_all},
    {worker_spec(log, "a"), worker_spec(log, "b"), worker_spec(log, "c")}};
  expect_lines(log, {"start a", "start b", "start c"});
  child_of(sup, "b").send(static_cast<int>(fail));
  EXPECT_EQ(next(log), "stop c");
  EXPECT_EQ(next(log), "stop a");
  expect_lines(log, {"start a", "start b", "start c"});
  EXPECT_TRUE(eventually([&] { return sup.count_children().active == 3; }));
}

TEST_P(supervisor_kinds, one_for_all_other_child_fails_restart_and_is_retried) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  // b starts the first time, fails the second, starts the third.
  auto flaky = fails_second_start(log, "b", starts);
  event_log events;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::one_for_all,
                          .restarts = {.intensity = 5},
                          .on_event = events.callback()},
                         {worker_spec(log, "a"), flaky}};
  expect_lines(log, {"start a", "start b"});
  child_of(sup, "a").send(static_cast<int>(fail));
  EXPECT_EQ(next(log), "stop b");
  // b's failed start is retried as a group restart, as OTP's: the a that
  // the failed attempt started is stopped, and a and b start again
  // together (a restarted twice, b once).
  ASSERT_TRUE(eventually(
    [&] { return sup.count_children().active == 2 && starts->load() == 3; }));
  auto kids = sup.which_children();
  ASSERT_EQ(kids.size(), 2u);
  EXPECT_EQ(kids[0].restarts, 2);
  EXPECT_EQ(kids[1].restarts, 1);
  auto failed = events.of(troupe::supervisor_event::kind::start_failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].child, "b");
  EXPECT_TRUE(contains(failed[0].reason, "b cannot start now"));
  EXPECT_EQ(starts->load(), 3);
}

TEST_P(supervisor_kinds,
       temporary_bystander_is_not_restarted_and_does_not_count) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::one_for_all, .restarts = {.intensity = 1}},
    {worker_spec(log, "a"), worker_spec(log, "t", restart::temporary)}};
  expect_lines(log, {"start a", "start t"});
  child_of(sup, "a").send(static_cast<int>(fail));
  EXPECT_EQ(next(log), "stop t");
  EXPECT_EQ(next(log), "start a");
  ASSERT_TRUE(eventually([&] { return sup.count_children().active == 1; }));
  EXPECT_FALSE(has_child(sup, "t"));
  EXPECT_EQ(sup.count_children().specs, 1u);
  EXPECT_EQ(sup.restarts(), 1);
  EXPECT_TRUE(sup.is_alive()); // one restart is within intensity 1
}

// -- administration (OTP: child_adm, child_adm_simple) ----------------------

TEST_P(supervisor_kinds, child_adm_gives_otp_results) {
  using namespace supervisor_cases;
  using troupe::supervisor_errc;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{rt, {}};
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{0, 0, 0, 0}));
  auto w = sup.start_child(worker_spec(log, "w"));
  EXPECT_EQ(next(log), "start w");
  EXPECT_TRUE(w.is_alive());
  EXPECT_EQ(w.name(), "w");
  EXPECT_EQ(errc_of([&] { sup.start_child(worker_spec(log, "w")); }),
            supervisor_errc::already_started);
  EXPECT_EQ(errc_of([&] { sup.delete_child("w"); }), supervisor_errc::running);
  EXPECT_EQ(errc_of([&] { sup.restart_child("w"); }), supervisor_errc::running);
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{1, 1, 0, 1}));

  sup.terminate_child("w");
  EXPECT_EQ(next(log), "stop w");
  EXPECT_EQ(w.exitcode(), -15);
  sup.terminate_child("w"); // idempotent
  EXPECT_EQ(state_of(sup, "w"), child_state::stopped);
  EXPECT_EQ(errc_of([&] { sup.start_child(worker_spec(log, "w")); }),
            supervisor_errc::already_present);
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{1, 0, 0, 1}));

  auto again = sup.restart_child("w");
  EXPECT_EQ(next(log), "start w");
  EXPECT_TRUE(again.is_alive());
  sup.terminate_child("w");
  EXPECT_EQ(next(log), "stop w");
  sup.delete_child("w");
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{0, 0, 0, 0}));
  EXPECT_EQ(errc_of([&] { sup.terminate_child("w"); }),
            supervisor_errc::not_found);
  EXPECT_EQ(errc_of([&] { sup.restart_child("w"); }),
            supervisor_errc::not_found);
  EXPECT_EQ(errc_of([&] { sup.delete_child("w"); }),
            supervisor_errc::not_found);
  EXPECT_EQ(errc_of([&] { sup.start_child(42); }), supervisor_errc::not_simple);

  // A temporary child's spec goes with terminate_child.
  sup.start_child(worker_spec(log, "t", restart::temporary));
  EXPECT_EQ(next(log), "start t");
  sup.terminate_child("t");
  EXPECT_FALSE(has_child(sup, "t"));
}

TEST_P(supervisor_kinds,
       child_adm_simple_starts_children_with_extra_arguments) {
  using namespace supervisor_cases;
  using troupe::supervisor_errc;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "echo",
                .start = kind().echo_template(log.path(), "hello"),
                .restart = restart::temporary}}};
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{1, 0, 0, 0}));
  auto one = sup.start_child(1, "one");
  auto two = sup.start_child(2, std::string{"two"});
  expect_lines(log, {"hello 1 one", "hello 2 two"});
  EXPECT_EQ(sup.count_children(), (troupe::child_counts{1, 2, 0, 2}));
  EXPECT_THROW(sup.start_child(1.5), troupe::value_error);
  EXPECT_THROW(sup.start_child(), troupe::value_error);
  EXPECT_EQ(errc_of([&] { sup.terminate_child("echo"); }),
            supervisor_errc::simple_one_for_one);
  EXPECT_EQ(errc_of([&] { sup.restart_child("echo"); }),
            supervisor_errc::simple_one_for_one);
  EXPECT_EQ(errc_of([&] { sup.delete_child("echo"); }),
            supervisor_errc::simple_one_for_one);
  sup.terminate_child(one);
  EXPECT_FALSE(one.is_alive());
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{1, 1, 0, 1})); // specs: the template, as OTP
  EXPECT_EQ(errc_of([&] { sup.terminate_child(one); }),
            supervisor_errc::not_found);
  two.send(0); // a temporary child that ends is forgotten
  ASSERT_TRUE(eventually([&] { return sup.count_children().workers == 0; }));
}

TEST_P(supervisor_kinds,
       simple_one_for_one_restarts_a_child_with_its_arguments) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "echo",
                .start = kind().echo_template(log.path(), "hi")}}};
  auto first = sup.start_child(7, "x");
  EXPECT_EQ(next(log), "hi 7 x");
  first.kill();
  EXPECT_EQ(next(log), "hi 7 x");
  ASSERT_TRUE(eventually([&] { return sup.count_children().active == 1; }));
}

TEST_P(supervisor_kinds,
       count_children_counts_the_simple_template_as_one_spec) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "w", .start = kind().worker_template(log.path())}}};
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 0, .supervisors = 0, .workers = 0}));
  (void)sup.start_child("w1");
  (void)sup.start_child("w2");
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 2, .supervisors = 0, .workers = 2}));
}

// -- stopping ---------------------------------------------------------------

TEST_P(supervisor_kinds, sup_stop_timeout_kills_a_slow_child_after_its_grace) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  // Ignores the request to stop (a tight loop that never reaches a
  // checkpoint).
  auto stubborn = child_spec{.id = "stubborn",
                             .start = kind().deaf(log.path(), "stubborn"),
                             .shutdown = 200ms};
  troupe::supervisor sup{rt, {}, {worker_spec(log, "polite"), stubborn}};
  expect_lines(log, {"start polite", "start stubborn"});
  auto slow = child_of(sup, "stubborn");
  auto polite = child_of(sup, "polite");
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(slow.exitcode(), -9);
  EXPECT_EQ(slow.exit_reason(), "killed after a shutdown grace of 200 ms");
  EXPECT_EQ(polite.exitcode(), -15);
  EXPECT_EQ(next(log), "stop polite");
  kind().release_deaf();
}

TEST_P(supervisor_kinds, brutal_kill_does_not_wait) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto spec = worker_spec(log, "w");
  spec.shutdown = troupe::shutdown_spec::brutal_kill();
  troupe::supervisor sup{rt, {}, {spec}};
  ASSERT_EQ(next(log), "start w");
  auto w = child_of(sup, "w");
  sup.terminate_child("w");
  EXPECT_EQ(w.exitcode(), -9);
}

// Not in the originals: shutdown infinity waits however long the child's
// own stop takes (here longer than the runtime's terminate grace), and
// never kills it.
TEST_P(supervisor_kinds, shutdown_infinity_waits_for_a_slow_stop) {
  using namespace supervisor_cases;
  troupe::runtime rt{{.terminate_grace = 100ms}};
  file_log log;
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "slow",
                .start = kind().slow_stopper_template(log.path()),
                .shutdown = troupe::shutdown_spec::infinity()}}};
  auto slow = sup.start_child(std::string{"s"});
  ASSERT_EQ(next(log), "start s");
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate_child(slow);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms)
    << "terminate_child did not wait for the child's stop";
  EXPECT_EQ(slow.exitcode(), -15);
  EXPECT_EQ(slow.exit_reason(), "terminated");
}

TEST_P(supervisor_kinds,
       a_child_whose_start_keeps_failing_ends_the_supervisor) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto once = starts_only_once(log, starts);
  troupe::supervisor sup{rt, {.restarts = {.intensity = 3}}, {once}};
  ASSERT_EQ(next(log), "start once");
  child_of(sup, "once").send(static_cast<int>(fail));
  ASSERT_TRUE(sup.join(deadline)) << "a hanging restart loop";
  EXPECT_EQ(sup.exitcode(), 1);
  EXPECT_TRUE(contains(sup.exit_reason(), "gone for good"))
    << sup.exit_reason();
}

TEST_P(supervisor_kinds,
       a_restart_loop_does_not_hang_terminate_child_or_shutdown) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto once = starts_only_once(log, starts);
  troupe::supervisor sup{
    rt,
    {.restarts = {.intensity = 1000},
     .backoff = troupe::backoff_options{.min = 20ms, .max = 40ms}},
    {once, worker_spec(log, "other")}};
  expect_lines(log, {"start once", "start other"});
  child_of(sup, "once").send(static_cast<int>(fail));
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  EXPECT_EQ(state_of(sup, "once"), child_state::restarting);
  sup.terminate_child("once");
  EXPECT_EQ(state_of(sup, "once"), child_state::stopped);
  auto seen = starts->load();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(starts->load(), seen) << "a stopped child was started again";
}

TEST_P(supervisor_kinds, construction_fails_cleanly_when_a_child_cannot_start) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto bad
    = child_spec{.id = "bad", .start = [](troupe::runtime&) -> troupe::process {
                   throw std::runtime_error("missing config");
                 }};
  try {
    troupe::supervisor sup{rt, {.name = "s"}, {worker_spec(log, "a"), bad}};
    FAIL() << "the constructor did not throw";
  } catch (const troupe::supervisor_error& e) {
    EXPECT_EQ(e.code(), troupe::supervisor_errc::start_failed);
    EXPECT_TRUE(contains(e.what(), "missing config")) << e.what();
  }
  // The child started before it was stopped again (its body may not even
  // have run), and the supervisor is gone too.
  EXPECT_TRUE(rt.active_processes().empty());
}

// -- nesting ----------------------------------------------------------------

TEST_P(supervisor_kinds,
       dynamic_children_are_gone_after_a_top_level_one_for_all_restart) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor top{
    rt,
    {.strategy = strategy::one_for_all},
    {child_spec{.id = "sub", .start = troupe::start_supervisor({}, {})},
     worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  auto sub = troupe::supervisor::from(child_of(top, "sub"));
  sub.start_child(worker_spec(log, "dyn"));
  ASSERT_EQ(next(log), "start dyn");
  EXPECT_EQ(sub.count_children().specs, 1u);
  child_of(top, "w").send(static_cast<int>(fail));
  EXPECT_EQ(next(log), "stop dyn"); // stopped with the old sub-supervisor
  EXPECT_EQ(next(log), "start w");
  auto fresh = troupe::supervisor::from(replaced(top, "sub", sub));
  EXPECT_EQ(fresh.count_children().specs, 0u);
  EXPECT_FALSE(sub.is_alive());
}

TEST_P(supervisor_kinds, the_tree_shows_every_level_with_restart_counts) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor top{
    rt,
    {.name = "top"},
    {worker_spec(log, "w1"),
     child_spec{.id = "io",
                .start = troupe::start_supervisor(
                  {.strategy = strategy::rest_for_one},
                  {worker_spec(log, "reader"), worker_spec(log, "writer")})}}};
  for (int i = 0; i < 3; ++i)
    next(log);
  auto w1 = child_of(top, "w1");
  w1.send(static_cast<int>(fail));
  replaced(top, "w1", w1);
  auto tree = top.tree();
  EXPECT_EQ(tree.name, "top");
  EXPECT_EQ(tree.restarts, 1);
  ASSERT_EQ(tree.children.size(), 2u);
  EXPECT_EQ(tree.children[0].id, "w1");
  EXPECT_EQ(tree.children[0].restarts, 1);
  EXPECT_EQ(tree.children[1].type, troupe::child_type::supervisor);
  ASSERT_EQ(tree.children[1].children.size(), 2u);
  EXPECT_EQ(tree.children[1].children[1].id, "writer");
  auto text = troupe::to_string(tree);
  EXPECT_TRUE(contains(text, "supervisor 'top'")) << text;
  EXPECT_TRUE(contains(text, "|-- worker 'w1' pid=")) << text;
  EXPECT_TRUE(contains(text, "`-- supervisor 'io'")) << text;
  EXPECT_TRUE(contains(text, "    `-- worker 'writer' pid=")) << text;
  EXPECT_TRUE(contains(text, "rest_for_one")) << text;

  auto all = troupe::to_string(troupe::supervision_snapshot(rt));
  EXPECT_TRUE(contains(all, "supervisor 'runtime'")) << all;
  EXPECT_TRUE(contains(all, "`-- supervisor 'top'")) << all;
}

// -- events and backoff -----------------------------------------------------

TEST_P(supervisor_kinds,
       every_failure_and_restart_is_reported_with_its_reason) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  event_log events;
  troupe::supervisor sup{
    rt, {.name = "s", .on_event = events.callback()}, {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  auto w = child_of(sup, "w");
  w.send(static_cast<int>(fail));
  replaced(sup, "w", w);
  ASSERT_TRUE(eventually([&] {
    return events.count(troupe::supervisor_event::kind::restarted) == 1;
  }));
  auto exits = events.of(troupe::supervisor_event::kind::child_exited);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].supervisor, "s");
  EXPECT_EQ(exits[0].child, "w");
  EXPECT_EQ(exits[0].pid, w.pid());
  EXPECT_EQ(exits[0].exitcode, 1);
  EXPECT_EQ(exits[0].reason, "std::runtime_error: boom");
  EXPECT_EQ(events.count(troupe::supervisor_event::kind::restarting), 1u);
  auto history = sup.events();
  ASSERT_EQ(history.size(), 3u);
  std::ostringstream line;
  line << history[0];
  EXPECT_EQ(line.str(), "s: child 'w' (pid " + std::to_string(w.pid())
                          + ") exited with code 1: std::runtime_error: boom");
}

TEST_P(supervisor_kinds, backoff_doubles_the_delay_up_to_its_maximum) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  event_log events;
  troupe::supervisor sup{
    rt,
    {.restarts = {.intensity = 100},
     .backoff = troupe::backoff_options{.min = 10ms,
                                        .max = 40ms,
                                        .jitter = 0.0,
                                        .reset_after = 60s},
     .on_event = events.callback()},
    {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  for (int i = 0; i < 4; ++i) {
    auto w = child_of(sup, "w");
    w.send(static_cast<int>(fail));
    ASSERT_EQ(next(log), "start w");
    replaced(sup, "w", w);
  }
  auto delays = events.of(troupe::supervisor_event::kind::restarting);
  ASSERT_EQ(delays.size(), 4u);
  EXPECT_EQ(delays[0].delay, 10ms);
  EXPECT_EQ(delays[1].delay, 20ms);
  EXPECT_EQ(delays[2].delay, 40ms);
  EXPECT_EQ(delays[3].delay, 40ms);
}

TEST_P(supervisor_kinds, terminate_on_a_child_goes_through_its_supervisor) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  troupe::supervisor sup{rt, {}, {worker_spec(log, "w")}};
  ASSERT_EQ(next(log), "start w");
  auto w = child_of(sup, "w");
  w.terminate(); // permanent, yet not restarted: a stop, not a failure
  ASSERT_TRUE(w.join(deadline));
  EXPECT_EQ(w.exitcode(), -15);
  ASSERT_TRUE(
    eventually([&] { return state_of(sup, "w") == child_state::stopped; }));
  EXPECT_EQ(next(log), "stop w");
  EXPECT_FALSE(log.try_get(kind().quiet()))
    << "a terminated child was restarted";
  EXPECT_EQ(sup.restarts(), 0);
}

// A child deaf to its own terminate() gets its grace, but the supervisor
// does not sit it out: a sibling that fails meanwhile is restarted at once.
TEST_P(supervisor_kinds,
       a_child_terminating_through_it_holds_up_no_sibling_restart) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto deaf = child_spec{
    .id = "deaf", .start = kind().deaf(log.path(), "deaf"), .shutdown = 3000ms};
  troupe::supervisor sup{rt, {}, {deaf, worker_spec(log, "w")}};
  expect_lines(log, {"start deaf", "start w"});
  auto d = child_of(sup, "deaf");
  d.terminate();
  child_of(sup, "w").send(static_cast<int>(fail));
  ASSERT_EQ(next(log), "start w");
  EXPECT_TRUE(d.is_alive()) << "the sibling waited for the deaf child's grace";
  EXPECT_EQ(state_of(sup, "deaf"), child_state::running)
    << "a child counts as running until its instance ends";
  d.kill(); // ends its grace early, as the grace timer would
  ASSERT_TRUE(
    eventually([&] { return state_of(sup, "deaf") == child_state::stopped; }));
  EXPECT_EQ(sup.restarts(), 1) << "only w was restarted";
  kind().release_deaf();
}

// Not in the originals: the grace is the shutdown spec's, however it
// compares with the runtime's terminate grace (which a process stopped by
// terminate() outside a supervisor gets).
TEST_P(supervisor_kinds,
       a_shutdown_grace_longer_than_the_terminate_grace_is_given_in_full) {
  using namespace supervisor_cases;
  troupe::runtime rt{{.terminate_grace = 200ms}};
  file_log log;
  troupe::supervisor sup{rt,
                         {},
                         {child_spec{.id = "deaf",
                                     .start = kind().deaf(log.path(), "deaf"),
                                     .shutdown = 1500ms}}};
  ASSERT_EQ(next(log), "start deaf");
  auto d = child_of(sup, "deaf");
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate_child("deaf");
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 1400ms)
    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
    << " ms";
  EXPECT_EQ(d.exitcode(), -9);
  EXPECT_EQ(d.exit_reason(), "killed after a shutdown grace of 1500 ms");
  kind().release_deaf();
}

// -- the runtime ------------------------------------------------------------

TEST_P(supervisor_kinds, the_runtime_stops_trees_at_shutdown_without_waiting) {
  using namespace supervisor_cases;
  file_log log;
  auto t0 = std::chrono::steady_clock::now();
  {
    troupe::runtime rt{{.shutdown_timeout = 30s}};
    troupe::supervisor one{
      rt, {.name = "one"}, {worker_spec(log, "a"), worker_spec(log, "b")}};
    troupe::supervisor two{rt, {.name = "two"}, {worker_spec(log, "c")}};
    EXPECT_EQ(one.count_children().active, 2u);
    expect_lines(log, {"start a", "start b", "start c"});
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s)
    << "the runtime waited for supervision trees as if they were to end";
  std::vector<std::string> stops;
  for (int i = 0; i < 3; ++i)
    stops.push_back(next(log));
  EXPECT_EQ(stops, (std::vector<std::string>{"stop c", "stop b", "stop a"}));
}

// -- conformance: a failing restart holds up no independent sibling ---------

TEST_P(supervisor_kinds,
       one_for_one_a_child_that_cannot_restart_holds_up_no_sibling) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{
    rt,
    looping(strategy::one_for_one),
    {flaky_spec(log, "stuck", starts), worker_spec(log, "other")}};
  auto other = child_of(sup, "other");
  child_of(sup, "stuck").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  other.send(1);
  EXPECT_TRUE(eventually(
    [&] { return state_of(sup, "other") == child_state::running; }, soon))
    << "'other' waits for 'stuck', which cannot start";
  EXPECT_EQ(state_of(sup, "stuck"), child_state::restarting);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST_P(supervisor_kinds,
       simple_one_for_one_a_child_that_cannot_restart_holds_up_no_sibling) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  auto opts = looping(strategy::simple_one_for_one);
  troupe::supervisor sup{
    rt, opts, {child_spec{.id = "w", .start = flaky_template(log, starts)}}};
  auto w1 = sup.start_child(1);
  auto w2 = sup.start_child(2);
  w1.send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  w2.send(1);
  EXPECT_TRUE(
    eventually([&] { return sup.count_children().active == 1; }, soon))
    << "w2 waits for w1, which cannot start";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- conformance: one_for_all retries a failed group restart as a group -----

TEST_P(supervisor_kinds,
       one_for_all_a_failed_start_restarts_the_whole_group_again) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto a_starts = std::make_shared<std::atomic<int>>(0);
  auto b_starts = std::make_shared<std::atomic<int>>(0);
  auto c_starts = std::make_shared<std::atomic<int>>(0);
  // b starts the first time, fails the second, starts the third.
  auto b = fails_second_start(log, "b", b_starts);
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::one_for_all, .restarts = {.intensity = 5}},
    {counted_spec(log, "a", a_starts), b, counted_spec(log, "c", c_starts)}};
  auto first_a = child_of(sup, "a");
  first_a.send(1);
  ASSERT_TRUE(eventually(
    [&] { return sup.count_children().active == 3 && b_starts->load() == 3; }));
  // a's instance from the failed attempt was stopped; a and c started again
  // with b: all three were restarted together.
  EXPECT_EQ(a_starts->load(), 3) << "the retry kept a's earlier restart";
  EXPECT_EQ(c_starts->load(), 2);
  EXPECT_EQ(info_of(sup, "a")->restarts, 2);
  EXPECT_EQ(info_of(sup, "b")->restarts, 1);
  EXPECT_EQ(info_of(sup, "c")->restarts, 1);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- conformance: terminate_child during a group restart loop ---------------

TEST_P(
  supervisor_kinds,
  rest_for_one_terminate_child_in_a_restart_loop_leaves_the_later_children_stopped) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{rt,
                         looping(strategy::rest_for_one),
                         {worker_spec(log, "a"), flaky_spec(log, "b", starts),
                          worker_spec(log, "c")}};
  child_of(sup, "b").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  sup.terminate_child("b");
  EXPECT_EQ(state_of(sup, "a"), child_state::running);
  EXPECT_EQ(state_of(sup, "b"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "c"), child_state::stopped)
    << "c would start without b, which it depends on";
  EXPECT_EQ(sup.count_children().active, 1u);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

TEST_P(
  supervisor_kinds,
  one_for_all_terminate_child_in_a_restart_loop_leaves_the_later_children_stopped) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{rt,
                         looping(strategy::one_for_all),
                         {worker_spec(log, "a"), flaky_spec(log, "b", starts),
                          worker_spec(log, "c")}};
  child_of(sup, "a").send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  sup.terminate_child("b");
  EXPECT_EQ(state_of(sup, "b"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "c"), child_state::stopped)
    << "c would start without b, which it depends on";
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- conformance: one dynamic child's restart loop can be stopped -----------

TEST_P(supervisor_kinds,
       simple_one_for_one_terminate_child_by_handle_ends_its_restart_loop) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto starts = std::make_shared<std::atomic<int>>(0);
  troupe::supervisor sup{
    rt,
    looping(strategy::simple_one_for_one),
    {child_spec{.id = "w", .start = flaky_template(log, starts)}}};
  auto w1 = sup.start_child(1);
  w1.send(1);
  ASSERT_TRUE(eventually([&] { return starts->load() >= 3; }));
  ASSERT_NO_THROW(sup.terminate_child(w1));
  EXPECT_EQ(sup.count_children(),
            (troupe::child_counts{
              .specs = 1, .active = 0, .supervisors = 0, .workers = 0}));
  auto seen = starts->load();
  // Queued behind any retry that was already due: none may start it again.
  (void)sup.which_children();
  EXPECT_LE(starts->load(), seen + 1);
  EXPECT_THROW(sup.terminate_child(w1), troupe::supervisor_error);
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
}

// -- conformance: dynamic children stop in parallel under one deadline ------

TEST_P(supervisor_kinds,
       simple_one_for_one_children_stop_in_parallel_under_one_grace) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  constexpr int n = 10;
  constexpr auto cleanup = 200ms; // slow_stopper's
  troupe::supervisor sup{
    rt,
    {.strategy = strategy::simple_one_for_one},
    {child_spec{.id = "slow",
                .start = kind().slow_stopper_template(log.path()),
                .shutdown = std::chrono::milliseconds{10'000}}}};
  std::vector<troupe::process> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(sup.start_child(std::to_string(i)));
  for (int i = 0; i < n; ++i)
    (void)next(log); // all of them run their body
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  auto took = std::chrono::steady_clock::now() - t0;
  for (auto& k : kids)
    EXPECT_EQ(k.exitcode(), -15);
  // One after another: n * cleanup (2 s); in parallel about one cleanup.
  if (!kind().costly_ends()) {
    EXPECT_LT(took, n * cleanup / 2)
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms";
  }
}

TEST_P(supervisor_kinds,
       simple_one_for_one_children_past_the_grace_are_killed_together) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  // Stopped one after another they would take n graces (5 s); together,
  // one grace plus scheduling, with room for a sanitizer on a loaded
  // machine.
  constexpr int n = 5;
  constexpr auto grace = 1000ms;
  troupe::supervisor sup{rt,
                         {.strategy = strategy::simple_one_for_one},
                         {child_spec{.id = "stubborn",
                                     .start = kind().deaf_template(log.path()),
                                     .shutdown = grace}}};
  std::vector<troupe::process> kids;
  for (int i = 0; i < n; ++i)
    kids.push_back(sup.start_child(std::to_string(i)));
  for (int i = 0; i < n; ++i)
    (void)next(log);
  auto t0 = std::chrono::steady_clock::now();
  sup.terminate();
  ASSERT_TRUE(sup.join(deadline));
  auto took = std::chrono::steady_clock::now() - t0;
  kind().release_deaf();
  for (auto& k : kids) {
    EXPECT_EQ(k.exitcode(), -9);
    EXPECT_EQ(k.exit_reason(), "killed after a shutdown grace of 1000 ms");
  }
  EXPECT_LT(took, n * grace / 2)
    << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
    << " ms";
}

// -- conformance: significant children and auto_shutdown -------------------

TEST_P(
  supervisor_kinds,
  any_significant_the_supervisor_ends_normally_when_its_main_worker_is_done) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto main_job = worker_spec(log, "main", restart::transient);
  main_job.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::any_significant},
    {worker_spec(log, "helper"), main_job}};
  auto helper = child_of(sup, "helper");
  child_of(sup, "main").send(0); // returns: done
  ASSERT_TRUE(sup.join(deadline)) << "the supervisor did not end by itself";
  EXPECT_EQ(sup.exitcode(), 0);
  EXPECT_FALSE(helper.is_alive());
  EXPECT_EQ(helper.exitcode(), -15);
}

TEST_P(
  supervisor_kinds,
  any_significant_a_transient_main_worker_that_fails_is_restarted_instead) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto main_job = worker_spec(log, "main", restart::transient);
  main_job.significant = true;
  troupe::supervisor sup{
    rt,
    {.restarts = {.intensity = 5},
     .auto_shutdown = troupe::auto_shutdown::any_significant},
    {main_job}};
  auto first = child_of(sup, "main");
  first.send(1); // fails: restarted, not done
  ASSERT_TRUE(eventually([&] {
    auto c = info_of(sup, "main");
    return c && c->handle && !(*c->handle == first);
  }));
  EXPECT_TRUE(sup.is_alive());
  child_of(sup, "main").send(0);
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(sup.exitcode(), 0);
}

TEST_P(
  supervisor_kinds,
  all_significant_the_supervisor_ends_when_the_last_significant_child_is_done) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto job1 = worker_spec(log, "job1", restart::temporary);
  auto job2 = worker_spec(log, "job2", restart::temporary);
  job1.significant = job2.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::all_significant},
    {worker_spec(log, "helper"), job1, job2}};
  child_of(sup, "job1").send(1); // a temporary one is done however it ends
  ASSERT_TRUE(eventually([&] { return !info_of(sup, "job1"); }));
  EXPECT_TRUE(sup.is_alive());
  EXPECT_EQ(state_of(sup, "helper"), child_state::running);
  child_of(sup, "job2").send(0);
  ASSERT_TRUE(sup.join(deadline));
  EXPECT_EQ(sup.exitcode(), 0);
}

TEST_P(supervisor_kinds,
       terminate_child_of_a_significant_child_does_not_end_it) {
  using namespace supervisor_cases;
  troupe::runtime rt;
  file_log log;
  auto job = worker_spec(log, "job", restart::transient);
  job.significant = true;
  troupe::supervisor sup{
    rt,
    {.auto_shutdown = troupe::auto_shutdown::any_significant},
    {worker_spec(log, "helper"), job}};
  sup.terminate_child("job");
  EXPECT_EQ(state_of(sup, "job"), child_state::stopped);
  EXPECT_EQ(state_of(sup, "helper"), child_state::running);
  EXPECT_TRUE(sup.is_alive());
}
