// compare_caf: the side-by-side workloads on raw CAF 0.17 (see
// benchmarks/compare/run.py for their definitions). One workload per
// invocation:
//
//   compare_caf --workload NAME --n N
//
// The actor system gets the scheduler settings troupe's runtime sets
// (work-stealing.moderate-sleep-duration=0, scheduler.max-threads = cores),
// so the ratio measures troupe's layer, not a scheduler setting (the
// effect of CAF's defaults is in docs/benchmarks.md, scheduler study).
//
// CAF has no queue, pipe, event or lock. Where a Python pattern has a
// natural CAF form it is used and named in run.py's notes (a blocking
// actor's mailbox for a pipe or queue, a message to a blocked actor for an
// event, a counter actor for a lock, caf::actor_pool for a Pool, a
// stateful actor holding a map for a manager dict); the joinable queue has
// none (n/a).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_pool.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/blocking_actor.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors.hpp"
#include "common.hpp"

namespace {

using namespace compare;

caf::actor_system* the_system = nullptr;

caf::actor_system& sys() {
  return *the_system;
}

/// Counts ended actors; `wait()` blocks until `expected` have ended.
class end_counter {
public:
  explicit end_counter(std::int64_t expected) : expected_(expected) {}

  /// Counts `hdl`'s end (at once if it already ended).
  void watch(const caf::actor& hdl) {
    hdl->attach_functor([this] { count(); });
  }

  void wait() {
    std::unique_lock guard{mtx_};
    cv_.wait(guard, [this] { return ended_ == expected_; });
  }

  [[nodiscard]] std::int64_t ended() {
    std::lock_guard guard{mtx_};
    return ended_;
  }

private:
  void count() {
    std::lock_guard guard{mtx_};
    if (++ended_ == expected_)
      cv_.notify_all();
  }

  std::int64_t expected_;
  std::int64_t ended_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// Echoes numbers to their sender until an exit message arrives (a
/// blocking actor handles `exit_msg` as an ordinary message).
void blocking_echo(caf::blocking_actor* self) {
  bool running = true;
  self->receive_while(running)(
    [self](std::int64_t x) {
      self->send(caf::actor_cast<caf::actor>(self->current_sender()), x);
    },
    [&running](caf::exit_msg&) { running = false; });
}

// -- (a) mailbox ping-pong between two threads --------------------------------

/// The main thread (a scoped_actor) sends 1..n to a blocking actor (a
/// thread of its own) that echoes them: CAF's form of two processes on a
/// pipe. Check: the sum of the answers.
result pipe_ping_pong(std::int64_t n) {
  auto peer = sys().spawn(blocking_echo);
  caf::scoped_actor self{sys()};
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 1; i <= n; ++i) {
    self->send(peer, i);
    self->receive([&sum](std::int64_t y) { sum += y; });
  }
  auto secs = seconds_since(start);
  self->send_exit(peer, caf::exit_reason::user_shutdown);
  return rate(n, secs, sum);
}

// -- (b) queue 1 -> 1 through a mailbox ---------------------------------------

/// A blocking actor (the producer thread) sends n items made by `make` to
/// the main thread's scoped_actor, which receives and folds them. The
/// mailbox is unbounded: no backpressure, unlike troupe's bounded queue.
template <class T, class Make, class Fold>
result mailbox_one_to_one(std::int64_t n, Make make, Fold fold) {
  caf::scoped_actor self{sys()};
  auto consumer = caf::actor_cast<caf::actor>(self);
  std::int64_t check = 0;
  auto start = clock_type::now();
  sys().spawn([consumer, n, make](caf::blocking_actor* producer) {
    for (std::int64_t i = 0; i < n; ++i)
      producer->send(consumer, make(i));
  });
  for (std::int64_t i = 0; i < n; ++i)
    self->receive([&check, &fold](T& x) { check += fold(x); });
  return rate(n, seconds_since(start), check);
}

result queue_ints(std::int64_t n) {
  return mailbox_one_to_one<std::int64_t>(
    n, [](std::int64_t i) { return i; }, [](std::int64_t x) { return x; });
}

result queue_1kib(std::int64_t n) {
  return mailbox_one_to_one<std::string>(
    n,
    [](std::int64_t i) {
      return std::string(1024, static_cast<char>('a' + i % 26));
    },
    [](const std::string& s) {
      return static_cast<std::int64_t>(s.size())
             + static_cast<unsigned char>(s.front());
    });
}

// -- (f) process start + join: blocking actor spawn + end ---------------------

/// n times: spawn a blocking actor (CAF gives it a thread of its own) with
/// an empty body and wait for its end. Check: the ends counted.
result process_start_join(std::int64_t n) {
  std::int64_t ended = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    std::latch done{1};
    auto hdl = sys().spawn([](caf::blocking_actor*) {});
    hdl->attach_functor([&done] { done.count_down(); });
    hdl = nullptr;
    done.wait();
    ++ended;
  }
  return rate(n, seconds_since(start), ended);
}

// -- (h) wake latency: a message to a blocked actor ---------------------------

/// n times: the main thread sends its clock reading to a blocking actor
/// waiting in receive(), which answers with the time it woke. Sample: the
/// difference. Check: the number of wake-ups.
result event_latency(std::int64_t n) {
  auto waiter = sys().spawn([](caf::blocking_actor* self) {
    bool running = true;
    self->receive_while(running)(
      [self](std::int64_t) {
        auto woke = now_ns();
        self->send(caf::actor_cast<caf::actor>(self->current_sender()), woke);
      },
      [&running](caf::exit_msg&) { running = false; });
  });
  caf::scoped_actor self{sys()};
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(n));
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    auto t0 = now_ns();
    self->send(waiter, t0);
    self->receive([&](std::int64_t woke) { samples.push_back(woke - t0); });
  }
  auto secs = seconds_since(start);
  self->send_exit(waiter, caf::exit_reason::user_shutdown);
  auto wakes = static_cast<std::int64_t>(samples.size());
  return latency(std::move(samples), secs, wakes);
}

// -- (i) counter served by an actor -------------------------------------------

/// `contenders` event-based actors each make n increments through a
/// counter actor, each waiting for its answer; timed from `go` until all
/// have ended. Check: the counter's final value.
result lock_counter(std::int64_t n, int contenders) {
  auto counter = sys().spawn(counter_server);
  end_counter ends{contenders};
  std::vector<caf::actor> cs;
  for (int i = 0; i < contenders; ++i) {
    cs.push_back(sys().spawn(contender, counter, n));
    ends.watch(cs.back());
  }
  auto start = clock_type::now();
  for (auto& c : cs)
    caf::anon_send(c, go_atom::value);
  cs.clear();
  ends.wait();
  auto secs = seconds_since(start);
  std::int64_t value = -1;
  {
    caf::scoped_actor self{sys()};
    self->request(counter, caf::infinite, get_atom::value)
      .receive([&value](std::int64_t v) { value = v; }, [](caf::error&) {});
    self->send_exit(counter, caf::exit_reason::user_shutdown);
  }
  return rate(n * contenders, secs, value);
}

// -- actor workloads ----------------------------------------------------------

result actor_ping_pong(std::int64_t n) {
  auto sum = make_count();
  end_counter ends{2};
  auto start = clock_type::now();
  auto b = sys().spawn(pong, n);
  ends.watch(b);
  auto a = sys().spawn(ping, b, n, sum);
  ends.watch(a);
  a = nullptr;
  b = nullptr;
  ends.wait();
  return rate(n, seconds_since(start), sum->load());
}

result spawn_exit(std::int64_t n) {
  end_counter ends{n};
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i)
    ends.watch(sys().spawn(quit_at_once));
  ends.wait();
  return rate(n, seconds_since(start), ends.ended());
}

constexpr std::int64_t n_to_1_senders = 64;

result mailbox_n_to_1(std::int64_t n) {
  auto sum = make_count();
  end_counter ends{1};
  auto start = clock_type::now();
  auto target = sys().spawn(sink, n, sum);
  ends.watch(target);
  auto per = n / n_to_1_senders;
  for (std::int64_t s = 0; s < n_to_1_senders; ++s) {
    auto count = s + 1 < n_to_1_senders ? per : n - per * s;
    sys().spawn(sender, target, per * s, count);
  }
  target = nullptr;
  ends.wait();
  return rate(n, seconds_since(start), sum->load());
}

constexpr std::int64_t ring_size = 100;

result thread_ring(std::int64_t n) {
  auto hops = make_count();
  end_counter ends{ring_size};
  std::vector<caf::actor> ring;
  for (std::int64_t i = 0; i < ring_size; ++i) {
    ring.push_back(sys().spawn(ring_member, hops));
    ends.watch(ring.back());
  }
  for (std::size_t i = 0; i < ring.size(); ++i)
    caf::anon_send(ring[i], ring[(i + 1) % ring.size()]);
  auto start = clock_type::now();
  caf::anon_send(ring.front(), n, std::int64_t{0});
  ring.clear();
  ends.wait();
  return rate(n, seconds_since(start), hops->load());
}

constexpr std::int64_t fork_join_workers = 60;

result fork_join(std::int64_t n) {
  auto total = make_count();
  end_counter ends{fork_join_workers};
  auto start = clock_type::now();
  std::vector<caf::actor> workers;
  for (std::int64_t w = 0; w < fork_join_workers; ++w) {
    auto share = n / fork_join_workers + (w < n % fork_join_workers ? 1 : 0);
    workers.push_back(sys().spawn(fork_join_worker, share, total));
    ends.watch(workers.back());
  }
  for (std::int64_t i = 0; i < n; ++i)
    caf::anon_send(workers[static_cast<std::size_t>(i % fork_join_workers)], i);
  workers.clear();
  ends.wait();
  return rate(n, seconds_since(start), total->load());
}

// -- (d) pool map / imap_unordered, (e) apply_async: caf::actor_pool ----------

/// The tiny task of (d) and (e): Python's `f(x) = x * x`.
std::int64_t square(std::int64_t x) {
  return x * x;
}

/// A pool worker: answers x with square(x); for (begin, end, out) it
/// writes square(in[i]) to out[i] over the chunk, in place (as troupe's
/// map reads its input and writes its result vector in place; `out` is the
/// result buffer's address, a plain integer in the message), and answers
/// the chunk size.
caf::behavior pool_worker(caf::event_based_actor*, const std::int64_t* in) {
  return {
    [](std::int64_t x) { return square(x); },
    [in](std::int64_t begin, std::int64_t end, std::uint64_t out_addr) {
      auto* out = reinterpret_cast<std::int64_t*>(out_addr);
      for (auto i = begin; i < end; ++i)
        out[i] = square(in[i]);
      return end - begin;
    },
  };
}

/// caf::actor_pool of 2 pool_workers, round-robin dispatch (CAF's pool
/// pushes each message to the next worker; Python's workers pull).
caf::actor make_pool(const std::int64_t* in) {
  return caf::actor_pool::make(
    sys().dummy_execution_unit(), 2,
    [in] { return sys().spawn(pool_worker, in); },
    caf::actor_pool::round_robin());
}

constexpr std::int64_t map_batch = 1'000'000;

/// As compare_troupe's pool_map: maps of at most 1M items, Python's default
/// chunksize (about 4 chunks per worker), each chunk a request to the pool.
result pool_map(std::int64_t n) {
  auto m0 = std::min(n, map_batch);
  std::vector<std::int64_t> in(static_cast<std::size_t>(m0));
  std::iota(in.begin(), in.end(), std::int64_t{0});
  auto pool = make_pool(in.data());
  caf::scoped_actor self{sys()};
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t done = 0; done < n;) {
    auto m = std::min(map_batch, n - done);
    // A fresh result vector per map call, as troupe's (and Python's) map
    // returns one.
    std::vector<std::int64_t> out(static_cast<std::size_t>(m));
    auto addr = reinterpret_cast<std::uint64_t>(out.data());
    auto chunk = m / 8 + (m % 8 != 0 ? 1 : 0); // Python: divmod(m, 4 * 2)
    std::int64_t chunks = 0;
    for (std::int64_t b = 0; b < m; b += chunk, ++chunks)
      self->send(pool, b, std::min(b + chunk, m), addr);
    std::int64_t items = 0;
    for (std::int64_t c = 0; c < chunks; ++c)
      self->receive([&items](std::int64_t k) { items += k; });
    if (items != m)
      throw std::runtime_error("pool_map: lost a chunk");
    for (auto x : out)
      sum += x;
    done += m;
  }
  auto secs = seconds_since(start);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  return rate(n, secs, sum);
}

/// n messages 0..n-1 sent to the pool at once (Python's imap_unordered
/// feeds every task up front too), answers summed as they come.
result pool_imap_unordered(std::int64_t n) {
  auto pool = make_pool(nullptr);
  caf::scoped_actor self{sys()};
  std::int64_t sum = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i)
    self->send(pool, i);
  for (std::int64_t i = 0; i < n; ++i)
    self->receive([&sum](std::int64_t x) { sum += x; });
  auto secs = seconds_since(start);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  return rate(n, secs, sum);
}

/// n times: request(pool, i) and receive the answer. Sample: the round
/// trip; check: the answers that were i * i.
result apply_async(std::int64_t n) {
  auto pool = make_pool(nullptr);
  caf::scoped_actor self{sys()};
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(n));
  std::int64_t right = 0;
  auto start = clock_type::now();
  for (std::int64_t i = 0; i < n; ++i) {
    auto t0 = now_ns();
    self->request(pool, caf::infinite, i)
      .receive([&](std::int64_t r) { right += r == i * i ? 1 : 0; },
               [](caf::error&) {});
    samples.push_back(now_ns() - t0);
  }
  auto secs = seconds_since(start);
  self->send_exit(pool, caf::exit_reason::user_shutdown);
  return latency(std::move(samples), secs, right);
}

// -- (g) manager dict: a map actor, a blocking actor as the client ------------

using set_atom = caf::atom_constant<caf::atom("set")>;

struct map_state {
  std::unordered_map<std::int64_t, std::int64_t> m;
};

caf::behavior map_server(caf::stateful_actor<map_state>* self) {
  return {
    [self](set_atom, std::int64_t k, std::int64_t v) { self->state.m[k] = v; },
    [self](get_atom, std::int64_t k) { return self->state.m[k]; },
  };
}

/// A blocking actor (a thread of its own, the "other process") makes n
/// set+get pairs (key i % 1024, value i), each a request/receive to a
/// stateful actor holding an unordered_map; timed inside it. Check: the
/// gets that returned the value just set.
result manager_dict(std::int64_t n) {
  auto server = sys().spawn(map_server);
  auto secs = std::make_shared<std::atomic<double>>(0.0);
  auto right = make_count();
  end_counter ends{1};
  auto client
    = sys().spawn([server, n, secs, right](caf::blocking_actor* self) {
        std::int64_t ok = 0;
        auto start = clock_type::now();
        for (std::int64_t i = 0; i < n; ++i) {
          self->request(server, caf::infinite, set_atom::value, i % 1024, i)
            .receive([] {}, [](caf::error&) {});
          self->request(server, caf::infinite, get_atom::value, i % 1024)
            .receive([&](std::int64_t v) { ok += v == i ? 1 : 0; },
                     [](caf::error&) {});
        }
        secs->store(seconds_since(start));
        right->store(ok);
      });
  ends.watch(client);
  client = nullptr;
  ends.wait();
  caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  return rate(n, secs->load(), right->load());
}

} // namespace

int main(int argc, char** argv) {
  caf::actor_system_config cfg;
  // troupe's runtime settings (framework/src/runtime.cpp).
  auto cores = std::thread::hardware_concurrency();
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{0});
  cfg.set("scheduler.max-threads", static_cast<size_t>(cores == 0 ? 2 : cores));
  caf::actor_system system{cfg};
  the_system = &system;
  workload_table table{
    {"pipe_ping_pong", pipe_ping_pong},
    {"queue_ints", queue_ints},
    {"queue_1kib", queue_1kib},
    {"process_start_join", process_start_join},
    {"event_latency", event_latency},
    {"lock_counter_1", [](std::int64_t n) { return lock_counter(n, 1); }},
    {"lock_counter_2", [](std::int64_t n) { return lock_counter(n, 2); }},
    {"actor_ping_pong", actor_ping_pong},
    {"spawn_exit", spawn_exit},
    {"mailbox_n_to_1", mailbox_n_to_1},
    {"thread_ring", thread_ring},
    {"fork_join", fork_join},
    {"pool_map", pool_map},
    {"pool_imap_unordered", pool_imap_unordered},
    {"apply_async", apply_async},
    {"manager_dict", manager_dict},
  };
  auto status = run_main("caf", argc, argv, table);
  the_system = nullptr;
  return status;
}
