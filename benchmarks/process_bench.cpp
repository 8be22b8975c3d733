// Foundation benchmarks: runtime, process, event-based actors.
//
// Every troupe case has its raw-CAF baseline in this binary, so one
// invocation gives the ratio (the machine is shared and noisy; compare
// medians of repetitions, see docs/benchmarks.md). Troupe cases share one
// `troupe::runtime`, built in `main` on the benchmark thread (which becomes
// the main process, with a mailbox). Raw-CAF cases build their own
// `caf::actor_system` per run with either the scheduler settings troupe
// uses (`caf_troupe_settings`) or CAF's pure defaults (`caf_defaults`).
//
// Names read `<workload>/<implementation>[/<size>]`; `items_per_second` is
// the figure to compare, `per_item` its inverse.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "troupe/troupe.hpp"

namespace {

// -- configuration ------------------------------------------------------------

/// The runtime all troupe cases share (set in main).
troupe::runtime* the_runtime = nullptr;

troupe::runtime& rt() {
  return *the_runtime;
}

/// Cores, as troupe counts them for `scheduler.max-threads`.
std::size_t cores() {
  auto n = std::thread::hardware_concurrency();
  return n == 0 ? 2 : n;
}

/// Scheduler settings of a raw-CAF system. Empty fields keep CAF's default.
struct sched_settings {
  const char* label;
  /// `scheduler.policy`: "stealing" or "sharing".
  const char* policy = nullptr;
  /// `work-stealing.moderate-sleep-duration`.
  std::optional<caf::timespan> moderate = std::nullopt;
  /// `scheduler.max-threads`; 0 keeps CAF's default, max(cores, 4).
  std::size_t max_threads = 0;
};

/// What troupe's runtime sets (framework/src/runtime.cpp).
sched_settings troupe_settings() {
  return {"caf_troupe_settings", nullptr, caf::timespan{0}, cores()};
}

sched_settings caf_defaults() {
  return {"caf_defaults"};
}

void apply(caf::actor_system_config& cfg, const sched_settings& s) {
  if (s.policy != nullptr)
    cfg.set("scheduler.policy", caf::atom_from_string(s.policy));
  if (s.moderate)
    cfg.set("work-stealing.moderate-sleep-duration", *s.moderate);
  if (s.max_threads != 0)
    cfg.set("scheduler.max-threads", s.max_threads);
}

/// A raw CAF system with settings `s`. Its destructor waits for every
/// actor, so each case ends all of its actors before the system goes.
struct caf_env {
  explicit caf_env(const sched_settings& s) : cfg(make_config(s)), sys(*cfg) {}

  static std::unique_ptr<caf::actor_system_config>
  make_config(const sched_settings& s) {
    auto result = std::make_unique<caf::actor_system_config>();
    apply(*result, s);
    return result;
  }

  std::unique_ptr<caf::actor_system_config> cfg;
  caf::actor_system sys;
};

/// CPU time of the whole OS process (every thread: runtime workers, peers,
/// spinning pollers), which the benchmark's own CPU column (the benchmark
/// thread only) does not show.
double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec)
         + static_cast<double>(ts.tv_nsec) * 1e-9;
}

/// Process CPU spent by a benchmark's timed loop: construct it right
/// before the loop, `stop()` right after it.
class cpu_meter {
public:
  cpu_meter() : start_(process_cpu_seconds()) {}

  void stop() {
    stop_ = process_cpu_seconds();
  }

  [[nodiscard]] double seconds() const {
    return stop_ - start_;
  }

private:
  double start_;
  double stop_ = 0;
};

/// Sets items/s, `per_item` (real time per item) and `cpu_per_item`
/// (process CPU time per item: above `per_item` means more than one core
/// was busy, e.g. spinning schedulers).
void per_item_counters(benchmark::State& state, std::int64_t items,
                       const cpu_meter& cpu) {
  state.SetItemsProcessed(items);
  state.counters["per_item"] = benchmark::Counter(
    static_cast<double>(items),
    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["cpu_per_item"]
    = items > 0 ? cpu.seconds() / static_cast<double>(items) : 0.0;
}

void workers_counter(benchmark::State& state, caf::actor_system& sys) {
  state.counters["workers"]
    = static_cast<double>(sys.scheduler().num_workers());
}

// -- shared actor bodies ------------------------------------------------------

/// Answers every int with itself.
caf::behavior echo(caf::event_based_actor*) {
  return {
    [](int x) { return x; },
  };
}

/// Ends at once: an empty behavior after `quit()`.
caf::behavior quit_at_once(caf::event_based_actor* self) {
  self->quit();
  return {};
}

/// Answers ints until it has answered `n`, then ends.
caf::behavior pong(caf::event_based_actor* self, int n) {
  return {
    [self, n](int x) {
      if (x >= n)
        self->quit();
      return x;
    },
  };
}

/// Bounces `1..n` off `partner`, then ends.
caf::behavior ping(caf::event_based_actor* self, caf::actor partner, int n) {
  self->send(partner, 1);
  return {
    [self, partner, n](int x) {
      if (x >= n)
        self->quit();
      else
        self->send(partner, x + 1);
    },
  };
}

/// Echoes ints to their sender until an exit message arrives (a blocking
/// actor handles `exit_msg` as an ordinary message; see the CAF notes).
void blocking_echo(caf::blocking_actor* self) {
  bool running = true;
  self->receive_while(running)(
    [self](int x) {
      self->send(caf::actor_cast<caf::actor>(self->current_sender()), x);
    },
    [&running](caf::exit_msg&) { running = false; });
}

// -- 1. process start + join --------------------------------------------------

void process_start_join_troupe(benchmark::State& state) {
  cpu_meter cpu;
  for (auto _ : state) {
    troupe::process p{rt(), [] {}};
    p.start();
    p.join();
  }
  cpu.stop();
  per_item_counters(state, state.iterations(), cpu);
}

void thread_create_join_std(benchmark::State& state) {
  cpu_meter cpu;
  for (auto _ : state)
    std::thread{[] {}}.join();
  cpu.stop();
  per_item_counters(state, state.iterations(), cpu);
}

/// CAF's nearest equivalent: a blocking actor (a thread of its own) spawned
/// and waited for.
void blocking_actor_spawn_join_caf(benchmark::State& state) {
  caf_env env{troupe_settings()};
  cpu_meter cpu;
  for (auto _ : state) {
    std::latch done{1};
    auto hdl = env.sys.spawn([](caf::blocking_actor*) {});
    hdl->attach_functor([&done] { done.count_down(); });
    hdl = nullptr;
    done.wait();
  }
  cpu.stop();
  per_item_counters(state, state.iterations(), cpu);
}

// -- 2. event-based spawn + exit ----------------------------------------------

void spawn_troupe(benchmark::State& state) {
  auto n = static_cast<std::size_t>(state.range(0));
  std::vector<troupe::actor> handles;
  handles.reserve(n);
  cpu_meter cpu;
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i)
      handles.push_back(troupe::spawn(rt(), quit_at_once));
    for (auto& h : handles)
      h.join();
    handles.clear();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
}

/// As `spawn_troupe`, but the handles are dropped at once and the end of
/// each actor is counted through its CAF handle: separates the cost of
/// keeping 10k handles (and their state) alive from the cost of spawning.
void spawn_troupe_no_handles(benchmark::State& state) {
  auto n = static_cast<std::ptrdiff_t>(state.range(0));
  cpu_meter cpu;
  for (auto _ : state) {
    std::latch done{n};
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      if (auto hdl = troupe::spawn(rt(), quit_at_once).handle())
        hdl->attach_functor([&done] { done.count_down(); });
      else
        done.count_down(); // already ended
    }
    done.wait();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
}

/// As `spawn_caf`, but the handles are kept until all actors ended, as
/// `spawn_troupe` keeps its handles (the like-for-like memory pattern).
void spawn_caf_keep_handles(benchmark::State& state, sched_settings s) {
  auto n = static_cast<std::ptrdiff_t>(state.range(0));
  caf_env env{s};
  std::vector<caf::actor> handles;
  handles.reserve(static_cast<std::size_t>(n));
  cpu_meter cpu;
  for (auto _ : state) {
    std::latch done{n};
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      handles.push_back(env.sys.spawn(quit_at_once));
      handles.back()->attach_functor([&done] { done.count_down(); });
    }
    done.wait();
    handles.clear();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
  workers_counter(state, env.sys);
}

void spawn_caf(benchmark::State& state, sched_settings s) {
  auto n = static_cast<std::ptrdiff_t>(state.range(0));
  caf_env env{s};
  cpu_meter cpu;
  for (auto _ : state) {
    std::latch done{n};
    for (std::ptrdiff_t i = 0; i < n; ++i)
      env.sys.spawn(quit_at_once)->attach_functor([&done] {
        done.count_down();
      });
    done.wait();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
  workers_counter(state, env.sys);
}

// -- 3. event-based ping-pong -------------------------------------------------

void event_ping_pong_troupe(benchmark::State& state) {
  auto n = static_cast<int>(state.range(0));
  cpu_meter cpu;
  for (auto _ : state) {
    auto b = troupe::spawn(rt(), pong, n);
    auto a = troupe::spawn(rt(), ping, b.handle(), n);
    a.join();
    b.join();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
}

void event_ping_pong_caf(benchmark::State& state, sched_settings s) {
  auto n = static_cast<int>(state.range(0));
  caf_env env{s};
  cpu_meter cpu;
  for (auto _ : state) {
    std::latch done{2};
    auto b = env.sys.spawn(pong, n);
    b->attach_functor([&done] { done.count_down(); });
    auto a = env.sys.spawn(ping, b, n);
    a->attach_functor([&done] { done.count_down(); });
    a = nullptr;
    b = nullptr;
    done.wait();
  }
  cpu.stop();
  per_item_counters(state, state.iterations() * state.range(0), cpu);
  workers_counter(state, env.sys);
}

// -- 4. blocking ping-pong through mailboxes ----------------------------------

/// A process that echoes ints to their sender until it gets a negative one.
void process_echo() {
  for (;;) {
    auto x = troupe::this_process::receive<int>();
    if (x < 0)
      return;
    troupe::this_process::reply(x);
  }
}

/// Main process <-> process: one round trip per iteration.
void blocking_main_process_troupe(benchmark::State& state) {
  troupe::process peer{rt(), process_echo};
  peer.start();
  int i = 0;
  cpu_meter cpu;
  for (auto _ : state) {
    peer.send(i);
    auto y = troupe::this_process::receive<int>();
    benchmark::DoNotOptimize(y);
    i = (i + 1) & 0xFFFFFF;
  }
  cpu.stop();
  peer.send(-1);
  peer.join();
  per_item_counters(state, state.iterations(), cpu);
}

/// Main process <-> event-based actor (troupe::spawn): one round trip per
/// iteration; the blocking edge of the actor world.
void blocking_main_actor_troupe(benchmark::State& state) {
  auto peer = troupe::spawn(rt(), echo);
  int i = 0;
  cpu_meter cpu;
  for (auto _ : state) {
    peer.send(i);
    auto y = troupe::this_process::receive<int>();
    benchmark::DoNotOptimize(y);
    i = (i + 1) & 0xFFFFFF;
  }
  cpu.stop();
  peer.terminate();
  peer.join();
  per_item_counters(state, state.iterations(), cpu);
}

/// Process <-> process: the main process hands process A a batch of `n`
/// round trips with process B and waits for A to report back.
void blocking_process_process_troupe(benchmark::State& state) {
  auto n = static_cast<std::int64_t>(state.range(0));
  troupe::process b{rt(), process_echo};
  b.start();
  auto main_process = troupe::current_process();
  troupe::process a{rt(),
                    [](troupe::process partner, troupe::process boss) {
                      for (;;) {
                        auto batch
                          = troupe::this_process::receive<std::int64_t>();
                        if (batch < 0)
                          return;
                        for (std::int64_t k = 0; k < batch; ++k) {
                          partner.send(static_cast<int>(k & 0xFFFFFF));
                          auto y = troupe::this_process::receive<int>();
                          benchmark::DoNotOptimize(y);
                        }
                        boss.send(batch);
                      }
                    },
                    b, main_process};
  a.start();
  cpu_meter cpu;
  for (auto _ : state) {
    a.send(n);
    auto done = troupe::this_process::receive<std::int64_t>();
    benchmark::DoNotOptimize(done);
  }
  cpu.stop();
  a.send(std::int64_t{-1});
  b.send(-1);
  a.join();
  b.join();
  per_item_counters(state, state.iterations() * n, cpu);
}

/// One scoped_actor request/receive to `peer` per iteration, then stops it.
void scoped_requests(benchmark::State& state, caf::actor_system& sys,
                     caf::actor peer) {
  caf::scoped_actor self{sys};
  int i = 0;
  cpu_meter cpu;
  for (auto _ : state) {
    self->request(peer, caf::infinite, i)
      .receive([](int y) { benchmark::DoNotOptimize(y); },
               [&state](caf::error& err) {
                 state.SkipWithError(caf::to_string(err).c_str());
               });
    i = (i + 1) & 0xFFFFFF;
  }
  cpu.stop();
  self->send_exit(peer, caf::exit_reason::user_shutdown);
  per_item_counters(state, state.iterations(), cpu);
}

/// Raw CAF: scoped_actor request/receive to an event-based actor.
void blocking_scoped_request_event_caf(benchmark::State& state,
                                       sched_settings s) {
  caf_env env{s};
  auto peer = env.sys.spawn(echo);
  scoped_requests(state, env.sys, std::move(peer));
  workers_counter(state, env.sys);
}

/// Raw CAF: scoped_actor <-> blocking actor, send/receive (both sides own a
/// thread; the scheduler is not involved).
void blocking_scoped_blocking_caf(benchmark::State& state, sched_settings s) {
  caf_env env{s};
  auto peer = env.sys.spawn(blocking_echo);
  {
    caf::scoped_actor self{env.sys};
    int i = 0;
    cpu_meter cpu;
    for (auto _ : state) {
      self->send(peer, i);
      self->receive([](int y) { benchmark::DoNotOptimize(y); });
      i = (i + 1) & 0xFFFFFF;
    }
    cpu.stop();
    self->send_exit(peer, caf::exit_reason::user_shutdown);
    per_item_counters(state, state.iterations(), cpu);
  }
  peer = nullptr;
}

/// Main process <-> process, one round trip per millisecond: the process
/// CPU per request shows what a blocking receive costs while it waits
/// (troupe polls the mailbox briefly before it sleeps).
void blocking_sparse_troupe(benchmark::State& state) {
  troupe::process peer{rt(), process_echo};
  peer.start();
  int i = 0;
  cpu_meter cpu;
  for (auto _ : state) {
    peer.send(i);
    auto y = troupe::this_process::receive<int>();
    benchmark::DoNotOptimize(y);
    i = (i + 1) & 0xFFFFFF;
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  cpu.stop();
  peer.send(-1);
  peer.join();
  per_item_counters(state, state.iterations(), cpu);
}

/// Raw CAF twin of `blocking_sparse_troupe`: scoped_actor <-> blocking actor.
void blocking_sparse_scoped_blocking_caf(benchmark::State& state,
                                         sched_settings s) {
  caf_env env{s};
  auto peer = env.sys.spawn(blocking_echo);
  {
    caf::scoped_actor self{env.sys};
    int i = 0;
    cpu_meter cpu;
    for (auto _ : state) {
      self->send(peer, i);
      self->receive([](int y) { benchmark::DoNotOptimize(y); });
      i = (i + 1) & 0xFFFFFF;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    cpu.stop();
    self->send_exit(peer, caf::exit_reason::user_shutdown);
    per_item_counters(state, state.iterations(), cpu);
  }
  peer = nullptr;
}

/// One busy thread per core for the lifetime of the object: the blocking
/// ping-pong then competes for the cores, as on a loaded machine.
class cpu_hogs {
public:
  cpu_hogs() {
    for (std::size_t i = 0; i < cores(); ++i)
      threads_.emplace_back([this] {
        while (!stop_.load(std::memory_order_relaxed))
          benchmark::DoNotOptimize(this);
      });
  }

  ~cpu_hogs() {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
  }

  cpu_hogs(const cpu_hogs&) = delete;
  cpu_hogs& operator=(const cpu_hogs&) = delete;

private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

void blocking_oversubscribed_troupe(benchmark::State& state) {
  cpu_hogs hogs;
  blocking_main_process_troupe(state);
}

void blocking_oversubscribed_scoped_blocking_caf(benchmark::State& state,
                                                 sched_settings s) {
  cpu_hogs hogs;
  blocking_scoped_blocking_caf(state, std::move(s));
}

/// Reference floor: two threads handing a token back and forth with a
/// mutex and a condition variable.
void blocking_condvar_std(benchmark::State& state) {
  std::mutex mtx;
  std::condition_variable cv;
  int turn = 0; // 0: main's, 1: peer's, -1: stop
  std::thread peer{[&] {
    std::unique_lock guard{mtx};
    for (;;) {
      cv.wait(guard, [&] { return turn != 0; });
      if (turn < 0)
        return;
      turn = 0;
      cv.notify_all();
    }
  }};
  cpu_meter cpu;
  for (auto _ : state) {
    std::unique_lock guard{mtx};
    turn = 1;
    cv.notify_all();
    cv.wait(guard, [&] { return turn == 0; });
  }
  cpu.stop();
  {
    std::lock_guard guard{mtx};
    turn = -1;
  }
  cv.notify_all();
  peer.join();
  per_item_counters(state, state.iterations(), cpu);
}

// -- 5. scheduler study -------------------------------------------------------

/// The settings studied for the runtime's defaults.
std::vector<sched_settings> study_settings() {
  auto zero = caf::timespan{0};
  return {
    {"caf_defaults"},
    {"caf_defaults/max_threads_2", nullptr, std::nullopt, 2},
    {"moderate_sleep_0", nullptr, zero},
    {"moderate_sleep_0/max_threads_2", nullptr, zero, 2},
    {"moderate_sleep_0/max_threads_4", nullptr, zero, 4},
    {"sharing", "sharing"},
    {"sharing/max_threads_2", "sharing", std::nullopt, 2},
  };
}

/// The cost side of the study: one scoped_actor -> actor round trip every
/// millisecond, the pattern of a service answering sparse requests.
/// `cpu_per_item` is the process CPU per request, idle polling included
/// (an idle CAF worker polls its queue before it sleeps on a condition
/// variable; with the default settings it wakes every 50 us for ~25 ms).
void study_sparse_requests_caf(benchmark::State& state, sched_settings s) {
  caf_env env{s};
  auto peer = env.sys.spawn(echo);
  {
    caf::scoped_actor self{env.sys};
    int i = 0;
    cpu_meter cpu;
    for (auto _ : state) {
      self->request(peer, caf::infinite, i)
        .receive([](int y) { benchmark::DoNotOptimize(y); },
                 [&state](caf::error& err) {
                   state.SkipWithError(caf::to_string(err).c_str());
                 });
      i = (i + 1) & 0xFFFFFF;
      std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    cpu.stop();
    self->send_exit(peer, caf::exit_reason::user_shutdown);
    per_item_counters(state, state.iterations(), cpu);
  }
  peer = nullptr;
  workers_counter(state, env.sys);
}

/// scoped_actor -> detached event-based actor (its own thread): the
/// reference for what the scheduler adds.
void study_scoped_detached_caf(benchmark::State& state) {
  caf_env env{caf_defaults()};
  auto peer = env.sys.spawn<caf::detached>(echo);
  scoped_requests(state, env.sys, std::move(peer));
}

// -- registration -------------------------------------------------------------

constexpr int spawn_n = 10'000;
constexpr int ping_pong_n = 100'000;
constexpr int process_batch_n = 10'000;

void register_all() {
  using benchmark::RegisterBenchmark;
  using std::string;
  auto both = {troupe_settings(), caf_defaults()};

  // 1.
  RegisterBenchmark("process_start_join/troupe", process_start_join_troupe)
    ->UseRealTime();
  RegisterBenchmark("process_start_join/std_thread", thread_create_join_std)
    ->UseRealTime();
  RegisterBenchmark("process_start_join/caf_blocking_actor",
                    blocking_actor_spawn_join_caf)
    ->UseRealTime();

  // 2.
  RegisterBenchmark("spawn/troupe", spawn_troupe)->Arg(spawn_n)->UseRealTime();
  RegisterBenchmark("spawn/troupe_no_handles", spawn_troupe_no_handles)
    ->Arg(spawn_n)
    ->UseRealTime();
  for (const auto& s : both) {
    RegisterBenchmark((string{"spawn/"} + s.label).c_str(), spawn_caf, s)
      ->Arg(spawn_n)
      ->UseRealTime();
    RegisterBenchmark((string{"spawn/"} + s.label + "_keep_handles").c_str(),
                      spawn_caf_keep_handles, s)
      ->Arg(spawn_n)
      ->UseRealTime();
  }

  // 3.
  RegisterBenchmark("event_ping_pong/troupe", event_ping_pong_troupe)
    ->Arg(ping_pong_n)
    ->UseRealTime();
  for (const auto& s : both)
    RegisterBenchmark((string{"event_ping_pong/"} + s.label).c_str(),
                      event_ping_pong_caf, s)
      ->Arg(ping_pong_n)
      ->UseRealTime();

  // 4.
  RegisterBenchmark("blocking_ping_pong/troupe_main_process",
                    blocking_main_process_troupe)
    ->UseRealTime();
  RegisterBenchmark("blocking_ping_pong/troupe_process_process",
                    blocking_process_process_troupe)
    ->Arg(process_batch_n)
    ->UseRealTime();
  RegisterBenchmark("blocking_ping_pong/troupe_main_actor",
                    blocking_main_actor_troupe)
    ->UseRealTime();
  for (const auto& s : both) {
    RegisterBenchmark(
      (string{"blocking_ping_pong/scoped_request_event/"} + s.label).c_str(),
      blocking_scoped_request_event_caf, s)
      ->UseRealTime();
    RegisterBenchmark(
      (string{"blocking_ping_pong/scoped_blocking/"} + s.label).c_str(),
      blocking_scoped_blocking_caf, s)
      ->UseRealTime();
  }
  RegisterBenchmark("blocking_ping_pong/std_condvar", blocking_condvar_std)
    ->UseRealTime();
  RegisterBenchmark("blocking_sparse/troupe_main_process",
                    blocking_sparse_troupe)
    ->UseRealTime();
  RegisterBenchmark("blocking_sparse/scoped_blocking/caf_troupe_settings",
                    blocking_sparse_scoped_blocking_caf, troupe_settings())
    ->UseRealTime();
  RegisterBenchmark("blocking_oversubscribed/troupe_main_process",
                    blocking_oversubscribed_troupe)
    ->UseRealTime();
  RegisterBenchmark(
    "blocking_oversubscribed/scoped_blocking/caf_troupe_settings",
    blocking_oversubscribed_scoped_blocking_caf, troupe_settings())
    ->UseRealTime();

  // 5.
  for (const auto& s : study_settings()) {
    RegisterBenchmark((string{"study/scoped_request_event/"} + s.label).c_str(),
                      blocking_scoped_request_event_caf, s)
      ->UseRealTime();
    RegisterBenchmark((string{"study/event_ping_pong/"} + s.label).c_str(),
                      event_ping_pong_caf, s)
      ->Arg(ping_pong_n)
      ->UseRealTime();
    RegisterBenchmark((string{"study/spawn/"} + s.label).c_str(), spawn_caf, s)
      ->Arg(spawn_n)
      ->UseRealTime();
    RegisterBenchmark((string{"study/sparse_requests/"} + s.label).c_str(),
                      study_sparse_requests_caf, s)
      ->UseRealTime();
  }
  RegisterBenchmark("study/scoped_request_event/caf_defaults_detached",
                    study_scoped_detached_caf)
    ->UseRealTime();
}

} // namespace

int main(int argc, char** argv) {
  // Benchmark flags first; what is left (e.g. --scheduler.max-threads=4)
  // configures the troupe runtime.
  benchmark::Initialize(&argc, argv);
  troupe::runtime runtime{argc, argv};
  if (!runtime.args().empty()) {
    for (const auto& arg : runtime.args())
      std::fprintf(stderr, "bench_process: unknown argument '%s'\n",
                   arg.c_str());
    return 1;
  }
  the_runtime = &runtime;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  the_runtime = nullptr;
  return 0;
}
