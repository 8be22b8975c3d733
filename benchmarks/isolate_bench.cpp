// OS-process workers (issue 20): what isolation costs. Targets: start ->
// join of an os_process <= 25 ms (median) with spawn; kill() -> join()
// returns <= 5 ms; a crash -> its supervisor's restart begins <= 20 ms.
//
// Each iteration is one whole OS process, so run with repetitions and read
// the medians: `bench_isolate --benchmark_repetitions=5
// --benchmark_report_aggregates_only=true`.

#include <atomic>
#include <chrono>
#include <csignal>
#include <optional>
#include <string>
#include <thread>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include <troupe/os_process.hpp>
#include <troupe/troupe.hpp>

namespace bench {

void returns() {}

/// Sleeps in troupe's sleep until killed; tells the parent it runs.
void waits() {
  troupe::this_process::receive<int>();
  for (;;)
    troupe::this_process::sleep_for(std::chrono::seconds{1});
}

/// Reports its start to the parent, then crashes on the first message.
void crashes_on_message() {
  troupe::this_process::receive<int>();
  std::raise(SIGSEGV);
}

} // namespace bench

TROUPE_ENTRY(bench::returns);
TROUPE_ENTRY(bench::waits);
TROUPE_ENTRY(bench::crashes_on_message);

namespace {

using clock_type = std::chrono::steady_clock;

troupe::runtime* the_runtime = nullptr;

troupe::runtime& rt() {
  return *the_runtime;
}

/// start() -> join() of a child whose entry point returns at once; the
/// argument is the start method (0 spawn, 1 forkserver).
void os_process_start_join(benchmark::State& state) {
  auto method = state.range(0) == 0 ? troupe::start_method::spawn
                                    : troupe::start_method::forkserver;
  state.SetLabel(state.range(0) == 0 ? "spawn" : "forkserver");
  for (auto _ : state) {
    troupe::os_process p{
      rt(), {.start_method = method}, troupe::entry<bench::returns>};
    p.start();
    p.join();
    if (p.exitcode() != 0)
      state.SkipWithError("the child failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(os_process_start_join)
  ->Arg(0)
  ->Arg(1)
  ->Unit(benchmark::kMillisecond)
  ->UseRealTime();

/// kill() -> join() returns, of a child that runs its entry point (the
/// start is not timed).
void os_process_kill_join(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    troupe::os_process p{rt(), troupe::entry<bench::waits>};
    p.start();
    p.send(1); // queued until the link is up: a round trip proves it runs
    p.send(2);
    troupe::this_process::sleep_for(std::chrono::milliseconds{30});
    state.ResumeTiming();
    p.kill();
    p.join();
  }
}
BENCHMARK(os_process_kill_join)->Unit(benchmark::kMicrosecond)->UseRealTime();

/// A supervised OS-process child crashes (SIGSEGV): the time from the
/// message that makes it crash to the supervisor's next call of its start
/// function (an upper bound of "crash -> restart begins": it includes the
/// message's trip to the child and the crash itself).
void os_process_crash_restart(benchmark::State& state) {
  std::atomic<clock_type::rep> last_start{0};
  std::atomic<int> starts{0};
  auto inner
    = troupe::start_os_process(troupe::entry<bench::crashes_on_message>);
  troupe::supervisor sup{
    rt(),
    {.name = "bench",
     .restarts = {.intensity = 1'000'000, .period = std::chrono::hours{1}},
     .on_event = [](const troupe::supervisor_event&) {}},
    {troupe::child_spec{
      .id = "crasher",
      .start = troupe::child_start{
        [&](troupe::runtime& r, const std::string& name, const std::any* x) {
          last_start.store(clock_type::now().time_since_epoch().count());
          starts.fetch_add(1);
          return inner(r, name, x);
        },
        troupe::child_type::worker}}}};
  std::optional<troupe::process> previous;
  for (auto _ : state) {
    auto before = starts.load();
    std::optional<troupe::process> child;
    while (!child) {
      auto kids = sup.which_children();
      if (!kids.empty() && kids[0].handle && kids[0].handle->is_alive()
          && kids[0].handle != previous)
        child = kids[0].handle;
    }
    previous = child;
    auto t0 = clock_type::now();
    child->send(1);
    while (starts.load() == before)
      std::this_thread::sleep_for(std::chrono::microseconds{50});
    auto t1 = clock_type::time_point{clock_type::duration{last_start.load()}};
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    // Let the new child reach its entry point before it is crashed again.
    std::this_thread::sleep_for(std::chrono::milliseconds{30});
  }
  sup.terminate();
  sup.join();
}
BENCHMARK(os_process_crash_restart)
  ->Unit(benchmark::kMillisecond)
  ->UseManualTime()
  ->Iterations(20);

} // namespace

int main(int argc, char** argv) {
  // A child started from this binary runs its entry point here; the first
  // runtime also makes the forkserver's zygote (one benchmark uses it).
  troupe::set_start_method(troupe::start_method::forkserver);
  troupe::runtime runtime{argc, argv};
  troupe::set_start_method(troupe::start_method::spawn);
  the_runtime = &runtime;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  the_runtime = nullptr;
}
