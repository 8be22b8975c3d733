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

#include "troupe/manager/error.hpp"
#include "troupe/manager/options.hpp"
#include <troupe/ext/mpsc_stack.hpp>
#include <troupe/process.hpp>
#include <troupe/runtime.hpp>

namespace troupe::serialization {
class durable_store;
} // namespace troupe::serialization

namespace troupe::managed::detail {

class manager_core;
class op_base;

// -- objects ------------------------------------------------------------------

/// The state of one managed object. It lives in the manager's core, outside
/// the state actor, and is only touched under the manager's execution lock
/// (by the state actor, or by a caller running calls on its behalf).
class object_base {
public:
  virtual ~object_base() = default;

  /// The whole state, for snapshots (durable managers only).
  [[nodiscard]] virtual std::string save() const = 0;

  /// Replaces the state with a snapshot's.
  virtual void load(std::string_view bytes) = 0;

  /// Applies one journal record written by this object's type.
  virtual void replay(std::string_view record) = 0;
};

/// What the core knows about a type of object: its tag in state files,
/// whether it can be durable, and how to make an empty one.
struct object_type {
  std::string kind; // "dict", "list", ... (auto names)
  std::string tag;  // e.g. dict<std::string, int>
  bool durable = false;
  std::unique_ptr<object_base> (*make)() = nullptr;
  std::type_index cpp{typeid(void)};
};

/// One named object. Slots are created under the execution lock and live
/// as long as the core, so proxies can hold them; recovery replaces `obj`.
struct slot {
  std::string name;
  const object_type* type = nullptr;
  std::unique_ptr<object_base> obj;
};

// -- operations ---------------------------------------------------------------

/// What an operation's body sees while it runs (under the execution lock).
class op_ctx {
public:
  op_ctx(manager_core& core, slot* target, op_base* op)
    : core_(core), target_(target), op_(op) {}

  template <class Obj>
  [[nodiscard]] Obj& object() const {
    return static_cast<Obj&>(*target_->obj);
  }

  [[nodiscard]] bool durable() const noexcept;

  /// Adds `record` (a change to the target) to the operation's journal
  /// entry; the call is acknowledged once the entry is on disk. Every
  /// record of one operation goes to the journal as one entry, so an
  /// operation is on disk whole or not at all. Call after the change was
  /// applied in memory; an operation that throws journals nothing.
  void journal(std::string record);

  /// Adds the whole state of `s` (a new object's first state).
  void journal_state(slot* s, std::string state);

  /// The same operation on another object (a step of a batch).
  [[nodiscard]] op_ctx retarget(slot* s) const noexcept {
    return {core_, s, op_};
  }

  [[nodiscard]] manager_core& core() const noexcept {
    return core_;
  }

  [[nodiscard]] slot* target() const noexcept {
    return target_;
  }

private:
  manager_core& core_;
  slot* target_;
  op_base* op_;
};

/// One call into the manager: queued in the core's inbox, run by the state
/// actor, completed (result or exception) for a waiting caller or answered
/// to a requesting actor. Reference counted: the caller (when it waits) and
/// the manager each hold one.
class op_base {
public:
  static constexpr std::uint32_t pending = 0;
  static constexpr std::uint32_t running = 1;
  static constexpr std::uint32_t done = 2;
  static constexpr std::uint32_t cancelled = 3;
  static constexpr std::uint32_t phase_mask = 0xff;
  static constexpr std::uint32_t sleeper = 0x100; // a waiter sleeps on it
  static constexpr std::uint32_t poke = 0x200;    // a stop request woke it
  static constexpr std::uint32_t on_disk = 0x400; // ran; waits for the disk

  op_base(slot* target, int refs) : refs_(refs), target_(target) {}

  virtual ~op_base() = default;

  op_base(const op_base&) = delete;
  op_base& operator=(const op_base&) = delete;

  /// Runs the body. Exceptions of the body are stored in `error`; what
  /// escapes is a failure of the manager itself.
  virtual void run(op_ctx& ctx) = 0;

  /// For requests from actors: sends the answer.
  virtual void respond() {}

  /// For requests from actors: whether the requester gave up waiting.
  [[nodiscard]] virtual bool expired() const {
    return false;
  }

  /// Whether only the state actor may run it (an injected failure).
  [[nodiscard]] virtual bool actor_only() const {
    return false;
  }

  void release() noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

  /// pending -> running; false if the caller cancelled it.
  bool try_start() noexcept;

  /// pending -> cancelled; false if it already runs or ran.
  bool try_cancel() noexcept;

  [[nodiscard]] slot* target() const noexcept {
    return target_;
  }

  std::atomic<std::uint32_t> state{pending};
  op_base* next = nullptr;
  std::uint64_t seq = 0; // journal sequence number, 0 if none
  std::exception_ptr error;
  // The journal entries the body made (encoded), appended as one when it
  // returns: the first inline, any more beside it.
  std::string journal_first;
  std::vector<std::string> journal_more;

private:
  std::atomic<int> refs_;
  slot* target_;
};

/// One step of a batch: a change to one object that can be undone, so
/// that a batch is applied whole or not at all.
class batch_step {
public:
  explicit batch_step(slot* target) noexcept : target_(target) {}
  virtual ~batch_step() = default;

  batch_step(const batch_step&) = delete;
  batch_step& operator=(const batch_step&) = delete;

  /// Applies the change and journals it through `ctx`. If it throws, its
  /// object is as it was before.
  virtual void apply(op_ctx& ctx) = 0;

  /// Reverts a completed `apply`; steps are undone newest first.
  virtual void undo() noexcept = 0;

  /// After the whole batch was applied or rolled back.
  virtual void settle() noexcept {}

  [[nodiscard]] slot* target() const noexcept {
    return target_;
  }

private:
  slot* target_;
};

using batch_steps = std::vector<std::unique_ptr<batch_step>>;

/// Applies `steps` in order as one operation: all of them, or (when one
/// throws) none — the applied ones are undone and the exception rethrown.
void run_steps(op_ctx& ctx, batch_steps& steps);

struct unit {};

template <class R>
using stored_t = std::conditional_t<std::is_void_v<R>, unit, R>;

/// An operation running `fn(ctx)` and keeping its result.
template <class R, class F>
class call_op : public op_base {
public:
  call_op(slot* target, F fn, int refs)
    : op_base(target, refs), fn_(std::move(fn)) {}

  void run(op_ctx& ctx) override {
    try {
      if constexpr (std::is_void_v<R>)
        fn_(ctx);
      else
        result_.emplace(fn_(ctx));
    } catch (...) {
      error = std::current_exception();
    }
  }

  /// The result, or the body's exception rethrown.
  R take() {
    if (error)
      std::rethrow_exception(error);
    if constexpr (!std::is_void_v<R>)
      return std::move(*result_);
  }

protected:
  F fn_;
  std::optional<stored_t<R>> result_;
};

/// `type: message` for an exception, as the error an actor receives.
caf::error to_caf_error(const std::exception_ptr& ep);

/// A message holding `x` without CAF's check that its type is serializable
/// (answers stay inside the OS process).
template <class T>
caf::message local_message(T&& x) {
  using storage = caf::detail::tuple_vals<std::decay_t<T>>;
  caf::message::data_ptr ptr{caf::make_counted<storage>(std::forward<T>(x))};
  return caf::message{std::move(ptr)};
}

/// An operation requested by an event-based actor: the answer goes to its
/// mailbox as the response to `mid`.
template <class R, class F>
class async_op final : public call_op<R, F> {
public:
  async_op(slot* target, F fn, caf::strong_actor_ptr requester,
           caf::message_id mid, std::chrono::steady_clock::time_point until)
    : call_op<R, F>(target, std::move(fn), 2), // the requester's and ours
      requester_(std::move(requester)), mid_(mid), until_(until) {}

  bool expired() const override {
    return std::chrono::steady_clock::now() > until_;
  }

  void respond() override {
    caf::message msg;
    if (this->error)
      msg = caf::make_message(to_caf_error(this->error));
    else if constexpr (std::is_void_v<R>)
      msg = caf::make_message();
    else
      msg = local_message(std::move(*this->result_));
    requester_->enqueue(
      caf::make_mailbox_element(nullptr, mid_, {}, std::move(msg)), nullptr);
  }

private:
  caf::strong_actor_ptr requester_;
  caf::message_id mid_;
  std::chrono::steady_clock::time_point until_;
};

// -- the inbox ----------------------------------------------------------------

/// The manager's inbox: a lock-free multi-producer stack, taken whole
/// (oldest first) by whoever runs calls, with a futex the state actor
/// sleeps on. It belongs to the core, not to one incarnation of the actor,
/// so calls queued while the actor restarts are served by the next one.
/// A push never wakes anyone; `interrupt()` does.
class inbox {
public:
  /// Any thread. Never blocks.
  void push(op_base* x) noexcept {
    ops_.push(x);
  }

  /// Everything queued, oldest first; null when empty.
  [[nodiscard]] op_base* take_all() noexcept {
    return ops_.take_all();
  }

  [[nodiscard]] bool empty() const noexcept {
    return ops_.empty();
  }

  /// The state actor: sleeps until `interrupt()`, unless there is work or
  /// `stop()` says to stop.
  template <class Stop>
  void wait(Stop stop) {
    auto gen = wake_.load(std::memory_order_seq_cst);
    if (!empty() || stop())
      return;
    sleep(gen);
  }

  /// Wakes a sleeping `wait`.
  void interrupt() noexcept;

private:
  void sleep(std::uint32_t gen) noexcept;

  ext::mpsc_stack<op_base> ops_;
  std::atomic<std::uint32_t> wake_{0};
};

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

  bool try_exec() noexcept {
    bool expected = false;
    return !exec_busy_.load(std::memory_order_relaxed)
           && exec_busy_.compare_exchange_strong(expected, true,
                                                 std::memory_order_acquire);
  }

  void release_exec() noexcept {
    exec_busy_.store(false, std::memory_order_release);
    // Pairs with the push before a failed try_exec (see combine()).
    full_fence();
  }

  /// A sequentially consistent fence. ThreadSanitizer does not model
  /// fences (GCC refuses them under -fsanitize=thread), so there both sides
  /// use a seq_cst read-modify-write of one shared word instead: those are
  /// totally ordered too, and TSan sees the synchronization.
  void full_fence() noexcept {
#if defined(__SANITIZE_THREAD__)
    fence_word_.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  }

  void acquire_exec() noexcept;

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
  std::atomic<bool> exec_busy_{false};    // the execution lock
  std::atomic<unsigned> fence_word_{0};   // full_fence() under TSan
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
