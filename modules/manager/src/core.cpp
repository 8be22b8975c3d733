// The manager's core: operations' context and batches, the state actor's
// loop, completing calls (after the disk, when durable), shutdown and giving
// up, and the objects and custom types it holds.

#include "troupe/manager/detail/core.hpp"

#include <algorithm>
#include <exception>
#include <iostream>

#include <troupe/ext/describe.hpp>
#include <troupe/ext/futex.hpp>
#include <troupe/ext/stop.hpp>
#include <troupe/serialization/durable_store.hpp>
#include <troupe/serialization/error.hpp>

namespace troupe::managed::detail {

caf::error to_caf_error(const std::exception_ptr& ep) {
  return caf::make_error(caf::sec::runtime_error,
                         troupe::ext::describe_exception(ep));
}

// -- op_ctx -------------------------------------------------------------------

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

// -- batches ------------------------------------------------------------------

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

// -- construction -------------------------------------------------------------

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

// -- the state actor ----------------------------------------------------------

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
  exec_.lock();
  try {
    if (n > 1 && store_)
      recover(false);
    actor_needed_.store(false, std::memory_order_release);
    phase_.store(phase::up, std::memory_order_release);
    std::uint32_t seen = 1; // requests in hand
    for (;;) {
      auto r = run_queued(true, 0);
      if (store_
          && (compact_wanted_.exchange(false) || store_->needs_compaction()))
        compact();
      if (r == ran::stopping || stop()) {
        exec_.unlock();
        break;
      }
      if (exec_.release(seen))
        continue; // callers queued calls meanwhile: still ours to run
      if (inbox_.empty())
        inbox_.wait([&] {
          return stop() || compact_wanted_.load() || actor_needed_.load();
        });
      if (stop())
        break;
      exec_.lock();
      seen = 1;
    }
  } catch (...) {
    auto why = troupe::ext::describe_current_exception();
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
    exec_.unlock();
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
    ext::futex_wake_all(&op->state);
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
  exec_.lock();
  fail_queued("manager '" + opts_.name + "' was shut down");
  exec_.unlock();
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
  exec_.lock();
  fail_queued(unavailable_error().what());
  exec_.unlock();
}

// -- objects ------------------------------------------------------------------

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

// -- custom types -------------------------------------------------------------

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

} // namespace troupe::managed::detail
