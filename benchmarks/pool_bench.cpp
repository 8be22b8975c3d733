// troupe::pool (issue 6) against a hand-written std::thread loop, with the
// Python figures of the issue for reference. See docs/benchmarks.md,
// section "Pool".
//
//   pool_map/troupe            Pool(2).map of 1M tiny tasks, default chunksize
//   pool_map/std_thread        two std::threads over the same data, each
//                              writing its half of the output
//   pool_imap_unordered/troupe Pool(2).imap_unordered, chunksize 1, 100k tasks
//   pool_apply_async_get/troupe  apply_async(f).get(), one at a time; the
//                              counters give the median and 90th percentile
//
// All troupe cases share one runtime and one pool of 2 workers, built in
// main (the benchmark thread is the runtime's main process).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

namespace {

constexpr std::size_t map_items = 1'000'000;
constexpr std::size_t imap_items = 100'000;

troupe::pool* the_pool = nullptr;

/// The tiny task: Python's `f(x) = x * x`. A lambda, as C++ code passes
/// tiny functions: through a plain function pointer, each item would cost
/// an indirect call that the hand-written loop does not pay.
constexpr auto square = [](std::int64_t x) { return x * x; };

/// 0, 1, ..., map_items - 1 (built once).
const std::vector<std::int64_t>& input() {
  static const std::vector<std::int64_t> data = [] {
    std::vector<std::int64_t> v(map_items);
    std::iota(v.begin(), v.end(), 0);
    return v;
  }();
  return data;
}

void check(const std::vector<std::int64_t>& out, benchmark::State& state) {
  if (out.size() != map_items || out[12345] != 12345LL * 12345LL)
    state.SkipWithError("wrong result");
}

void pool_map_troupe(benchmark::State& state) {
  const auto& in = input();
  for (auto _ : state) {
    auto out = the_pool->map(square, in);
    benchmark::DoNotOptimize(out.data());
    check(out, state);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations())
                          * static_cast<std::int64_t>(map_items));
}

void pool_map_std_thread(benchmark::State& state) {
  const auto& in = input();
  for (auto _ : state) {
    std::vector<std::int64_t> out(in.size());
    auto half = in.size() / 2;
    auto body = [&](std::size_t b, std::size_t e) {
      for (auto i = b; i < e; ++i)
        out[i] = square(in[i]);
    };
    std::thread a{body, 0, half};
    std::thread b{body, half, in.size()};
    a.join();
    b.join();
    benchmark::DoNotOptimize(out.data());
    check(out, state);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations())
                          * static_cast<std::int64_t>(map_items));
}

void pool_imap_unordered_troupe(benchmark::State& state) {
  const auto& all = input();
  std::vector<std::int64_t> in(all.begin(),
                               all.begin() + static_cast<long>(imap_items));
  for (auto _ : state) {
    std::int64_t sum = 0;
    for (auto x : the_pool->imap_unordered(square, in, 1))
      sum += x;
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations())
                          * static_cast<std::int64_t>(imap_items));
}

void pool_apply_async_get_troupe(benchmark::State& state) {
  std::vector<double> micros;
  micros.reserve(1 << 16);
  std::int64_t x = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = the_pool->apply_async(square, ++x).get();
    auto t1 = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(r);
    if (micros.size() < micros.capacity())
      micros.push_back(
        std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) {
    state.counters["median_us"] = micros[micros.size() / 2];
    state.counters["p90_us"] = micros[micros.size() * 9 / 10];
  }
  state.SetItemsProcessed(state.iterations());
}

/// Tasks whose results arrive through `callback` (the pool's callback
/// thread, an ext::serial_executor drained by a thread of its own): a batch
/// of `apply_async` with a callback, until every callback ran.
void pool_apply_async_callback_troupe(benchmark::State& state) {
  constexpr std::int64_t batch = 1000;
  std::atomic<std::int64_t> done{0};
  std::int64_t expected = 0;
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i)
      static_cast<void>(
        the_pool->apply_async(troupe::callback([&done](std::int64_t) {
                                done.fetch_add(1, std::memory_order_relaxed);
                              }),
                              square, i));
    expected += batch;
    while (done.load(std::memory_order_relaxed) < expected)
      std::this_thread::yield();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

} // namespace

BENCHMARK(pool_map_troupe)
  ->Name("pool_map/troupe")
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(pool_map_std_thread)
  ->Name("pool_map/std_thread")
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(pool_imap_unordered_troupe)
  ->Name("pool_imap_unordered/troupe")
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);
BENCHMARK(pool_apply_async_get_troupe)
  ->Name("pool_apply_async_get/troupe")
  ->UseRealTime()
  ->Unit(benchmark::kMicrosecond);

BENCHMARK(pool_apply_async_callback_troupe)
  ->Name("pool_apply_async_callback/troupe")
  ->UseRealTime()
  ->Unit(benchmark::kMicrosecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  troupe::runtime runtime{argc, argv};
  if (!runtime.args().empty()) {
    for (const auto& arg : runtime.args())
      std::fprintf(stderr, "bench_pool: unknown argument '%s'\n", arg.c_str());
    return 1;
  }
  {
    troupe::pool pool{runtime, {.processes = 2}};
    the_pool = &pool;
    benchmark::RunSpecifiedBenchmarks();
    the_pool = nullptr;
    pool.close();
    pool.join();
  }
  benchmark::Shutdown();
  return 0;
}
