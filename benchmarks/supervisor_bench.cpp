// Supervision at scale (issue 18, item 5): what a supervisor's work costs
// as its number of children grows. OTP's supervisor_SUITE scaling case
// allows at most 1000x the time for 100x the children; a supervisor whose
// children are found in O(1) keeps the per-child cost flat instead.
//
// Names read `<workload>/<children>`; compare `per_child` (or
// `items_per_second`) across sizes, and `restart` across sizes: a flat line
// is the goal. Children are event-based actors doing nothing, so the
// figures are the supervisor's own bookkeeping plus one actor spawn/stop.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "troupe/troupe.hpp"

namespace {

troupe::runtime* the_runtime = nullptr;

troupe::runtime& rt() {
  return *the_runtime;
}

caf::behavior idle(caf::event_based_actor*) {
  return {[](int) {}};
}

/// Reports each start of its instance, and fails on any int.
caf::behavior probe(caf::event_based_actor* self,
                    troupe::queue<caf::actor> starts) {
  starts.put(caf::actor_cast<caf::actor>(self));
  return {
    [self](int) { self->quit(caf::make_error(caf::sec::runtime_error)); }};
}

troupe::supervisor_options quiet() {
  return {.name = "bench",
          .restarts
          = {.intensity = 1'000'000'000, .period = std::chrono::hours{1}},
          .on_event = [](const troupe::supervisor_event&) {}};
}

std::vector<std::string> ids(std::int64_t n) {
  std::vector<std::string> result;
  result.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i)
    result.push_back("c" + std::to_string(i));
  return result;
}

void per_child(benchmark::State& state, std::int64_t n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["per_child"] = benchmark::Counter(
    static_cast<double>(state.iterations() * n),
    benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

/// `start_child` of n children, one after another (the supervisor exists
/// already; its stop is not timed).
void start_children(benchmark::State& state) {
  auto n = state.range(0);
  auto names = ids(n);
  for (auto _ : state) {
    state.PauseTiming();
    troupe::supervisor sup{rt(), quiet()};
    state.ResumeTiming();
    for (auto& id : names)
      (void)sup.start_child(
        troupe::child_spec{.id = id, .start = troupe::start_actor(idle)});
    state.PauseTiming();
    sup.terminate();
    sup.join();
    state.ResumeTiming();
  }
  per_child(state, n);
}

/// `terminate_child` of each of n children, in start order (their start
/// and the supervisor's stop are not timed).
void terminate_children(benchmark::State& state) {
  auto n = state.range(0);
  auto names = ids(n);
  for (auto _ : state) {
    state.PauseTiming();
    troupe::supervisor sup{rt(), quiet()};
    for (auto& id : names)
      (void)sup.start_child(
        troupe::child_spec{.id = id, .start = troupe::start_actor(idle)});
    state.ResumeTiming();
    for (auto& id : names)
      sup.terminate_child(id);
    state.PauseTiming();
    sup.terminate();
    sup.join();
    state.ResumeTiming();
  }
  per_child(state, n);
}

/// One child's failure to its replacement running, among n-1 idle
/// siblings (one_for_one): the restart should not see the siblings.
void restart_among(benchmark::State& state) {
  auto n = state.range(0);
  auto names = ids(n - 1);
  troupe::queue<caf::actor> starts{rt()};
  troupe::supervisor sup{rt(), quiet()};
  for (auto& id : names)
    (void)sup.start_child(
      troupe::child_spec{.id = id, .start = troupe::start_actor(idle)});
  (void)sup.start_child(troupe::child_spec{
    .id = "probe", .start = troupe::start_actor(probe, starts)});
  auto child = starts.get();
  for (auto _ : state) {
    caf::anon_send(child, 1);
    child = starts.get();
  }
  state.SetItemsProcessed(state.iterations());
  sup.terminate();
  sup.join();
}

void register_all() {
  for (auto* b :
       {benchmark::RegisterBenchmark("start_children", start_children),
        benchmark::RegisterBenchmark("terminate_children", terminate_children)})
    b->Arg(1'000)
      ->Arg(10'000)
      ->Arg(100'000)
      ->Unit(benchmark::kMillisecond)
      ->Iterations(1);
  benchmark::RegisterBenchmark("restart_among", restart_among)
    ->Arg(10)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Unit(benchmark::kMicrosecond);
}

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  troupe::runtime runtime{argc, argv};
  if (!runtime.args().empty()) {
    for (const auto& arg : runtime.args())
      std::fprintf(stderr, "bench_supervisor: unknown argument '%s'\n",
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
