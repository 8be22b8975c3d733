// The runtime's private side: options parsing, start-up and the three-step
// shutdown (wait for non-daemons, stop the rest, release threads and CAF).

#include "detail/runtime_impl.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include <caf/actor_cast.hpp>
#include <caf/actor_registry.hpp>
#include <caf/config_value.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>

#include "troupe/error.hpp"
#include "troupe/process.hpp"

#include "detail/current.hpp"
#include "detail/process_actor.hpp"
#include "detail/scheduler.hpp"

#if defined(__SANITIZE_ADDRESS__)
#  include <sanitizer/lsan_interface.h>
#  define TROUPE_LSAN_IGNORE(ptr) __lsan_ignore_object(ptr)
#else
#  define TROUPE_LSAN_IGNORE(ptr) static_cast<void>(ptr)
#endif

namespace troupe {

namespace detail {

namespace {

using std::chrono::milliseconds;

milliseconds to_ms(caf::timespan x) {
  return std::chrono::duration_cast<milliseconds>(x);
}

std::size_t default_scheduler_threads() {
  auto n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

std::string describe(const std::vector<std::shared_ptr<process_state>>& xs) {
  std::ostringstream out;
  auto first = true;
  for (auto& st : xs) {
    std::lock_guard guard{st->mtx};
    out << (first ? "" : ", ") << '\'' << st->name << "' (pid " << st->pid
        << ')';
    first = false;
  }
  return out.str();
}

} // namespace

troupe_config::troupe_config() {
  opt_group{custom_options_, "troupe"}
    .add<caf::timespan>("shutdown-timeout",
                        "wait this long for non-daemon processes at shutdown, "
                        "then report and stop them (default 30s)")
    .add<caf::timespan>("terminate-grace",
                        "default time between terminate() and declaring a "
                        "process killed (default 1s)")
    .add<std::size_t>("idle-threads",
                      "idle threads kept for starting processes (default 64)");
}

runtime_impl::runtime_impl(runtime_options opts, int argc, char** argv)
  : opts_(opts), cfg_(std::make_unique<troupe_config>()),
    threads_(opts.idle_threads, std::chrono::seconds{10}) {
  // Low latency at the blocking edge: an idle CAF worker in its "moderate"
  // phase sleeps 50 us per poll and nothing interrupts that sleep; with 0 it
  // goes straight to a condition variable that a send from a process thread
  // notifies (97 us -> 24-28 us round trip here, see docs/benchmarks.md).
  cfg_->set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  cfg_->set("scheduler.max-threads", opts_.scheduler_threads == 0
                                       ? default_scheduler_threads()
                                       : opts_.scheduler_threads);
  cfg_->set("troupe.shutdown-timeout", caf::timespan{opts_.shutdown_timeout});
  cfg_->set("troupe.terminate-grace", caf::timespan{opts_.terminate_grace});
  cfg_->set("troupe.idle-threads", opts_.idle_threads);
  if (argv != nullptr) {
    // CAF's short help lists only its global options; troupe's live in the
    // "troupe" category, which only the long help shows.
    // As argparse's parse_known_args: the runtime takes CAF's and troupe's
    // options (`--category.name[=value]`, `--help`, `--config-file=...`,
    // `--dump-config`) and leaves everything else, the program's own
    // options included, in args(), in order; after `--`, everything is the
    // program's. A misspelt runtime option is still an error.
    std::vector<std::string> cli;
    bool program_only = false;
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (program_only) {
        args_.push_back(std::move(arg));
        continue;
      }
      if (arg == "--") {
        program_only = true;
        continue;
      }
      if (arg == "--help" || arg == "-h" || arg == "-?")
        arg = "--long-help";
      auto key = arg.substr(0, arg.find('='));
      auto for_runtime
        = (key.starts_with("--") && key.find('.') != std::string::npos)
          || key == "--long-help" || key == "--config-file"
          || key == "--dump-config";
      (for_runtime ? cli : args_).push_back(std::move(arg));
    }
    if (auto err = cfg_->parse(std::move(cli))) {
      // As Python's argparse: say what is wrong and exit with status 2.
      std::cerr << (argc > 0 ? argv[0] : "troupe")
                << ": invalid command line: " << caf::to_string(err)
                << " (--help lists the options)\n";
      std::exit(2); // NOLINT(concurrency-mt-unsafe): no runtime thread yet
    }
    if (cfg_->cli_helptext_printed)
      std::exit(0); // NOLINT(concurrency-mt-unsafe): no runtime thread yet
    args_.insert(args_.begin(), cfg_->remainder.begin(), cfg_->remainder.end());
    opts_.shutdown_timeout = to_ms(caf::get_or(
      *cfg_, "troupe.shutdown-timeout", caf::timespan{opts_.shutdown_timeout}));
    opts_.terminate_grace = to_ms(caf::get_or(
      *cfg_, "troupe.terminate-grace", caf::timespan{opts_.terminate_grace}));
    opts_.idle_threads
      = caf::get_or(*cfg_, "troupe.idle-threads", opts_.idle_threads);
    opts_.scheduler_threads = caf::get_or(*cfg_, "scheduler.max-threads",
                                          default_scheduler_threads());
  }
  if (opts_.shutdown_timeout.count() < 0 || opts_.terminate_grace.count() < 0)
    throw value_error("troupe.shutdown-timeout and troupe.terminate-grace "
                      "must not be negative");
}

runtime_impl::~runtime_impl() = default;

void runtime_impl::start() {
  install_scheduler(*cfg_);
  run_config_hooks(*cfg_);
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  owner_ = std::this_thread::get_id();
  main_ = std::make_shared<process_state>(
    shared_from_this(), process_state::kind::main, "MainProcess", false,
    opts_.terminate_grace);
  main_->pid = 1;
  main_->ph = process_state::phase::running;
  main_actor_ = sys_->spawn<process_actor, caf::hidden>(main_, nullptr);
  main_scope_ = std::make_unique<current_scope>(
    main_.get(), static_cast<process_actor*>(
                   caf::actor_cast<caf::abstract_actor*>(main_actor_)));
  set_default_runtime(shared_from_this());
}

caf::actor_system& runtime_impl::system() {
  if (!sys_)
    throw state_error("the troupe runtime has shut down");
  return *sys_;
}

std::string runtime_impl::next_process_name() {
  return "Process-" + std::to_string(++process_counter_);
}

std::string runtime_impl::next_actor_name() {
  return "Actor-" + std::to_string(++actor_counter_);
}

void runtime_impl::throw_shut_down() {
  throw state_error("the troupe runtime has shut down");
}

void runtime_impl::wait_for(bool daemons,
                            std::chrono::steady_clock::time_point until) {
  // Supervision trees run until stopped, like daemons: they are stopped
  // from their roots below rather than waited for.
  // Re-checked in slices as well: a supervisor marks a child as part of
  // its tree just after starting it, which retires nothing.
  auto done = [daemons](const auto& running) {
    return std::none_of(running.begin(), running.end(), [&](auto& st) {
      return daemons || (!st->daemon && !st->in_tree);
    });
  };
  for (;;) {
    auto slice = std::min(until, std::chrono::steady_clock::now()
                                   + std::chrono::milliseconds{20});
    if (registry_.wait_until(slice, done) || slice == until)
      return;
  }
}

void runtime_impl::shutdown() {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + opts_.shutdown_timeout;
  // 1. Python's exit: wait for the non-daemon processes.
  wait_for(false, deadline);
  auto late = active();
  std::erase_if(
    late, [](auto& st) { return st->daemon.load() || st->in_tree.load(); });
  if (!late.empty())
    std::cerr << "troupe: shutdown timeout (" << opts_.shutdown_timeout.count()
              << " ms) passed; still running: " << describe(late)
              << "; terminating them\n";
  // 2. Stop everything left, daemons and supervision trees included, in
  // reverse start order; graces make sure each ends. A supervised child is
  // stopped by its supervisor (by its shutdown spec, in reverse order), so
  // only the roots of trees are asked here.
  registry_.close();
  auto rest = active();
  milliseconds longest_grace{0};
  for (auto i = rest.rbegin(); i != rest.rend(); ++i) {
    auto& st = *i;
    {
      std::lock_guard guard{st->mtx};
      if (!st->supervised_by.expired())
        continue;
    }
    request_stop(st, 15);
    longest_grace = std::max(longest_grace, st->terminate_grace);
    // A tree is stopped completely before the one started before it, as
    // its children are (a later tree may depend on an earlier one).
    if (st->as_supervisor)
      st->await_end(ext::deadline::after(st->terminate_grace));
  }
  wait_for(true, clock::now() + longest_grace + milliseconds{500});
  if (auto left = active(); !left.empty()) {
    // Graces only fail to fire if the timer is starved; kill outright.
    for (auto& st : left)
      request_stop(st, 9);
  }
  run_shutdown_hooks(*sys_);
  // 3. Threads of killed processes that never returned cannot be joined
  // or pre-empted: report them and keep what they use alive.
  auto stuck = threads_.shutdown(clock::now() + milliseconds{200});
  timers_.stop();
  clear_default_runtime(this);
  if (std::this_thread::get_id() == owner_) {
    main_scope_.reset();
  } else {
    // The owner thread still points at the main process; keep it valid.
    TROUPE_LSAN_IGNORE(main_scope_.release());
    TROUPE_LSAN_IGNORE(new std::shared_ptr<process_state>(main_)); // NOLINT
    TROUPE_LSAN_IGNORE(new caf::actor(main_actor_));               // NOLINT
  }
  if (main_actor_) {
    auto* self = static_cast<process_actor*>(
      caf::actor_cast<caf::abstract_actor*>(main_actor_));
    self->close_main();
    main_actor_ = nullptr;
  }
  if (stuck > 0) {
    std::cerr << "troupe: " << stuck
              << " process thread(s) did not return after being killed; "
                 "abandoning them (threads cannot be pre-empted; call "
                 "this_process::checkpoint() in long loops)\n";
    // Destroying the system under a running thread would be a
    // use-after-free; leaking it is the only safe way to proceed.
    TROUPE_LSAN_IGNORE(sys_.release());
    TROUPE_LSAN_IGNORE(cfg_.release());
  } else {
    // CAF waits for actors spawned outside troupe; give them the same
    // deadline rather than hanging.
    auto& reg = sys_->registry();
    auto caf_deadline = std::max(deadline, clock::now() + milliseconds{500});
    while (reg.running() > 0 && clock::now() < caf_deadline)
      std::this_thread::sleep_for(milliseconds{1});
    if (reg.running() > 0) {
      std::cerr << "troupe: " << reg.running()
                << " CAF actor(s) spawned outside troupe still run at "
                   "shutdown; not waiting for them\n";
      sys_->await_actors_before_shutdown(false);
    }
    sys_.reset();
  }
  main_->finish(0, "");
  // main_ points back at this object; break the cycle.
  if (std::this_thread::get_id() == owner_)
    main_.reset();
}

} // namespace detail

} // namespace troupe
