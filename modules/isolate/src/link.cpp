#include "link.hpp"

#include <csignal>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

namespace troupe::isolate::detail {

namespace {

using hello_atom = caf::atom_constant<caf::atom("tpHello")>;
using end_atom = caf::atom_constant<caf::atom("tpEnd")>;
using ready_atom = caf::atom_constant<caf::atom("tpReady")>;

caf::actor basp_broker(caf::actor_system& sys) {
  return sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"));
}

/// Makes a scribe for `fd` on the middleman's I/O thread.
caf::io::scribe_ptr adopt(caf::actor_system& sys, int fd) {
  auto& mm = sys.middleman();
  std::promise<caf::io::scribe_ptr> made;
  auto result = made.get_future();
  mm.backend().dispatch(
    [&mm, &made, fd] { made.set_value(mm.backend().new_scribe(fd)); });
  return result.get();
}

// -- parent -------------------------------------------------------------------

struct held_message {
  caf::response_promise promise;
  caf::message content;
};

struct parent_link_state {
  std::shared_ptr<reported_end> end;
  caf::actor target; // the child's process (a proxy)
  bool failed = false;
  std::vector<held_message> held;
  static inline const char* name = "troupe.os_process.link";
};

using parent_link_actor = caf::stateful_actor<parent_link_state>;

void deliver_held(parent_link_actor* self) {
  auto held = std::move(self->state.held);
  self->state.held.clear();
  for (auto& msg : held) {
    if (self->state.target)
      msg.promise.delegate(self->state.target, std::move(msg.content));
    else if (msg.promise.pending())
      msg.promise.deliver(caf::make_error(caf::sec::request_receiver_down));
  }
}

caf::behavior parent_link(parent_link_actor* self, caf::io::scribe_ptr scribe,
                          std::shared_ptr<reported_end> end) {
  self->state.end = std::move(end);
  self->set_default_handler(
    [](caf::scheduled_actor* ptr,
       caf::message_view& view) -> caf::result<caf::message> {
      auto* link = static_cast<parent_link_actor*>(ptr);
      auto promise = link->make_response_promise();
      auto content = view.move_content_to_message();
      if (link->state.target)
        promise.delegate(link->state.target, std::move(content));
      else if (!link->state.failed)
        link->state.held.push_back({std::move(promise), std::move(content)});
      return caf::message{};
    });
  self
    ->request(basp_broker(self->system()), caf::infinite,
              caf::connect_atom::value, std::move(scribe), uint16_t{0})
    .then(
      [self](caf::node_id&, caf::strong_actor_ptr& agent,
             std::set<std::string>&) {
        self
          ->request(caf::actor_cast<caf::actor>(agent), caf::infinite,
                    hello_atom::value, caf::actor{self})
          .then(
            [self](caf::actor& mailbox) {
              // Empty when the child's process ended before it said hello.
              self->state.target = std::move(mailbox);
              self->state.failed = !self->state.target;
              deliver_held(self);
            },
            [self](caf::error&) {
              self->state.failed = true;
              deliver_held(self);
            });
      },
      [self](caf::error&) {
        self->state.failed = true;
        deliver_held(self);
      });
  return {
    [self](end_atom, int code, std::string& reason) {
      std::lock_guard guard{self->state.end->mtx};
      self->state.end->value.emplace(code, std::move(reason));
      return caf::unit;
    },
    [self](ready_atom) {
      if (self->state.end->on_ready)
        self->state.end->on_ready();
    },
  };
}

// -- child --------------------------------------------------------------------

struct child_agent_state {
  caf::actor mailbox;
  caf::actor parent;
  std::vector<held_message> held; // end reports before the parent said hello
  bool ready_held = false;        // a ready report before it
  static inline const char* name = "troupe.os_process.agent";
};

using child_agent_actor = caf::stateful_actor<child_agent_state>;

caf::behavior child_agent(child_agent_actor* self, caf::actor mailbox) {
  self->state.mailbox = std::move(mailbox);
  self->set_down_handler([](caf::down_msg&) {
    // The link to the parent is gone (the parent died, or closed it):
    // nobody supervises this process any more. End it and everything it
    // started.
    ::kill(0, SIGKILL);
  });
  return {
    [self](hello_atom, caf::actor& parent) {
      self->state.parent = parent;
      self->monitor(parent);
      if (self->state.ready_held)
        self->send(parent, ready_atom::value);
      auto held = std::move(self->state.held);
      self->state.held.clear();
      for (auto& msg : held)
        msg.promise.delegate(parent, std::move(msg.content));
      return self->state.mailbox;
    },
    [self](ready_atom) {
      if (self->state.parent)
        self->send(self->state.parent, ready_atom::value);
      else
        self->state.ready_held = true;
    },
    [self](end_atom, int code, std::string& reason) {
      auto promise = self->make_response_promise();
      auto content
        = caf::make_message(end_atom::value, code, std::move(reason));
      if (self->state.parent)
        promise.delegate(self->state.parent, std::move(content));
      else
        self->state.held.push_back({std::move(promise), std::move(content)});
    },
  };
}

} // namespace

void load_middleman(caf::actor_system_config& cfg) {
  cfg.load<caf::io::middleman>();
  // The links carry control traffic only; CAF's extra middleman workers
  // add a hop to every message (measured: 286-350 us round trips with
  // them, 89-96 us without).
  cfg.set("middleman.workers", std::size_t{0});
}

caf::actor start_parent_link(caf::actor_system& sys, int fd,
                             std::shared_ptr<reported_end> end) {
  auto scribe = adopt(sys, fd);
  return sys.spawn<caf::hidden>(parent_link, std::move(scribe), std::move(end));
}

caf::actor start_child_agent(caf::actor_system& sys, int fd,
                             caf::actor mailbox) {
  auto scribe = adopt(sys, fd);
  auto agent = sys.spawn<caf::hidden>(child_agent, std::move(mailbox));
  caf::anon_send(basp_broker(sys), caf::publish_atom::value, std::move(scribe),
                 uint16_t{0}, caf::actor_cast<caf::strong_actor_ptr>(agent),
                 std::set<std::string>{});
  return agent;
}

void report_ready(const caf::actor& agent) {
  caf::anon_send(agent, ready_atom::value);
}

bool report_end(caf::actor_system& sys, const caf::actor& agent, int code,
                const std::string& reason, int timeout_ms) {
  caf::scoped_actor self{sys, true};
  bool ok = false;
  self
    ->request(agent, std::chrono::milliseconds{timeout_ms}, end_atom::value,
              code, reason)
    .receive([&](caf::unit_t) { ok = true; }, [&](caf::error&) {});
  return ok;
}

} // namespace troupe::isolate::detail
