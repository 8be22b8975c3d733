// Channel benchmarks (issue 3): pipe ping-pong between two processes,
// queue 1->1 throughput (ints and 1 KiB items), joinable_queue with two
// workers, event set->wake latency, and actor-attached consumption against
// raw CAF sends in the same binary. Figures and the command that produced
// them: docs/benchmarks.md, section "Channels".

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <troupe/attach.hpp>
#include <troupe/troupe.hpp>

namespace {

// The runtime every case shares, built in main on the benchmark thread
// (which becomes the main process), as in process_bench.cpp.
troupe::runtime* the_runtime = nullptr;

troupe::runtime& rt() {
  return *the_runtime;
}

// -- pipe ---------------------------------------------------------------------

void pipe_ping_pong(benchmark::State& state) {
  auto [mine, theirs] = troupe::pipe<std::int64_t>{rt()};
  troupe::process echo{rt(),
                       [](troupe::connection<std::int64_t, std::int64_t> c) {
                         try {
                           for (;;)
                             c.send(c.recv());
                         } catch (const troupe::closed&) {
                         }
                       },
                       theirs};
  echo.start();
  std::int64_t i = 0;
  for (auto _ : state) {
    mine.send(i);
    benchmark::DoNotOptimize(mine.recv());
    ++i;
  }
  mine.close();
  echo.join();
  state.SetItemsProcessed(state.iterations());
  state.counters["round_trips_per_s"] = benchmark::Counter(
    static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(pipe_ping_pong)->UseRealTime();

// -- queue --------------------------------------------------------------------

template <class T, class Make>
void queue_one_to_one(benchmark::State& state, Make make) {
  constexpr std::int64_t batch = 100000;
  troupe::queue<T> q{rt(), {.capacity = 1024}};
  for (auto _ : state) {
    troupe::process producer{rt(),
                             [make](troupe::queue<T> out) {
                               for (std::int64_t i = 0; i < batch; ++i)
                                 out.put(make(i));
                             },
                             q};
    producer.start();
    for (std::int64_t i = 0; i < batch; ++i)
      benchmark::DoNotOptimize(q.get());
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

void queue_ints(benchmark::State& state) {
  queue_one_to_one<std::int64_t>(state, [](std::int64_t i) { return i; });
}
BENCHMARK(queue_ints)->UseRealTime()->Unit(benchmark::kMillisecond);

void queue_1kib(benchmark::State& state) {
  queue_one_to_one<std::string>(state, [](std::int64_t i) {
    return std::string(1024, static_cast<char>('a' + i % 26));
  });
}
BENCHMARK(queue_1kib)->UseRealTime()->Unit(benchmark::kMillisecond);

// The same 1 KiB payloads as `troupe::bytes`, whose buffers come from
// block pools that hand freed blocks back between threads in batches.
void queue_1kib_bytes(benchmark::State& state) {
  queue_one_to_one<troupe::bytes>(state, [](std::int64_t i) {
    return troupe::bytes(1024, static_cast<char>('a' + i % 26));
  });
}
BENCHMARK(queue_1kib_bytes)->UseRealTime()->Unit(benchmark::kMillisecond);

// -- joinable_queue -----------------------------------------------------------

void joinable_queue_two_workers(benchmark::State& state) {
  constexpr std::int64_t batch = 100000;
  troupe::joinable_queue<std::int64_t> tasks{rt()};
  auto worker = [](troupe::joinable_queue<std::int64_t> in) {
    try {
      for (;;) {
        benchmark::DoNotOptimize(in.get());
        in.task_done();
      }
    } catch (const troupe::closed&) {
    }
  };
  troupe::process w1{rt(), worker, tasks};
  troupe::process w2{rt(), worker, tasks};
  w1.start();
  w2.start();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < batch; ++i)
      tasks.put(i);
    tasks.join();
  }
  tasks.close();
  w1.join();
  w2.join();
  state.SetItemsProcessed(state.iterations() * batch);
}
BENCHMARK(joinable_queue_two_workers)
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

// -- event --------------------------------------------------------------------

void event_set_to_wake(benchmark::State& state) {
  troupe::event go{rt()};
  troupe::event back{rt()};
  std::atomic<std::int64_t> woke_at{0};
  std::atomic<bool> stop{false};
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
  };
  std::thread waiter{[&] {
    for (;;) {
      go.wait();
      woke_at = now_ns();
      go.clear();
      if (stop)
        return;
      back.set();
    }
  }};
  for (auto _ : state) {
    auto t0 = now_ns();
    go.set();
    back.wait();
    back.clear();
    state.SetIterationTime(static_cast<double>(woke_at.load() - t0) * 1e-9);
  }
  stop = true;
  go.set();
  waiter.join();
}
BENCHMARK(event_set_to_wake)->UseManualTime()->Unit(benchmark::kMicrosecond);

// -- actor attachment against raw CAF sends -----------------------------------

constexpr std::int64_t actor_batch = 100000;

caf::behavior raw_counter(caf::event_based_actor*, troupe::event done) {
  auto n = std::make_shared<std::int64_t>(0);
  return {[n, done](std::int64_t) mutable {
    if (++*n % actor_batch == 0)
      done.set();
  }};
}

caf::behavior attached_counter(caf::event_based_actor*, troupe::event done) {
  auto n = std::make_shared<std::int64_t>(0);
  return {[n, done](troupe::delivery<std::int64_t>&) mutable {
    if (++*n % actor_batch == 0)
      done.set();
  }};
}

caf::behavior batched_counter(caf::event_based_actor*, troupe::event done) {
  auto n = std::make_shared<std::int64_t>(0);
  return {[n, done](troupe::deliveries<std::int64_t>& xs) mutable {
    for (auto x : xs) {
      benchmark::DoNotOptimize(x);
      if (++*n % actor_batch == 0)
        done.set();
    }
  }};
}

void raw_caf_send(benchmark::State& state) {
  troupe::event done{rt()};
  auto a = troupe::spawn(rt(), raw_counter, done);
  auto hdl = a.handle();
  for (auto _ : state) {
    for (std::int64_t i = 0; i < actor_batch; ++i)
      caf::anon_send(hdl, i);
    done.wait();
    done.clear();
  }
  a.kill();
  a.join();
  state.SetItemsProcessed(state.iterations() * actor_batch);
}
BENCHMARK(raw_caf_send)->UseRealTime()->Unit(benchmark::kMillisecond);

/// Puts `actor_batch` items per iteration into a queue attached (by
/// `attach_to`) to an actor running `counter`, which sets `done` at each
/// batch's last item.
template <class Attach>
void attached_run(benchmark::State& state,
                  caf::behavior (*counter)(caf::event_based_actor*,
                                           troupe::event),
                  Attach attach_to) {
  troupe::event done{rt()};
  troupe::queue<std::int64_t> q{rt(), {.capacity = 4096}};
  auto a = troupe::spawn(rt(), counter, done);
  auto link = attach_to(q, a);
  for (auto _ : state) {
    for (std::int64_t i = 0; i < actor_batch; ++i)
      q.put(i);
    done.wait();
    done.clear();
  }
  link.detach();
  a.kill();
  a.join();
  state.SetItemsProcessed(state.iterations() * actor_batch);
}

// range(0) is the credit.
void attached_queue(benchmark::State& state) {
  attached_run(state, attached_counter, [&](auto& q, auto& a) {
    return troupe::attach(q, a, static_cast<std::size_t>(state.range(0)));
  });
}
BENCHMARK(attached_queue)
  ->Arg(64)
  ->Arg(1024)
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

// The same, with the items arriving in batches (`attach_batched`): range(0)
// is the credit, range(1) the most items per message.
void attached_queue_batched(benchmark::State& state) {
  attached_run(state, batched_counter, [&](auto& q, auto& a) {
    return troupe::attach_batched(
      q, a,
      {.credit = static_cast<std::size_t>(state.range(0)),
       .max_batch = static_cast<std::size_t>(state.range(1))});
  });
}
BENCHMARK(attached_queue_batched)
  ->Args({1024, 64})
  ->Args({1024, 16})
  ->UseRealTime()
  ->Unit(benchmark::kMillisecond);

} // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  troupe::runtime runtime{argc, argv};
  the_runtime = &runtime;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  the_runtime = nullptr;
}
