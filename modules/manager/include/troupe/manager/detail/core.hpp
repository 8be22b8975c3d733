#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/detail/tuple_vals.hpp>
#include <caf/error.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_counted.hpp>
#include <caf/message.hpp>
#include <caf/message_id.hpp>
#include <caf/message_priority.hpp>
#include <caf/response_handle.hpp>
#include <caf/sec.hpp>

#include "troupe/manager/detail/calls.hpp"
#include "troupe/manager/error.hpp"
#include "troupe/manager/options.hpp"
#include <troupe/ext/mpsc_stack.hpp>
#include <troupe/ext/serial_claim.hpp>
#include <troupe/process.hpp>
#include <troupe/runtime.hpp>

namespace troupe::serialization {
class durable_store;
} // namespace troupe::serialization

namespace troupe::managed::detail {

// -- the core -----------------------------------------------------------------

/// Everything of a manager that outlives one incarnation of its state
/// actor: the objects, the inbox, the durable store, the phase.
class manager_core : public std::enable_shared_from_this<manager_core> {
public:
  enum class phase : std::uint8_t { starting, up, down, stopped, failed };

  /// Opens (and recovers) the durable store when a path is set; throws
  /// `serialization::state_file_error` for a bad file under `refuse`.
  manager_core(runtime& rt, manager_options opts);
  ~manager_core();

  manager_core(const manager_core&) = delete;
  manager_core& operator=(const manager_core&) = delete;

  // -- calls (any thread) -----------------------------------------------------

  /// Runs `fn(ctx)` inside the manager and returns its result. Blocks; see
  /// `await`.
  template <class R, class F>
  R call(slot* target, F fn) {
    auto* op = new call_op<R, F>(target, std::move(fn), 2);
    struct holder {
      call_op<R, F>* p;
      ~holder() {
        p->release();
      }
    } hold{op};
    submit(op);
    await(*op);
    return op->take();
  }

  /// Queues `fn(ctx)` for the state actor on behalf of an event-based
  /// actor; the answer arrives as the response to the returned handle.
  template <class R, class Self, class F>
  caf::response_handle<Self, caf::message, false>
  call_async(Self* self, slot* target, F fn,
             std::optional<std::chrono::milliseconds> timeout) {
    auto t = timeout.value_or(opts_.call_timeout);
    auto mid = self->new_request_id(caf::message_priority::normal);
    auto* op = new async_op<R, F>(target, std::move(fn), self->ctrl(),
                                  mid.response_id(),
                                  std::chrono::steady_clock::now() + t);
    if (!try_submit(op)) {
      op->error = std::make_exception_ptr(unavailable_error());
      op->respond();
      op->release(); // never queued: both references are ours
      op->release();
      return {mid.response_id(), self};
    }
    combine();
    // Usually the call ran right here and its answer waits in the mailbox;
    // only a call still pending needs CAF's timeout (a clock entry).
    if ((op->state.load(std::memory_order_acquire) & op_base::phase_mask)
        != op_base::done)
      self->request_response_timeout(caf::duration{t}, mid);
    op->release();
    return {mid.response_id(), self};
  }

  /// Queues `op` (taking the manager's reference). Throws
  /// `manager_unavailable` when the manager was shut down or given up.
  void submit(op_base* op);

  /// As `submit`, returning false instead of throwing.
  bool try_submit(op_base* op);

  /// Waits until `op` completed: spins briefly, then sleeps. Throws
  /// `manager_unavailable` after `call_timeout` (cancelling the call if it
  /// has not started, so it is not applied), or at once when the manager is
  /// shut down or given up; `terminated` when the calling process is asked
  /// to stop.
  void await(op_base& op);

  /// Runs queued calls on the caller's thread if nobody else runs calls
  /// now and the state actor is up (flat combining): under the execution
  /// lock, in queue order, exactly as the state actor would. Does not
  /// block.
  void combine();

  /// Queues a failure for the state actor to throw (tests, demos).
  void inject_failure(std::string what);

  // -- objects (under the execution lock)
  // ------------------------------------------

  /// Opens the object `name` of `type`, creating it (and running `init` on
  /// it) when it does not exist. With `numbered` (or an empty name), `name`
  /// is a prefix and a new `<prefix>N` is created (`dict-1`, `Maths-2`).
  slot* open(std::string name, const object_type& type,
             const std::function<void(object_base&, op_ctx&, slot*)>& init,
             op_ctx& ctx, bool numbered);

  /// The channel (queue, lock, event) named `name` (a new `<kind>-N` if
  /// empty), made by `make(rt)` if missing.
  template <class C, class Make>
  C channel(const std::string& name, const std::string& kind, Make& make) {
    auto n = name;
    if (n.empty())
      n = kind + "-" + std::to_string(++counters_[kind + "-"]);
    if (auto i = channels_.find(n); i != channels_.end()) {
      if (auto* p = std::any_cast<C>(&i->second))
        return *p;
      throw value_error("manager '" + opts_.name + "': '" + n
                        + "' is another kind of object than the " + kind
                        + " asked for");
    }
    C c = make(*rt_);
    channels_.emplace(n, c);
    return c;
  }

  /// Encodes a journal entry for `s` (a record, or its whole state).
  [[nodiscard]] static std::string
  encode(const slot& s, const std::string& payload, bool whole_state);

  /// Appends what `op` journaled as one entry (a group when it made
  /// several); sets `op.seq`. Nothing when it journaled nothing.
  void append(op_base& op);

  [[nodiscard]] bool durable() const noexcept {
    return store_ != nullptr;
  }

  [[nodiscard]] runtime& rt() const noexcept {
    return *rt_;
  }

  // -- custom types (any thread)
  // -------------------------------------------------

  void register_type(const std::string& name, const object_type& type);
  [[nodiscard]] const object_type& registered(const std::string& name,
                                              std::type_index cpp,
                                              const std::string& cpp_name);

  // -- the state actor
  // ------------------------------------------------------------

  /// The body of the state actor: recovers, then serves the inbox until it
  /// is asked to stop. An exception that escapes (a failure of the manager
  /// itself) ends the actor, and its supervisor starts the next one.
  void serve();

  /// Stops accepting calls and fails the ones queued (after the state actor
  /// has stopped); flushes the store.
  void begin_shutdown();
  void finish_shutdown();

  /// The supervisor gave up: fail what is queued, refuse new calls.
  void give_up(std::string why);

  [[nodiscard]] phase current_phase() const noexcept {
    return phase_.load(std::memory_order_acquire);
  }

  [[nodiscard]] const manager_options& options() const noexcept {
    return opts_;
  }

  [[nodiscard]] const std::string& name() const noexcept {
    return opts_.name;
  }

  [[nodiscard]] std::string warning() const;

  [[nodiscard]] int incarnations() const noexcept {
    return incarnation_.load();
  }

  /// The durable store's completion callback (flusher thread).
  void on_durable(std::uint64_t seq);

  [[nodiscard]] manager_unavailable unavailable_error() const;

private:
  enum class ran { drained, budget, actor_needed, stopping };

  /// Runs queued calls while holding the execution lock: all of them (the
  /// state actor, which may also throw), or up to `limit` (a caller).
  ran run_queued(bool actor, int limit);

  [[nodiscard]] bool combining_allowed() const noexcept {
    return phase_.load(std::memory_order_acquire) == phase::up
           && !actor_needed_.load(std::memory_order_acquire);
  }

  void execute(op_base* op);
  void complete(op_base* op);
  void finish(op_base* op);
  void fail_queued(const std::string& why);
  void recover(bool first);
  void compact();
  std::string snapshot() const;

  runtime* rt_;
  manager_options opts_;
  std::atomic<phase> phase_{phase::starting};
  std::atomic<int> incarnation_{0};
  inbox inbox_;
  // The execution lock: the state actor locks it; callers request it
  // after queueing (flat combining).
  ext::serial_claim exec_;
  std::atomic<bool> actor_needed_{false}; // an actor-only call is queued
  std::atomic<bool> compact_wanted_{false};
  op_base* backlog_ = nullptr; // (exec) taken from the inbox, not run yet
  op_base* current_ = nullptr; // (exec) running
  std::mutex run_mtx_;         // held by the running state actor

  // Objects: state actor only.
  std::map<std::string, std::unique_ptr<slot>> slots_;
  std::map<std::string, std::uint64_t> counters_; // auto names per kind
  std::unordered_map<std::string, std::any> channels_;

  struct image {
    std::string tag;
    std::optional<std::string> state;
    std::vector<std::string> records;
  };
  std::map<std::string, image> images_; // recovered, not opened yet

  // Custom types.
  std::mutex types_mtx_;
  std::map<std::string, const object_type*> types_;

  // Durability.
  std::unique_ptr<serialization::durable_store> store_;
  mutable std::mutex durable_mtx_;
  std::deque<op_base*> durable_waiters_; // (durable_mtx_), by seq
  std::uint64_t durable_seq_ = 0;        // (durable_mtx_)
  std::string warning_;                  // (durable_mtx_)
  std::string gave_up_;                  // (durable_mtx_)
};

/// The state actor's process body.
void run_state_actor(std::shared_ptr<manager_core> core);

} // namespace troupe::managed::detail
