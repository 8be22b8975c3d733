// compare_troupe: the side-by-side workloads on troupe (see
// benchmarks/compare/run.py for their definitions, and docs/benchmarks.md,
// "Side by side", for the figures). One workload per invocation:
//
//   compare_troupe --workload NAME --n N
//
// Python's patterns use troupe's Python-style API (process, pipe, queue,
// joinable_queue, event, lock, pool, manager) the way their docs show;
// the actor workloads spawn the event-based actors of actors.hpp with
// troupe::spawn and wait with join(). Only the measured part is timed:
// setup (starting the peer process, spawning a ring) is not, unless
// creating things is the workload.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <troupe/cross_process.hpp>
#include <troupe/manager.hpp>
#include <troupe/os_process.hpp>
#include <troupe/pool.hpp>
#include <troupe/shared_memory.hpp>
#include <troupe/troupe.hpp>

#include "actors.hpp"
#include "common.hpp"

namespace compare_entries {

void nothing() {}

/// The task of pool_map_10us: about 10 us of integer work here (6,500
/// dependent steps of a 64-bit LCG and an xorshift), then x * x (plus one
/// in the never-seen case that the state ends at 0, which keeps the work
/// from being optimized away). Python runs the same steps.
std::int64_t work_square(std::int64_t x) {
  auto h = static_cast<std::uint64_t>(x);
  for (int i = 0; i < 6500; ++i) {
    h = h * 6364136223846793005ULL + 1442695040888963407ULL;
    h ^= h >> 29U;
  }
  return x * x + (h == 0 ? 1 : 0);
}

/// The reader of shm_handoff_1mib: for each message g (until a negative
/// one), sums the 64-bit words after the block's 64-byte header and
/// publishes the sum, then g, in the header.
void shm_reader(troupe::shared_memory block) {
  auto bytes = block.bytes();
  std::span<const std::uint64_t> words{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    reinterpret_cast<const std::uint64_t*>(bytes.data() + 64),
    (bytes.size() - 64) / 8};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  auto* header = reinterpret_cast<std::uint64_t*>(bytes.data());
  std::atomic_ref<std::uint64_t> sum{header[0]};
  std::atomic_ref<std::uint64_t> done{header[1]};
  for (;;) {
    auto g = troupe::this_process::receive<std::int64_t>();
    if (g < 0)
      return;
    sum.store(std::accumulate(words.begin(), words.end(), std::uint64_t{0}),
              std::memory_order_relaxed);
    done.store(static_cast<std::uint64_t>(g), std::memory_order_release);
  }
}

/// A contender of lock_counter_2_os: waits for the block's go word, then
/// makes n increments of the block's counter under the lock.
void os_increment(troupe::lock l, troupe::shared_memory block, std::int64_t n) {
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  auto* words = reinterpret_cast<std::int64_t*>(block.bytes().data());
  std::atomic_ref<std::int64_t> go{words[1]};
  while (go.load(std::memory_order_acquire) == 0)
    std::this_thread::yield();
  for (std::int64_t k = 0; k < n; ++k) {
    std::lock_guard guard{l};
    ++words[0];
  }
}

} // namespace compare_entries

TROUPE_ENTRY(compare_entries::os_increment);
TROUPE_ENTRY(compare_entries::nothing);
TROUPE_ENTRY(compare_entries::shm_reader);
TROUPE_ENTRY(compare_entries::work_square);

namespace {

using namespace compare;

troupe::runtime* the_runtime = nullptr;

troupe::runtime& rt() {
  return *the_runtime;
}

// -- (a) pipe ping-pong -------------------------------------------------------

/// The main process sends 1..n through a duplex pipe to a process that
/// echoes them back; check: the sum of the answers.
result pipe_ping_pong(std::int64_t n) {
  auto [mine, theirs] = troupe::pipe<std::int64_t>{rt()};
  troupe::process echo{rt(),
                       [](troupe::connection<std::int64_t, std::int64_t> c) {
                         try {
                           for (;;)
                             c.send(c.recv());
                         } catch (const troupe::closed&) {
                           // The main process closed its end: done.
                         }
                       },
                       std::move(theirs)};
  echo.start();
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 1; i <= n; ++i) {
    mine.send(i);
    sum += mine.recv();
  }
  auto secs = seconds_since(start);
  mine.close();
  echo.join();
  return rate(n, secs, sum);
}

// -- (b) queue 1 -> 1 ---------------------------------------------------------

/// A producer process puts n items (made by `make`) into a bounded queue;
/// the main process gets them and folds them with `fold`. Timed from the
/// producer's start to the last get.
template <class T, class Make, class Fold>
result queue_one_to_one(std::int64_t n, Make make, Fold fold) {
  troupe::queue<T> q{rt(), {.capacity = 1024}};
  troupe::process producer{rt(),
                           [n, make](troupe::queue<T> out) {
                             for (std::int64_t i = 0; i < n; ++i)
                               out.put(make(i));
                           },
                           q};
  std::int64_t check = 0;
  auto start = clock_type::now();
  producer.start();
  for (std::int64_t i = 0; i < n; ++i)
    check += fold(q.get());
  auto secs = seconds_since(start);
  producer.join();
  return rate(n, secs, check);
}

result queue_ints(std::int64_t n) {
  return queue_one_to_one<std::int64_t>(
    n, [](std::int64_t i) { return i; }, [](std::int64_t x) { return x; });
}

/// Items are 1 KiB `troupe::bytes` (the twin of Python's bytes) filled
/// with 'a' + i % 26; check: the sum of (length + first byte) over all
/// items.
result queue_1kib(std::int64_t n) {
  return queue_one_to_one<troupe::bytes>(
    n,
    [](std::int64_t i) {
      return troupe::bytes(1024, static_cast<char>('a' + i % 26));
    },
    [](const troupe::bytes& s) {
      return static_cast<std::int64_t>(s.size())
             + static_cast<unsigned char>(s[0]);
    });
}

// -- (c) joinable queue, 2 workers --------------------------------------------

/// The main process puts 0..n-1 and waits in join() until two worker
/// processes have taken each item and called task_done(); each worker
/// then reports its sum. Check: the total of both sums.
result joinable_queue_2_workers(std::int64_t n) {
  troupe::joinable_queue<std::int64_t> tasks{rt()};
  troupe::queue<std::int64_t> sums{rt()};
  auto worker = [](troupe::joinable_queue<std::int64_t> in,
                   troupe::queue<std::int64_t> out) {
    std::int64_t sum = 0;
    try {
      for (;;) {
        sum += in.get();
        in.task_done();
      }
    } catch (const troupe::closed&) {
      out.put(sum);
    }
  };
  troupe::process w1{rt(), worker, tasks, sums};
  troupe::process w2{rt(), worker, tasks, sums};
  w1.start();
  w2.start();
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i)
    tasks.put(i);
  tasks.join();
  auto secs = seconds_since(start);
  tasks.close();
  auto check = sums.get() + sums.get();
  w1.join();
  w2.join();
  return rate(n, secs, check);
}

// -- (f) process start + join -------------------------------------------------

/// n times: start a process with an empty target and join it; check: how
/// many ended with exit code 0.
result process_start_join(std::int64_t n) {
  std::int64_t ok = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    troupe::process p{rt(), [] {}};
    p.start();
    p.join();
    ok += p.exitcode() == 0 ? 1 : 0;
  }
  return rate(n, seconds_since(start), ok);
}

/// n times: start an os_process (its own OS process) running an empty
/// entry point, with start method `method`, and join it. Check: how many
/// ended with exit code 0.
result os_process_start_join(std::int64_t n, troupe::start_method method) {
  std::int64_t ok = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    troupe::os_process p{
      rt(), {.start_method = method}, troupe::entry<compare_entries::nothing>};
    p.start();
    p.join();
    ok += p.exitcode() == 0 ? 1 : 0;
  }
  return rate(n, seconds_since(start), ok);
}

/// n times: the main process fills a 1 MiB shared_memory block with the
/// round's number g (as 64-bit words) and sends g to an os_process that
/// holds the block (handed over at its start); that process sums the
/// block's words in place and publishes the sum and g in the block's
/// header, which the main process waits for. Check: the rounds whose sum
/// was g * 131072.
result shm_handoff_1mib(std::int64_t n) {
  constexpr std::size_t payload = std::size_t{1} << 20;
  troupe::shared_memory block{64 + payload};
  troupe::os_process reader{rt(), troupe::entry<compare_entries::shm_reader>,
                            block};
  reader.start();
  auto bytes = block.bytes();
  std::span<std::uint64_t> words{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
    reinterpret_cast<std::uint64_t*>(bytes.data() + 64), payload / 8};
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  auto* header = reinterpret_cast<std::uint64_t*>(bytes.data());
  std::atomic_ref<std::uint64_t> sum{header[0]};
  std::atomic_ref<std::uint64_t> done{header[1]};
  auto round = [&](std::int64_t g) {
    std::fill(words.begin(), words.end(), static_cast<std::uint64_t>(g));
    reader.send(g);
    while (done.load(std::memory_order_acquire)
           != static_cast<std::uint64_t>(g))
      std::this_thread::yield();
    return sum.load(std::memory_order_relaxed)
           == static_cast<std::uint64_t>(g) * words.size();
  };
  round(1); // untimed: the link to the reader comes up
  std::int64_t right = 0;
  auto start = clock_type::now();
  for (std::int64_t g = 2; g < n + 2; ++g)
    right += round(g) ? 1 : 0;
  auto secs = seconds_since(start);
  reader.send(std::int64_t{-1});
  reader.join();
  return rate(n, secs, right);
}

// -- (h) event set -> wake latency --------------------------------------------

/// n times: the main process sets `go` and a waiting process records when
/// its wait() returned, then sets `back` for the next round. Sample: wake
/// time minus set time. Check: the number of wake-ups.
result event_latency(std::int64_t n) {
  troupe::event go{rt()};
  troupe::event back{rt()};
  auto woke_at = make_count();
  auto wakes = make_count();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  troupe::process waiter{rt(), [go, back, woke_at, wakes, stop]() mutable {
                           for (;;) {
                             go.wait();
                             woke_at->store(now_ns());
                             go.clear();
                             if (stop->load())
                               return;
                             wakes->fetch_add(1);
                             back.set();
                           }
                         }};
  waiter.start();
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(n));
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    auto t0 = now_ns();
    go.set();
    back.wait();
    back.clear();
    samples.push_back(woke_at->load() - t0);
  }
  auto secs = seconds_since(start);
  stop->store(true);
  go.set();
  waiter.join();
  return latency(std::move(samples), secs, wakes->load());
}

// -- (i) lock-protected counter -----------------------------------------------

/// `contenders` processes each make n increments of a shared counter under
/// a troupe::lock; they start together on an event. Timed from the event
/// to the last join; check: the counter.
result lock_counter(std::int64_t n, int contenders) {
  troupe::lock l{rt()};
  troupe::event go{rt()};
  auto counter = std::make_shared<std::int64_t>(0);
  std::vector<troupe::process> ps;
  for (int i = 0; i < contenders; ++i) {
    ps.emplace_back(rt(), [l, go, counter, n]() mutable {
      go.wait();
      for (std::int64_t k = 0; k < n; ++k) {
        std::lock_guard guard{l};
        ++*counter;
      }
    });
    ps.back().start();
  }
  auto start = clock_type::now();
  go.set();
  for (auto& p : ps)
    p.join();
  auto secs = seconds_since(start);
  return rate(n * contenders, secs, *counter);
}

/// As lock_counter with 2 contenders, each an os_process: the lock is
/// handed to both at their start (<troupe/cross_process.hpp>), the counter
/// lives in a shared_memory block. Timed from the go word to the last
/// join; check: the counter.
result lock_counter_2_os(std::int64_t n) {
  troupe::lock l{rt()};
  troupe::shared_memory block{16};
  std::vector<troupe::os_process> ps;
  for (int i = 0; i < 2; ++i) {
    ps.emplace_back(rt(), troupe::entry<compare_entries::os_increment>, l,
                    block, n);
    ps.back().start();
  }
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast)
  auto* words = reinterpret_cast<std::int64_t*>(block.bytes().data());
  auto start = clock_type::now();
  std::atomic_ref<std::int64_t>{words[1]}.store(1, std::memory_order_release);
  for (auto& p : ps)
    p.join();
  auto secs = seconds_since(start);
  return rate(2 * n, secs, std::atomic_ref<std::int64_t>{words[0]}.load());
}

// -- actor workloads ----------------------------------------------------------

/// Two event-based actors bounce a number n times (round trips).
result actor_ping_pong(std::int64_t n) {
  auto sum = make_count();
  auto start = clock_type::now();
  auto b = troupe::spawn(rt(), pong, n);
  auto a = troupe::spawn(rt(), ping, b.handle(), n, sum);
  a.join();
  b.join();
  return rate(n, seconds_since(start), sum->load());
}

/// Spawns n actors that end at once and waits until all have ended. The
/// handles are not kept (fire and forget); each end is counted through
/// the CAF handle's exit hook, as compare_caf does.
result spawn_exit(std::int64_t n) {
  auto ended = make_count();
  std::mutex mtx;
  std::condition_variable cv;
  auto count_end = [&, ended, n] {
    if (ended->fetch_add(1) + 1 == n) {
      std::lock_guard guard{mtx};
      cv.notify_all();
    }
  };
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    if (auto hdl = troupe::spawn(rt(), quit_at_once).handle())
      hdl->attach_functor(count_end);
    else
      count_end(); // already gone
  }
  {
    std::unique_lock guard{mtx};
    cv.wait(guard, [&] { return ended->load() == n; });
  }
  return rate(n, seconds_since(start), ended->load());
}

/// Number of senders in the N:1 workload.
constexpr std::int64_t n_to_1_senders = 64;

/// 64 actors send n numbers in total (0..n-1) to one receiver, which ends
/// after the last; check: the receiver's sum.
result mailbox_n_to_1(std::int64_t n) {
  auto sum = make_count();
  auto start = clock_type::now();
  auto target = troupe::spawn(rt(), sink, n, sum);
  auto per = n / n_to_1_senders;
  for (std::int64_t s = 0; s < n_to_1_senders; ++s) {
    auto count = s + 1 < n_to_1_senders ? per : n - per * s;
    auto a = troupe::spawn(rt(), sender, target.handle(), per * s, count);
    static_cast<void>(a); // the senders end on their own
  }
  target.join();
  return rate(n, seconds_since(start), sum->load());
}

/// Members in the thread ring.
constexpr std::int64_t ring_size = 100;

/// A token makes n hops around a ring of 100 actors (Savina's ThreadRing);
/// check: the hop count the token carries at the end. The ring is built
/// before the clock starts.
result thread_ring(std::int64_t n) {
  auto hops = make_count();
  std::vector<troupe::actor> ring;
  for (std::int64_t i = 0; i < ring_size; ++i)
    ring.push_back(troupe::spawn(rt(), ring_member, hops));
  for (std::size_t i = 0; i < ring.size(); ++i)
    ring[i].send(ring[(i + 1) % ring.size()].handle());
  auto start = clock_type::now();
  ring.front().send(n, std::int64_t{0});
  for (auto& a : ring)
    a.join();
  return rate(n, seconds_since(start), hops->load());
}

/// Workers in the fork-join workload (Savina's default for FJ throughput).
constexpr std::int64_t fork_join_workers = 60;

/// The main process deals 0..n-1 round-robin to 60 worker actors, each
/// summing what it gets (trivial work) and ending after its share; timed
/// until all have ended. Check: the total of their sums.
result fork_join(std::int64_t n) {
  auto total = make_count();
  auto start = clock_type::now();
  std::vector<troupe::actor> workers;
  for (std::int64_t w = 0; w < fork_join_workers; ++w) {
    // Worker w gets the numbers i with i % workers == w.
    auto share = n / fork_join_workers + (w < n % fork_join_workers ? 1 : 0);
    workers.push_back(troupe::spawn(rt(), fork_join_worker, share, total));
  }
  for (std::int64_t i = 0; i < n; ++i)
    workers[static_cast<std::size_t>(i % fork_join_workers)].send(i);
  for (auto& w : workers)
    w.join();
  return rate(n, seconds_since(start), total->load());
}

// -- supervised restart -------------------------------------------------------

using crash_atom = caf::atom_constant<caf::atom("crash")>;

/// What a child reports when it starts, as the Erlang twin's
/// `{started, self(), T}`: its start time and its mailbox, so the main
/// process messages the replacement directly, as Erlang's does, instead of
/// asking the supervisor (a call that wakes the supervisor's thread in the
/// middle of the measured window).
struct started {
  std::int64_t at = 0;
  caf::actor self;
};

/// Where a failing child leaves the time of its failure: an atomic, the
/// cheapest way to publish a timestamp here (the Erlang twin sends a
/// message, its cheapest way); the main process reads it once the
/// replacement has reported its start, which happens after the failure.
using failure_clock = std::shared_ptr<std::atomic<std::int64_t>>;

/// A supervised event-based child: reports each start to the main process
/// through `starts` (an unbounded queue: the put never blocks the actor);
/// when it gets `crash`, records the time in `failed_at` and ends
/// abnormally. It quits with an error rather than throwing, as the Erlang
/// twin calls exit(crash): an uncaught exception would add CAF's report on
/// stderr to every restart.
caf::behavior crashy(caf::event_based_actor* self,
                     troupe::queue<started> starts, failure_clock failed_at) {
  starts.put(started{now_ns(), caf::actor_cast<caf::actor>(self)});
  return {
    [self, failed_at](crash_atom) {
      failed_at->store(now_ns());
      self->quit(caf::make_error(caf::sec::runtime_error));
    },
  };
}

/// The same as a blocking process: reports its start, then records the
/// time and throws on any message.
void crashy_process(troupe::queue<started> starts, failure_clock failed_at) {
  starts.put(started{now_ns(), troupe::current_process().handle()});
  troupe::this_process::receive<crash_atom>();
  failed_at->store(now_ns());
  throw std::runtime_error("crash");
}

/// Restarts per supervisor in the supervised restart workloads: a
/// supervisor remembers each restart within its period (to enforce its
/// intensity), so one that allowed all n restarts would grow that record
/// with n in both troupe and OTP; real configurations allow a handful.
constexpr std::int64_t restarts_per_supervisor = 100;

/// Batches of 100: a one_for_one supervisor with one permanent child
/// (built by `make_start` around the queue the child reports its start to
/// and the clock it records its failure in), which the main process tells
/// to fail, waiting each time until its replacement has started. Sample
/// (issue 5's "child failure -> replacement running"): the replacement's
/// start time minus the failing child's last time before it failed. Check:
/// the restarts the supervisors counted.
result restart_latency(std::int64_t n,
                       const std::function<troupe::child_start(
                         troupe::queue<started>, failure_clock)>& make_start) {
  troupe::queue<started> starts{rt()};
  auto failed_at = std::make_shared<std::atomic<std::int64_t>>(0);
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(n));
  std::int64_t restarts = 0;
  auto start = clock_type::now();
  for (std::int64_t done = 0; done < n;) {
    auto batch = std::min(restarts_per_supervisor, n - done);
    troupe::supervisor sup{
      rt(),
      {.name = "bench",
       .strategy = troupe::strategy::one_for_one,
       // Never gives up in this run.
       .restarts = {.intensity = static_cast<int>(batch),
                    .period = std::chrono::hours{1}},
       // No report per failure: the run measures restarts, not printing.
       .on_event = [](const troupe::supervisor_event&) {}},
      {troupe::child_spec{.id = "crashy",
                          .start = make_start(starts, failed_at)}}};
    auto child = starts.get().self; // the first instance is up
    for (std::int64_t i = 0; i < batch; ++i) {
      caf::anon_send(child, crash_atom::value);
      auto next = starts.get();
      samples.push_back(next.at - failed_at->load());
      child = std::move(next.self);
    }
    restarts += sup.restarts();
    sup.terminate();
    sup.join();
    done += batch;
  }
  auto secs = seconds_since(start);
  return latency(std::move(samples), secs, restarts);
}

result supervised_restart(std::int64_t n) {
  return restart_latency(
    n, [](troupe::queue<started> starts, failure_clock failed_at) {
      return troupe::start_actor(crashy, starts, failed_at);
    });
}

/// As supervised_restart, with a blocking process as the child: its
/// replacement needs a thread from the pool, not a scheduler slot.
result supervised_restart_process(std::int64_t n) {
  return restart_latency(
    n, [](troupe::queue<started> starts, failure_clock failed_at) {
      return troupe::start_process(crashy_process, starts, failed_at);
    });
}

// -- (d) pool map / imap_unordered, (e) apply_async
// ----------------------------

/// The tiny task of (d) and (e): Python's `f(x) = x * x`.
std::int64_t square(std::int64_t x) {
  return x * x;
}

/// Items per map call in pool_map (the 1M tiny tasks).
constexpr std::int64_t map_batch = 1'000'000;

/// n tasks as Pool(2).map calls of at most 1M items each (0..m-1),
/// Python's default chunksize; the input vector is built before the clock
/// starts and read in place. Check: the sum of all results.
result pool_map(std::int64_t n) {
  troupe::pool pool{rt(), {.processes = 2}};
  std::vector<std::int64_t> in(
    static_cast<std::size_t>(std::min(n, map_batch)));
  std::iota(in.begin(), in.end(), std::int64_t{0});
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t done = 0; done < n;) {
    auto m = std::min(map_batch, n - done);
    auto out = pool.map(square, std::span<const std::int64_t>{
                                  in.data(), static_cast<std::size_t>(m)});
    for (auto x : out)
      sum += x;
    done += m;
  }
  auto secs = seconds_since(start);
  pool.close();
  pool.join();
  return rate(n, secs, sum);
}

/// Pool(2).map of 10 us tasks over 0..n-1, the default chunksize, on
/// threads or on OS-process workers (whose start is not timed: the map
/// is). Check: the sum of the results.
result pool_map_10us(std::int64_t n, troupe::isolation_mode isolation) {
  troupe::pool pool{rt(), {.processes = 2, .isolation = isolation}};
  std::vector<std::int64_t> in(static_cast<std::size_t>(n));
  std::iota(in.begin(), in.end(), std::int64_t{0});
  // Not timed: the workers' start (an OS process each takes ~12 ms) and a
  // first small map.
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  static_cast<void>(pool.map(troupe::entry<compare_entries::work_square>,
                             std::span<const std::int64_t>{in.data(), 64}, 1));
  auto start = clock_type::now();
  auto out = pool.map(troupe::entry<compare_entries::work_square>, in);
  auto secs = seconds_since(start);
  std::int64_t sum = 0;
  for (auto x : out)
    sum += x;
  pool.close();
  pool.join();
  return rate(n, secs, sum);
}

/// Pool(2).imap_unordered over 0..n-1, chunksize 1; check: the sum of the
/// results.
result pool_imap_unordered(std::int64_t n) {
  troupe::pool pool{rt(), {.processes = 2}};
  std::vector<std::int64_t> in(static_cast<std::size_t>(n));
  std::iota(in.begin(), in.end(), std::int64_t{0});
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (auto x : pool.imap_unordered(square, in, 1))
    sum += x;
  auto secs = seconds_since(start);
  pool.close();
  pool.join();
  return rate(n, secs, sum);
}

/// n times apply_async(square, i).get() on a Pool(2), one at a time.
/// Sample: the round trip. Check: how many results were i * i.
result apply_async(std::int64_t n) {
  troupe::pool pool{rt(), {.processes = 2}};
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(n));
  std::int64_t right = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    auto t0 = now_ns();
    auto r = pool.apply_async(square, i).get();
    samples.push_back(now_ns() - t0);
    right += r == i * i ? 1 : 0;
  }
  auto secs = seconds_since(start);
  pool.close();
  pool.join();
  return latency(std::move(samples), secs, right);
}

// -- (g) manager dict ---------------------------------------------------------

/// Keys of the manager dict workloads: i % 1024.
constexpr std::int64_t dict_keys = 1024;

/// A child process makes n set+get pairs (key i % 1024, value i) on a
/// manager dict proxy, timed inside the child. Check: the gets that
/// returned the value just set.
result manager_dict(std::int64_t n) {
  troupe::manager mgr{rt()};
  auto d = mgr.dict<std::int64_t, std::int64_t>();
  troupe::value<double> secs{rt(), 0.0};
  troupe::value<std::int64_t> right{rt(), 0};
  troupe::process child{
    rt(),
    [n](troupe::managed::dict<std::int64_t, std::int64_t> dd,
        troupe::value<double> out_secs, troupe::value<std::int64_t> out) {
      std::int64_t ok = 0;
      auto start = clock_type::now();
      for (std::int64_t i = 0; i < n; ++i) {
        dd.set(i % dict_keys, i);
        ok += dd.get(i % dict_keys) == i ? 1 : 0;
      }
      out_secs.set(seconds_since(start));
      out.set(ok);
    },
    d, secs, right};
  child.start();
  child.join();
  return rate(n, secs.get(), right.get());
}

} // namespace

int main(int argc, char** argv) {
  // The forkserver workload needs its zygote, made by the first runtime
  // while the program is single-threaded.
  for (int i = 1; i < argc; ++i)
    if (std::string_view{argv[i]}.ends_with("_forkserver"))
      troupe::set_start_method(troupe::start_method::forkserver);
  // Default runtime settings, as a troupe user gets them (the runtime's
  // low-latency scheduler defaults included); the command line is ours.
  // In an os_process child, this line runs its entry point.
  troupe::runtime runtime;
  the_runtime = &runtime;
  workload_table table{
    {"pipe_ping_pong", pipe_ping_pong},
    {"queue_ints", queue_ints},
    {"queue_1kib", queue_1kib},
    {"joinable_queue", joinable_queue_2_workers},
    {"process_start_join", process_start_join},
    {"os_process_start_join",
     [](std::int64_t n) {
       return os_process_start_join(n, troupe::start_method::spawn);
     }},
    {"os_process_start_join_forkserver",
     [](std::int64_t n) {
       return os_process_start_join(n, troupe::start_method::forkserver);
     }},
    {"shm_handoff_1mib", shm_handoff_1mib},
    {"event_latency", event_latency},
    {"lock_counter_1", [](std::int64_t n) { return lock_counter(n, 1); }},
    {"lock_counter_2", [](std::int64_t n) { return lock_counter(n, 2); }},
    {"lock_counter_2_os", lock_counter_2_os},
    {"actor_ping_pong", actor_ping_pong},
    {"spawn_exit", spawn_exit},
    {"mailbox_n_to_1", mailbox_n_to_1},
    {"thread_ring", thread_ring},
    {"fork_join", fork_join},
    {"supervised_restart", supervised_restart},
    {"supervised_restart_process", supervised_restart_process},
    {"pool_map", pool_map},
    {"pool_map_10us",
     [](std::int64_t n) {
       return pool_map_10us(n, troupe::isolation::thread);
     }},
    {"pool_map_10us_isolated",
     [](std::int64_t n) {
       return pool_map_10us(n, troupe::isolation::os_process);
     }},
    {"pool_imap_unordered", pool_imap_unordered},
    {"apply_async", apply_async},
    {"manager_dict", manager_dict},
  };
  auto status = run_main("troupe", argc, argv, table);
  the_runtime = nullptr;
  return status;
}
