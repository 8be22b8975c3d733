#include "troupe/manager/detail/core.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <typeinfo>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/core/demangle.hpp>

#include "troupe/manager/name_space.hpp"
#include <troupe/ext/spin.hpp>
#include <troupe/ext/stop.hpp>
#include <troupe/serialization/durable_store.hpp>
#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>
#include <troupe/this_process.hpp>

namespace troupe::managed::detail {

namespace {

// -- futex
// ---------------------------------------------------------------------

void futex_wake_all(std::atomic<std::uint32_t>* addr) noexcept {
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
            FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
}

/// Sleeps while `*addr == expected`, until `until` (steady clock) if given.
/// Returns on a wake-up, a change, a signal, or the deadline.
void futex_wait(std::atomic<std::uint32_t>* addr, std::uint32_t expected,
                std::optional<std::chrono::steady_clock::time_point> until) {
  if (!until) {
    ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
              FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
    return;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time, which is
  // what steady_clock reads on Linux.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
              until->time_since_epoch())
              .count();
  if (ns < 0)
    ns = 0;
  timespec ts{static_cast<time_t>(ns / 1'000'000'000),
              static_cast<long>(ns % 1'000'000'000)};
  ::syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr),
            FUTEX_WAIT_BITSET_PRIVATE, expected, &ts, nullptr,
            FUTEX_BITSET_MATCH_ANY);
}

using troupe::ext::cpu_relax;

// A caller's spin before it sleeps on its operation adapts as the
// framework's mailbox poll does (see `troupe::ext::adaptive_spin`).
thread_local troupe::ext::wait_spin caller_spin;

// -- the state file's format
// -----------------------------------------------------

constexpr const char* image_magic = "troupe.manager";
constexpr std::uint32_t image_version = 1;

struct object_image {
  std::string name;
  std::string tag;
  std::optional<std::string> state;
  std::vector<std::string> records;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& name& tag& state& records;
  }
};

struct manager_image {
  std::string magic;
  std::uint32_t version = 0;
  std::vector<object_image> objects;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& magic& version& objects;
  }
};

/// One journal record: a change to one object, or its whole state. Its
/// envelope is written by hand (one Boost archive per record, the
/// payload's, is enough): "TMJ1", a flag byte (1: whole state), the
/// object's name and type tag (each a 32-bit little-endian length, then the
/// bytes), then the payload up to the end.
///
/// An operation that journals several records (a batch) writes one group
/// entry instead: "TMJ1", the flag byte 2, a 32-bit count, then each
/// member entry as a 32-bit length and its bytes. It is one record of the
/// durable store, so recovery sees all of its members or none.
struct journal_entry {
  std::string name;
  std::string tag;
  bool whole_state = false;
  std::string payload;
};

constexpr char entry_magic[] = {'T', 'M', 'J', '1'};

void put_u32(std::string& out, std::size_t n) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
}

std::string encode_entry(const std::string& name, const std::string& tag,
                         bool whole_state, const std::string& payload) {
  std::string out;
  out.reserve(4 + 1 + 8 + name.size() + tag.size() + payload.size());
  out.append(entry_magic, sizeof entry_magic);
  out.push_back(whole_state ? '\1' : '\0');
  put_u32(out, name.size());
  out += name;
  put_u32(out, tag.size());
  out += tag;
  out += payload;
  return out;
}

constexpr char group_flag = '\2';

std::string encode_group(const std::string& first,
                         const std::vector<std::string>& more) {
  std::size_t size = 4 + 1 + 4 + 4 + first.size();
  for (auto& m : more)
    size += 4 + m.size();
  std::string out;
  out.reserve(size);
  out.append(entry_magic, sizeof entry_magic);
  out.push_back(group_flag);
  put_u32(out, 1 + more.size());
  put_u32(out, first.size());
  out += first;
  for (auto& m : more) {
    put_u32(out, m.size());
    out += m;
  }
  return out;
}

/// The entries of one journal record: one, or a group's members.
std::vector<journal_entry> decode_entry(std::string_view in) {
  namespace ser = troupe::serialization;
  auto need = [&](std::size_t n, const char* what) {
    if (in.size() < n)
      throw ser::format_error("truncated journal record (" + std::string{what}
                              + ")");
  };
  auto get_u32 = [&](const char* what) {
    need(4, what);
    std::size_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= std::size_t{static_cast<unsigned char>(
             in[static_cast<std::size_t>(i)])}
           << (8 * i);
    in.remove_prefix(4);
    return n;
  };
  need(5, "header");
  if (in.substr(0, 4) != std::string_view{entry_magic, 4})
    throw ser::format_error("not a troupe manager's journal record");
  if (in[4] == group_flag) {
    in.remove_prefix(5);
    auto count = get_u32("group size");
    // Each member takes at least its length and a header.
    if (count > in.size() / 9)
      throw ser::format_error("journal group claims " + std::to_string(count)
                              + " members in " + std::to_string(in.size())
                              + " bytes");
    std::vector<journal_entry> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      auto n = get_u32("group member length");
      need(n, "group member");
      auto member = in.substr(0, n);
      in.remove_prefix(n);
      if (member.size() > 4 && member[4] == group_flag)
        throw ser::format_error("a journal group inside a group");
      auto inner = decode_entry(member);
      out.push_back(std::move(inner.front()));
    }
    if (!in.empty())
      throw ser::format_error("journal group has " + std::to_string(in.size())
                              + " bytes after its last member");
    return out;
  }
  if (in[4] != '\0' && in[4] != '\1')
    throw ser::format_error("bad journal record flag");
  journal_entry e;
  e.whole_state = in[4] == '\1';
  in.remove_prefix(5);
  auto get_str = [&](std::string& out, const char* what) {
    auto n = get_u32(what);
    need(n, what);
    out.assign(in.substr(0, n));
    in.remove_prefix(n);
  };
  get_str(e.name, "object name");
  get_str(e.tag, "type tag");
  e.payload.assign(in);
  std::vector<journal_entry> out;
  out.push_back(std::move(e));
  return out;
}

/// Fails the state actor on purpose (`manager::inject_failure`).
class fault_op final : public op_base {
public:
  explicit fault_op(std::string what)
    : op_base(nullptr, 1), what_(std::move(what)) {}

  void run(op_ctx&) override {
    throw std::runtime_error(what_);
  }

  bool actor_only() const override {
    return true;
  }

private:
  std::string what_;
};

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    return boost::core::demangle(typeid(e).name()) + ": " + e.what();
  } catch (...) {
    return "an exception of unknown type";
  }
}

std::string utc_stamp() {
  auto t
    = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y%m%dT%H%M%SZ");
  return out.str();
}

} // namespace

// -- op_base
// ---------------------------------------------------------------------

bool op_base::try_start() noexcept {
  auto s = state.load(std::memory_order_acquire);
  while ((s & phase_mask) == pending) {
    if (state.compare_exchange_weak(s, (s & ~phase_mask) | running,
                                    std::memory_order_acq_rel))
      return true;
  }
  return false;
}

bool op_base::try_cancel() noexcept {
  auto s = state.load(std::memory_order_acquire);
  while ((s & phase_mask) == pending) {
    if (state.compare_exchange_weak(s, (s & ~phase_mask) | cancelled,
                                    std::memory_order_acq_rel))
      return true;
  }
  return false;
}

caf::error to_caf_error(const std::exception_ptr& ep) {
  std::string text;
  try {
    std::rethrow_exception(ep);
  } catch (...) {
    text = describe_current_exception();
  }
  return caf::make_error(caf::sec::runtime_error, std::move(text));
}

// -- inbox
// -------------------------------------------------------------------------

void inbox::push(op_base* x) noexcept {
  auto h = head_.load(std::memory_order_relaxed);
  do {
    x->next = h;
  } while (!head_.compare_exchange_weak(h, x, std::memory_order_seq_cst,
                                        std::memory_order_relaxed));
}

op_base* inbox::take_all() noexcept {
  if (head_.load(std::memory_order_relaxed) == nullptr)
    return nullptr;
  auto* h = head_.exchange(nullptr, std::memory_order_acq_rel);
  op_base* out = nullptr;
  while (h != nullptr) {
    auto* n = h->next;
    h->next = out;
    out = h;
    h = n;
  }
  return out;
}

void inbox::interrupt() noexcept {
  wake_.fetch_add(1, std::memory_order_seq_cst);
  futex_wake_all(&wake_);
}

void inbox::sleep(std::uint32_t gen) noexcept {
  futex_wait(&wake_, gen, std::nullopt);
}

// -- op_ctx
// -------------------------------------------------------------------------

bool op_ctx::durable() const noexcept {
  return core_.durable();
}

namespace {

void add_entry(op_base& op, std::string entry) {
  if (op.journal_first.empty())
    op.journal_first = std::move(entry);
  else
    op.journal_more.push_back(std::move(entry));
}

} // namespace

void op_ctx::journal(std::string record) {
  add_entry(*op_, manager_core::encode(*target_, record, false));
}

void op_ctx::journal_state(slot* s, std::string state) {
  add_entry(*op_, manager_core::encode(*s, state, true));
}

// -- batches
// -------------------------------------------------------------------------

void run_steps(op_ctx& ctx, batch_steps& steps) {
  std::size_t done = 0;
  try {
    for (; done < steps.size(); ++done) {
      auto step_ctx = ctx.retarget(steps[done]->target());
      steps[done]->apply(step_ctx);
    }
  } catch (...) {
    while (done > 0)
      steps[--done]->undo();
    for (auto& s : steps)
      s->settle();
    throw;
  }
  for (auto& s : steps)
    s->settle();
}

// -- manager_core: construction
// -------------------------------------------------------

manager_core::manager_core(runtime& rt, manager_options opts)
  : rt_(&rt), opts_(std::move(opts)) {
  if (!opts_.state_path.empty())
    recover(true);
}

manager_core::~manager_core() {
  // Whatever is still queued (calls made after shutdown raced with it)
  // cannot be served any more.
  fail_queued("manager '" + opts_.name + "' was shut down");
  store_.reset();
  std::lock_guard guard{durable_mtx_};
  for (auto* op : durable_waiters_) {
    op->error = std::make_exception_ptr(unavailable_error());
    op->state.store(op_base::done);
    op->release();
  }
}

std::string manager_core::warning() const {
  std::lock_guard guard{durable_mtx_};
  return warning_;
}

manager_unavailable manager_core::unavailable_error() const {
  auto ph = phase_.load(std::memory_order_acquire);
  if (ph == phase::failed) {
    std::lock_guard guard{durable_mtx_};
    return manager_unavailable("manager '" + opts_.name
                               + "' is gone: its supervisor gave up "
                                 "restarting it ("
                               + gave_up_ + ")");
  }
  return manager_unavailable("manager '" + opts_.name
                             + "' was shut down; its proxies can no longer "
                               "be used");
}

// -- calls
// --------------------------------------------------------------------------

bool manager_core::try_submit(op_base* op) {
  auto ph = phase_.load(std::memory_order_acquire);
  if (ph == phase::stopped || ph == phase::failed)
    return false;
  inbox_.push(op);
  return true;
}

void manager_core::submit(op_base* op) {
  if (!try_submit(op)) {
    op->release();
    throw unavailable_error();
  }
}

void manager_core::inject_failure(std::string what) {
  auto* op = new fault_op(std::move(what));
  if (!try_submit(op)) {
    op->release();
    throw unavailable_error();
  }
  actor_needed_.store(true, std::memory_order_release);
  inbox_.interrupt();
}

void manager_core::acquire_exec() noexcept {
  for (int i = 0; !try_exec(); ++i) {
    if (i < 64)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

void manager_core::combine() {
  // After a holder releases the lock it looks at the inbox again, and a
  // caller that failed to take the lock had pushed before it tried (both
  // sides order these with seq_cst), so no call is left behind.
  do {
    full_fence();
    if (!combining_allowed() || !try_exec())
      return;
    if (!combining_allowed()) {
      release_exec();
      return;
    }
    auto r = run_queued(false, 256);
    bool compact_now = store_ && store_->needs_compaction();
    release_exec();
    if (r != ran::drained || compact_now) {
      // Leftovers (or a snapshot to write) go to the state actor.
      if (compact_now)
        compact_wanted_.store(true, std::memory_order_release);
      inbox_.interrupt();
      return;
    }
  } while (!inbox_.empty());
}

manager_core::ran manager_core::run_queued(bool actor, int limit) {
  int n = 0;
  for (;;) {
    if (backlog_ == nullptr)
      backlog_ = inbox_.take_all();
    if (backlog_ == nullptr)
      return ran::drained;
    while (backlog_ != nullptr) {
      auto* op = backlog_;
      if (!actor && op->actor_only()) {
        actor_needed_.store(true, std::memory_order_release);
        return ran::actor_needed;
      }
      backlog_ = op->next;
      op->next = nullptr;
      execute(op);
      if (actor) {
        if (troupe::ext::stop_requested())
          return ran::stopping;
      } else if (++n >= limit) {
        return backlog_ != nullptr || !inbox_.empty() ? ran::budget
                                                      : ran::drained;
      }
    }
  }
}

void manager_core::await(op_base& op) {
  auto is_done = [&op] {
    return (op.state.load(std::memory_order_acquire) & op_base::phase_mask)
           == op_base::done;
  };
  combine();
  bool disk = false; // ran, waits for the disk: no point in spinning
  for (int i = 0; i < caller_spin.budget(); ++i) {
    auto s = op.state.load(std::memory_order_acquire);
    if ((s & op_base::phase_mask) == op_base::done)
      return;
    if ((s & op_base::on_disk) != 0) {
      disk = true;
      break;
    }
    if ((i & 63) == 63)
      combine(); // a holder may have left it behind, or just let go
    cpu_relax();
  }
  if (is_done())
    return;
  // It is slow: make sure the state actor serves it (unless it already
  // ran), then sleep.
  if ((op.state.load(std::memory_order_acquire) & op_base::phase_mask)
      == op_base::pending)
    inbox_.interrupt();
  auto t0 = std::chrono::steady_clock::now();
  auto deadline = t0 + opts_.call_timeout;
  bool extended = false;
  // A stop request (terminate) must wake a sleeping caller.
  troupe::ext::stop_callback on_stop{[&op] {
    op.state.fetch_or(op_base::poke, std::memory_order_acq_rel);
    futex_wake_all(&op.state);
  }};
  for (;;) {
    auto s = op.state.load(std::memory_order_acquire);
    if ((s & op_base::phase_mask) == op_base::done)
      break;
    auto ph = phase_.load(std::memory_order_acquire);
    if ((ph == phase::stopped || ph == phase::failed) && op.try_cancel())
      throw unavailable_error();
    if (troupe::ext::stop_requested() && op.try_cancel())
      troupe::ext::throw_terminated();
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      auto ms = std::to_string(opts_.call_timeout.count());
      if (op.try_cancel())
        throw manager_unavailable(
          "manager '" + opts_.name + "' did not answer within " + ms + " ms ("
          + (ph == phase::up ? "it is overloaded" : "it is restarting")
          + "); the call was not applied");
      if (!extended) {
        // It runs, or waits for the disk: give it one more period.
        extended = true;
        deadline = now + opts_.call_timeout;
        continue;
      }
      if (!opts_.state_path.empty())
        throw manager_unavailable("manager '" + opts_.name
                                  + "': the call was applied but is not "
                                    "acknowledged after "
                                  + ms + " ms (its state file '"
                                  + opts_.state_path.string()
                                  + "' is not durable yet)");
      throw manager_unavailable("manager '" + opts_.name
                                + "': the call started but has not "
                                  "finished after twice "
                                + ms + " ms; its result is lost");
    }
    if ((s & op_base::sleeper) == 0) {
      if (!op.state.compare_exchange_weak(s, s | op_base::sleeper,
                                          std::memory_order_acq_rel))
        continue;
      s |= op_base::sleeper;
    }
    futex_wait(&op.state, s, deadline);
  }
  if (!disk)
    caller_spin.parked_for(std::chrono::steady_clock::now() - t0);
}

// -- the state actor
// ----------------------------------------------------------------

void run_state_actor(std::shared_ptr<manager_core> core) {
  core->serve();
}

void manager_core::serve() {
  // A previous incarnation declared killed may still be leaving its loop.
  std::unique_lock running{run_mtx_};
  auto n = ++incarnation_;
  auto ph = phase_.load();
  if (ph == phase::stopped || ph == phase::failed)
    return;
  troupe::ext::stop_callback wake{[this] { inbox_.interrupt(); }};
  auto stop = [] { return troupe::ext::stop_requested(); };
  acquire_exec();
  try {
    if (n > 1 && store_)
      recover(false);
    actor_needed_.store(false, std::memory_order_release);
    phase_.store(phase::up, std::memory_order_release);
    for (;;) {
      auto r = run_queued(true, 0);
      if (store_
          && (compact_wanted_.exchange(false) || store_->needs_compaction()))
        compact();
      release_exec();
      if (r == ran::stopping || stop())
        break;
      if (inbox_.empty())
        inbox_.wait([&] {
          return stop() || compact_wanted_.load() || actor_needed_.load();
        });
      if (stop())
        break;
      acquire_exec();
    }
  } catch (...) {
    auto why = describe_current_exception();
    auto up = phase::up;
    phase_.compare_exchange_strong(up, phase::down);
    if (current_ != nullptr) {
      current_->error = std::make_exception_ptr(manager_unavailable(
        "manager '" + opts_.name + "' failed while running this call (" + why
        + "); it was not acknowledged"));
      auto* op = current_;
      current_ = nullptr;
      finish(op);
    }
    release_exec();
    throw;
  }
  auto up = phase::up;
  phase_.compare_exchange_strong(up, phase::down);
}

void manager_core::execute(op_base* op) {
  if (op->expired() || !op->try_start()) {
    op->release(); // the caller gave up: not applied
    return;
  }
  current_ = op;
  op_ctx ctx{*this, op->target(), op};
  op->run(ctx);
  if (op->error) {
    // A body that throws changed nothing; neither does its journal.
    op->journal_first.clear();
    op->journal_more.clear();
  } else {
    try {
      append(*op);
    } catch (...) {
      // The store failed (it stays unusable): the caller learns it.
      op->error = std::current_exception();
      op->seq = 0;
    }
  }
  current_ = nullptr;
  finish(op);
}

void manager_core::finish(op_base* op) {
  if (op->seq != 0) {
    std::lock_guard guard{durable_mtx_};
    if (op->seq > durable_seq_) {
      op->state.fetch_or(op_base::on_disk, std::memory_order_release);
      durable_waiters_.push_back(op);
      return;
    }
  }
  complete(op);
}

void manager_core::complete(op_base* op) {
  op->respond();
  auto old = op->state.exchange(op_base::done, std::memory_order_acq_rel);
  if ((old & op_base::sleeper) != 0)
    futex_wake_all(&op->state);
  op->release();
}

void manager_core::on_durable(std::uint64_t seq) {
  std::vector<op_base*> ready;
  {
    std::lock_guard guard{durable_mtx_};
    durable_seq_ = std::max(durable_seq_, seq);
    while (!durable_waiters_.empty()
           && durable_waiters_.front()->seq <= durable_seq_) {
      ready.push_back(durable_waiters_.front());
      durable_waiters_.pop_front();
    }
  }
  for (auto* op : ready)
    complete(op);
}

void manager_core::fail_queued(const std::string& why) {
  auto fail = [&](op_base* op) {
    while (op != nullptr) {
      auto* next = op->next;
      op->next = nullptr;
      if (op->try_start()) {
        op->error = std::make_exception_ptr(manager_unavailable(why));
        complete(op);
      } else {
        op->release();
      }
      op = next;
    }
  };
  auto* b = backlog_;
  backlog_ = nullptr;
  fail(b);
  fail(inbox_.take_all());
}

void manager_core::begin_shutdown() {
  phase_.store(phase::stopped, std::memory_order_release);
  inbox_.interrupt();
}

void manager_core::finish_shutdown() {
  std::lock_guard running{run_mtx_};
  acquire_exec();
  fail_queued("manager '" + opts_.name + "' was shut down");
  release_exec();
  if (store_) {
    try {
      // A snapshot that was due is written now rather than left to the
      // journal's replay at the next start.
      if (store_->needs_compaction())
        compact();
      store_->flush();
      on_durable(store_->durable_seq());
    } catch (const std::exception& e) {
      std::cerr << "troupe: manager '" << opts_.name
                << "': flushing the state file at shutdown failed: " << e.what()
                << '\n';
    }
    // Frees the path for another manager (or runtime) to open.
    store_.reset();
  }
}

void manager_core::give_up(std::string why) {
  {
    std::lock_guard guard{durable_mtx_};
    gave_up_ = std::move(why);
  }
  phase_.store(phase::failed, std::memory_order_release);
  inbox_.interrupt();
  // Callers running calls see the phase and stop soon.
  acquire_exec();
  fail_queued(unavailable_error().what());
  release_exec();
}

// -- objects
// ---------------------------------------------------------------------------

slot* manager_core::open(
  std::string name, const object_type& type,
  const std::function<void(object_base&, op_ctx&, slot*)>& init, op_ctx& ctx,
  bool numbered) {
  if (name.empty()) {
    name = type.kind + "-";
    numbered = true;
  }
  if (numbered) {
    auto& n = counters_[name];
    std::string candidate;
    do {
      candidate = name + std::to_string(++n);
    } while (slots_.contains(candidate));
    name = std::move(candidate);
  }
  if (auto i = slots_.find(name); i != slots_.end()) {
    if (i->second->type->tag != type.tag)
      throw value_error("manager '" + opts_.name + "': '" + name + "' is a "
                        + i->second->type->tag + ", not a " + type.tag);
    return i->second.get();
  }
  if (store_ && !type.durable)
    throw value_error("manager '" + opts_.name + "' keeps its state in '"
                      + opts_.state_path.string()
                      + "', so its objects must be Boost-serializable, and "
                      + type.tag
                      + " is not (see troupe::managed::durable_value)");
  auto s = std::make_unique<slot>();
  s->name = name;
  s->type = &type;
  s->obj = type.make();
  if (auto i = images_.find(name); i != images_.end()) {
    if (i->second.tag != type.tag)
      throw value_error("manager '" + opts_.name + "': '" + name
                        + "' in state file '" + opts_.state_path.string()
                        + "' is a " + i->second.tag + ", not a " + type.tag);
    try {
      if (i->second.state)
        s->obj->load(*i->second.state);
      for (auto& r : i->second.records)
        s->obj->replay(r);
    } catch (const serialization::format_error& e) {
      throw serialization::state_file_error(
        opts_.state_path.string(), "state file '" + opts_.state_path.string()
                                     + "': object '" + name + "' (" + type.tag
                                     + ") cannot be read: " + e.what());
    }
    images_.erase(i);
  } else {
    init(*s->obj, ctx, s.get());
  }
  auto* p = s.get();
  slots_.emplace(std::move(name), std::move(s));
  return p;
}

std::string manager_core::encode(const slot& s, const std::string& payload,
                                 bool whole_state) {
  return encode_entry(s.name, s.type->tag, whole_state, payload);
}

void manager_core::append(op_base& op) {
  if (op.journal_first.empty())
    return;
  if (op.journal_more.empty()) {
    op.seq = store_->append(std::move(op.journal_first));
  } else {
    op.seq = store_->append(encode_group(op.journal_first, op.journal_more));
    op.journal_more.clear();
  }
  op.journal_first.clear();
}

void manager_core::register_type(const std::string& name,
                                 const object_type& type) {
  std::lock_guard guard{types_mtx_};
  auto [i, added] = types_.emplace(name, &type);
  if (!added && i->second != &type)
    throw value_error("manager '" + opts_.name + "': '" + name
                      + "' is already registered as " + i->second->tag
                      + ", not " + type.tag);
}

const object_type& manager_core::registered(const std::string& name,
                                            std::type_index cpp,
                                            const std::string& cpp_name) {
  std::lock_guard guard{types_mtx_};
  auto i = types_.find(name);
  if (i == types_.end()) {
    std::string known;
    for (auto& [n, t] : types_)
      known += (known.empty() ? "" : ", ") + n;
    throw value_error("manager '" + opts_.name + "': no type is registered as '"
                      + name
                      + "' (registered: " + (known.empty() ? "none" : known)
                      + "); call register_type<T>(\"" + name + "\") first");
  }
  if (i->second->cpp != cpp)
    throw value_error("manager '" + opts_.name + "': '" + name
                      + "' is registered as " + i->second->tag + ", not "
                      + cpp_name);
  return *i->second;
}

// -- durability
// ---------------------------------------------------------------------------

void manager_core::recover(bool first) {
  namespace ser = troupe::serialization;
  auto path = opts_.state_path.string();
  auto open_store = [&] {
    store_ = std::make_unique<ser::durable_store>(
      ser::store_options{opts_.state_path, opts_.on_corrupt,
                         opts_.compact_after},
      [this](std::uint64_t seq) { on_durable(seq); });
  };
  if (!first && store_) {
    // Everything acknowledged so far is in the files: read them back as a
    // new runtime would. Closing the store completes what was pending.
    store_->flush();
    on_durable(store_->durable_seq());
    store_.reset();
  }
  open_store();
  auto parse = [&](const ser::durable_store::recovered& r) {
    std::map<std::string, image> out;
    if (r.snapshot) {
      auto img = ser::from_bytes<manager_image>(*r.snapshot);
      if (img.magic != image_magic)
        throw ser::format_error("the snapshot is not a troupe manager's (it is "
                                "marked '"
                                + img.magic.substr(0, 40) + "')");
      if (img.version != image_version)
        throw ser::format_error("the snapshot has manager format version "
                                + std::to_string(img.version)
                                + "; this build reads version "
                                + std::to_string(image_version));
      for (auto& o : img.objects)
        out[o.name] = image{o.tag, std::move(o.state), std::move(o.records)};
    }
    std::size_t n = 0;
    for (auto& rec : r.journal) {
      ++n;
      std::vector<journal_entry> entries;
      try {
        entries = decode_entry(rec);
      } catch (const ser::format_error& err) {
        throw ser::format_error("journal record " + std::to_string(n) + ": "
                                + err.what());
      }
      for (auto& e : entries) {
        auto& im = out[e.name];
        if (im.tag.empty())
          im.tag = e.tag;
        else if (im.tag != e.tag)
          throw ser::format_error("journal record " + std::to_string(n)
                                  + " is a " + e.tag + " record for '" + e.name
                                  + "', which is a " + im.tag);
        if (e.whole_state) {
          im.state = std::move(e.payload);
          im.records.clear();
        } else {
          im.records.push_back(std::move(e.payload));
        }
      }
    }
    return out;
  };
  auto r = store_->recover();
  try {
    images_ = parse(r);
  } catch (const ser::format_error& e) {
    auto what = "state file '" + path
                + "' is not a troupe manager's state: " + std::string{e.what()};
    if (opts_.on_corrupt == ser::on_corrupt::refuse || !first)
      throw ser::state_file_error(path, what);
    // start_empty: keep the files aside, as the store does for bad files.
    auto files = std::vector{store_->path(), store_->journal_path()};
    store_.reset();
    auto stamp = utc_stamp();
    std::string moved;
    for (auto& f : files) {
      std::error_code ec;
      if (!std::filesystem::exists(f, ec))
        continue;
      auto aside = f;
      aside += ".corrupt-" + stamp;
      std::filesystem::rename(f, aside, ec);
      if (ec)
        throw ser::state_file_error(
          f.string(), what + "; setting it aside as '" + aside.string()
                        + "' failed: " + ec.message());
      moved += (moved.empty() ? "" : ", ") + ("'" + aside.string() + "'");
    }
    open_store();
    r = store_->recover();
    images_.clear();
    r.warning = what + "; kept aside as " + moved + ", starting empty";
    std::cerr << "troupe: manager '" << opts_.name << "': " << r.warning
              << '\n';
  }
  {
    std::lock_guard guard{durable_mtx_};
    if (!r.warning.empty())
      warning_ = r.warning;
    durable_seq_ = std::max(durable_seq_, store_->durable_seq());
  }
  if (first)
    return;
  for (auto& [name, s] : slots_) {
    auto fresh = s->type->make();
    if (auto i = images_.find(name); i != images_.end()) {
      if (i->second.state)
        fresh->load(*i->second.state);
      for (auto& rec : i->second.records)
        fresh->replay(rec);
      images_.erase(i);
    }
    s->obj = std::move(fresh);
  }
}

std::string manager_core::snapshot() const {
  manager_image img;
  img.magic = image_magic;
  img.version = image_version;
  for (auto& [name, s] : slots_)
    img.objects.push_back(object_image{name, s->type->tag, s->obj->save(), {}});
  for (auto& [name, im] : images_)
    img.objects.push_back(object_image{name, im.tag, im.state, im.records});
  return serialization::to_bytes(img);
}

void manager_core::compact() {
  store_->compact(snapshot());
}

// -- name_space
// ------------------------------------------------------------------------------

std::string ns_object::save() const {
  std::vector<field_image> out;
  for (auto& [name, f] : fields) {
    if (f.raw)
      out.push_back(field_image{name, f.tag, *f.raw});
    else if (f.save != nullptr)
      out.push_back(field_image{name, f.tag, f.save(f.value)});
  }
  return serialization::to_bytes(out);
}

void ns_object::load(std::string_view bytes) {
  fields.clear();
  for (auto& f : serialization::from_bytes<std::vector<field_image>>(bytes))
    fields.insert_or_assign(f.name,
                            field{f.tag, {}, nullptr, std::move(f.bytes)});
}

void ns_object::replay(std::string_view bytes) {
  auto r = serialization::from_bytes<record>(bytes);
  if (r.code == 1)
    fields.insert_or_assign(r.f.name,
                            field{r.f.tag, {}, nullptr, std::move(r.f.bytes)});
  else if (r.code == 2)
    fields.erase(r.f.name);
  else
    throw serialization::format_error("unknown namespace record code "
                                      + std::to_string(int{r.code}));
}

} // namespace troupe::managed::detail
