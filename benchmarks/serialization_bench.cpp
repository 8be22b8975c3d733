// The durable store's group commit (issue 7, the Manager's durable mode):
// acknowledged appends per second, where "acknowledged" means the store's
// on_durable callback reported the record durable (written and
// fdatasync'ed). Target: >= 50k acknowledged writes/s.
//
// - durable_ack_each: every producer appends one record and waits for its
//   acknowledgement before the next (a blocking proxy call per write); the
//   figure grows with the number of producers sharing each group commit.
// - durable_ack_window: every producer keeps up to 1024 records in flight
//   (event-based clients, or a pipelining proxy); measures the store's
//   throughput limit.
// - durable_append_only: the cost of append() itself, not waiting.
// - to_bytes / from_bytes: a Manager-like record through the bridge.
//
// Records are 64 bytes. The store lives in $TROUPE_BENCH_DIR, else the
// system temp directory: run it on the disk the Manager will use.

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include <troupe/serialization/durable_store.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace {

namespace fs = std::filesystem;
namespace ts = troupe::serialization;

/// Acknowledgements, as a Manager would wait for them.
struct acks {
  std::mutex mtx;
  std::condition_variable cv;
  std::atomic<std::uint64_t> durable{0};

  void on_durable(std::uint64_t seq) {
    {
      std::lock_guard guard{mtx};
      durable.store(seq, std::memory_order_release);
    }
    cv.notify_all();
  }

  void wait_for(std::uint64_t seq) {
    if (durable.load(std::memory_order_acquire) >= seq)
      return;
    std::unique_lock lk{mtx};
    cv.wait(lk, [&] { return durable.load(std::memory_order_acquire) >= seq; });
  }
};

/// One store for the whole run, in a directory removed at exit.
struct fixture {
  fs::path dir;
  acks ack;
  std::unique_ptr<ts::durable_store> store;

  fixture() {
    const char* base = std::getenv("TROUPE_BENCH_DIR");
    dir = (base != nullptr ? fs::path{base} : fs::temp_directory_path())
          / ("troupe-bench-store-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    store = std::make_unique<ts::durable_store>(
      ts::store_options{.path = dir / "state",
                        .compact_after = std::size_t{1} << 40},
      [this](std::uint64_t seq) { ack.on_durable(seq); });
  }

  ~fixture() {
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

fixture& shared() {
  static fixture f;
  return f;
}

const std::string record(64, 'r');

/// Reports the mean group commit size over the run (thread 0 only).
class batch_counter {
public:
  explicit batch_counter(benchmark::State& state) : state_(state) {
    if (state_.thread_index() == 0)
      before_ = shared().store->stats();
  }

  ~batch_counter() {
    if (state_.thread_index() != 0)
      return;
    auto after = shared().store->stats();
    auto batches = std::max<std::uint64_t>(after.batches - before_.batches, 1);
    state_.counters["per_commit"]
      = static_cast<double>(after.appends - before_.appends)
        / static_cast<double>(batches);
  }

private:
  benchmark::State& state_;
  ts::store_stats before_;
};

void durable_ack_each(benchmark::State& state) {
  auto& f = shared();
  {
    batch_counter counter{state};
    for (auto _ : state)
      f.ack.wait_for(f.store->append(record));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(durable_ack_each)->ThreadRange(1, 64)->UseRealTime();

void durable_ack_window(benchmark::State& state) {
  constexpr std::uint64_t window = 1024;
  auto& f = shared();
  {
    batch_counter counter{state};
    std::uint64_t done = 0;
    std::uint64_t seq = 0;
    std::uint64_t in_flight[window] = {};
    for (auto _ : state) {
      // Wait for the record sent `window` appends ago, then send another.
      auto& slot = in_flight[done % window];
      if (slot != 0)
        f.ack.wait_for(slot);
      slot = seq = f.store->append(record);
      // The last iteration waits for everything: only acknowledged writes
      // count.
      if (++done == static_cast<std::uint64_t>(state.max_iterations))
        f.ack.wait_for(seq);
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(durable_ack_window)->Threads(1)->Threads(4)->UseRealTime();

void durable_append_only(benchmark::State& state) {
  auto& f = shared();
  for (auto _ : state)
    benchmark::DoNotOptimize(f.store->append(record));
  f.store->flush();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(durable_append_only)->UseRealTime();

using entry = std::map<std::string, std::string>;

entry manager_like_entry() {
  return {{"key", "user:12345"}, {"value", std::string(40, 'v')}};
}

void serialization_to_bytes(benchmark::State& state) {
  auto e = manager_like_entry();
  for (auto _ : state)
    benchmark::DoNotOptimize(ts::to_bytes(e));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(serialization_to_bytes);

void serialization_from_bytes(benchmark::State& state) {
  auto bytes = ts::to_bytes(manager_like_entry());
  for (auto _ : state)
    benchmark::DoNotOptimize(ts::from_bytes<entry>(bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(serialization_from_bytes);

} // namespace

BENCHMARK_MAIN();
