#pragma once

// What a manager's call is (objects, operations, batches) and the inbox
// calls wait in; the core that runs them is in core.hpp.

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

} // namespace troupe::managed::detail
