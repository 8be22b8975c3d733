// The event-based actors of the actor workloads (Savina-style), shared by
// compare_troupe and compare_caf so that both run the very same message
// handling: only how actors are spawned and waited for differs
// (troupe::spawn + join versus caf::actor_system::spawn + a latch).
//
// Results leave an actor through a shared atomic written before it quits;
// the main thread reads it after it has waited for the actor's end.

#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

namespace compare {

using shared_count = std::shared_ptr<std::atomic<std::int64_t>>;

inline shared_count make_count() {
  return std::make_shared<std::atomic<std::int64_t>>(0);
}

using go_atom = caf::atom_constant<caf::atom("go")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;

// -- ping-pong ----------------------------------------------------------------

/// Answers every number with itself; ends after answering `n`.
inline caf::behavior pong(caf::event_based_actor* self, std::int64_t n) {
  return {
    [self, n](std::int64_t x) {
      if (x >= n)
        self->quit();
      return x;
    },
  };
}

struct ping_state {
  std::int64_t sum = 0;
};

/// Bounces 1..n off `partner`; stores the sum of the answers in `out`.
inline caf::behavior ping(caf::stateful_actor<ping_state>* self,
                          caf::actor partner, std::int64_t n,
                          shared_count out) {
  self->send(partner, std::int64_t{1});
  return {
    [self, partner, n, out](std::int64_t x) {
      self->state.sum += x;
      if (x >= n) {
        out->store(self->state.sum);
        self->quit();
      } else {
        self->send(partner, x + 1);
      }
    },
  };
}

// -- spawn + exit -------------------------------------------------------------

/// Ends at once.
inline caf::behavior quit_at_once(caf::event_based_actor* self) {
  self->quit();
  return {};
}

// -- N:1 mailbox --------------------------------------------------------------

struct sink_state {
  std::int64_t count = 0;
  std::int64_t sum = 0;
};

/// Sums numbers until it has received `expected` of them; stores the sum.
inline caf::behavior sink(caf::stateful_actor<sink_state>* self,
                          std::int64_t expected, shared_count out) {
  return {
    [self, expected, out](std::int64_t x) {
      self->state.sum += x;
      if (++self->state.count == expected) {
        out->store(self->state.sum);
        self->quit();
      }
    },
  };
}

/// Sends `first`, ..., `first + count - 1` to `target` as fast as it can
/// (no flow control: CAF mailboxes are unbounded, as Erlang's), then ends.
inline caf::behavior sender(caf::event_based_actor* self, caf::actor target,
                            std::int64_t first, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i)
    self->send(target, first + i);
  self->quit();
  return {};
}

// -- thread ring --------------------------------------------------------------

struct ring_state {
  caf::actor next;
};

/// One member of a ring: learns its successor from a `caf::actor` message,
/// then forwards the token (remaining hops, hops done) until no hops
/// remain; the member holding the finished token stores the hop count and
/// sends `stop` around the ring, each member passing it on and ending.
inline caf::behavior ring_member(caf::stateful_actor<ring_state>* self,
                                 shared_count hops_out) {
  return {
    [self](caf::actor next) { self->state.next = std::move(next); },
    [self, hops_out](std::int64_t remaining, std::int64_t hops) {
      if (remaining == 0) {
        hops_out->store(hops);
        self->send(self->state.next, stop_atom::value);
        self->quit();
      } else {
        self->send(self->state.next, remaining - 1, hops + 1);
      }
    },
    [self](stop_atom) {
      // The successor may already have ended (the one that started the
      // stop); a message to an ended actor is dropped.
      self->send(self->state.next, stop_atom::value);
      self->quit();
    },
  };
}

// -- fork-join throughput -----------------------------------------------------

/// A fork-join worker: adds up the `expected` numbers it is sent (the
/// trivial work), then adds its sum to `total` and ends.
inline caf::behavior fork_join_worker(caf::stateful_actor<sink_state>* self,
                                      std::int64_t expected,
                                      shared_count total) {
  if (expected == 0) {
    self->quit();
    return {};
  }
  return {
    [self, expected, total](std::int64_t x) {
      self->state.sum += x;
      if (++self->state.count == expected) {
        total->fetch_add(self->state.sum);
        self->quit();
      }
    },
  };
}

// -- counter served by an actor (raw CAF's twin of a lock + counter) ----------

struct counter_state {
  std::int64_t value = 0;
};

/// Owns a counter: `inc` adds one and answers the new value; `get` answers
/// the value. Serializing every increment through one mailbox is how an
/// actor system protects shared state instead of a lock.
inline caf::behavior counter_server(caf::stateful_actor<counter_state>* self) {
  return {
    [self](inc_atom) { return ++self->state.value; },
    [self](get_atom) { return self->state.value; },
  };
}

/// On `go`, makes `n` increments on `counter`, one at a time: each waits
/// for its answer (request/then), as a process holding a lock around
/// `counter += 1` waits for its acquire. Ends after the last answer.
inline caf::behavior contender(caf::event_based_actor* self, caf::actor counter,
                               std::int64_t n) {
  auto left = std::make_shared<std::int64_t>(n);
  auto step = std::make_shared<std::function<void()>>();
  *step = [self, counter, left, weak = std::weak_ptr{step}] {
    self->request(counter, caf::infinite, inc_atom::value)
      .then([self, left, weak](std::int64_t) {
        if (--*left == 0)
          self->quit();
        else if (auto next = weak.lock())
          (*next)();
      });
  };
  return {
    // `step` lives as long as this handler (the behavior) does.
    [step](go_atom) { (*step)(); },
  };
}

} // namespace compare
