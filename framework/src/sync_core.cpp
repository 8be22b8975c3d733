// Holders, the registry of owned resources, the wait-for graph and slow-wait
// reports: what every troupe synchronization object shares.

#include "troupe/detail/sync_core.hpp"

#include <atomic>
#include <iostream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "troupe/error.hpp"
#include "troupe/runtime.hpp"
#include "troupe/sync_options.hpp"
#include "troupe/this_process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe::detail {

namespace {

/// Every holder whose process has not ended, and the wait-for graph.
/// Leaked on purpose: thread-local caches and exit hooks may outlive
/// static destruction.
struct holder_registry {
  std::mutex mtx;
  std::unordered_map<const process_state*, std::shared_ptr<holder>> by_state;
  std::unordered_map<const void*, std::shared_ptr<holder>> by_address;
  std::unordered_map<const holder*, lock_core*> waits; // untimed waits
};

holder_registry& holders() {
  static auto* reg = new holder_registry; // NOLINT: see holder_registry
  return *reg;
}

/// Every live resource, for the exit hooks of holders.
struct resource_registry {
  std::mutex mtx;
  std::unordered_set<owned_resource*> all;
};

resource_registry& resources() {
  static auto* reg = new resource_registry; // NOLINT: as holders()
  return *reg;
}

std::atomic<std::uint64_t> name_counter{0};

void end_holder(const std::shared_ptr<holder>& h, const exit_info& info);

/// The calling thread's last holder: the hot path of every acquire.
struct holder_cache {
  const process_state* key = nullptr;
  std::weak_ptr<process_state> weak;
  std::shared_ptr<holder> h;

  holder_cache() = default;
  holder_cache(const holder_cache&) = delete;
  holder_cache& operator=(const holder_cache&) = delete;

  /// A thread troupe does not run holds as itself (see `holder::thread`):
  /// what it still holds is released when it exits.
  ~holder_cache() {
    drop();
  }

  void drop() {
    if (h && h->thread && !h->dead.load())
      end_holder(h, exit_info{0, "its thread exited"});
    h.reset();
  }
};

thread_local holder_cache tl_holder; // NOLINT

std::string describe_state(process_state& st) {
  std::lock_guard guard{st.mtx};
  return "process '" + st.name + "' (pid " + std::to_string(st.pid) + ")";
}

/// Every live resource, held for a call on each.
std::vector<std::shared_ptr<owned_resource>> live_resources() {
  std::vector<std::shared_ptr<owned_resource>> alive;
  auto& reg = resources();
  std::lock_guard guard{reg.mtx};
  alive.reserve(reg.all.size());
  for (auto* r : reg.all)
    if (auto sp = r->weak_from_this().lock())
      alive.push_back(std::move(sp));
  return alive;
}

/// Every resource releases what `h` held; then `h` leaves the registry.
void release_holder(const std::shared_ptr<holder>& h, const exit_info& info) {
  for (auto& r : live_resources()) {
    try {
      r->holder_ended(*h, info);
    } catch (const std::exception& e) {
      sync_log("troupe: releasing " + r->label() + " failed: " + e.what());
    }
  }
  auto& reg = holders();
  std::lock_guard guard{reg.mtx};
  if (auto i = reg.by_state.find(h->state);
      i != reg.by_state.end() && i->second == h)
    reg.by_state.erase(i);
  reg.by_address.erase(h.get());
  reg.waits.erase(h.get());
}

/// Runs once when a holder's process ended: marks it dead (so a thread
/// still running for it can take nothing more), then every resource
/// releases what it held. A process declared killed whose thread still
/// runs keeps what it holds until that thread leaves: handing a lock over
/// while the thread is inside would let two threads into the critical
/// section. Meanwhile the holder stays registered, so that slow-wait
/// reports and the wait-for graph name it.
void end_holder(const std::shared_ptr<holder>& h, const exit_info& info) {
  if (h->dead.exchange(true, std::memory_order_seq_cst))
    return; // a foreign thread's holder ends with its thread or with main
  auto st = h->thread ? nullptr : h->weak_state.lock();
  if (!st || !killed_thread_inside(*st)) {
    release_holder(h, info);
    return;
  }
  for (auto& r : live_resources()) {
    try {
      r->holder_abandoned(*h, info);
    } catch (const std::exception& e) {
      sync_log("troupe: " + r->label()
               + " failed to note a killed holder: " + e.what());
    }
  }
  after_thread_left(*st,
                    [h, code = info.exitcode, why = std::string{info.reason}] {
                      release_holder(h, exit_info{code, why});
                    });
}

holder& holder_slow(const process_state* key, std::shared_ptr<process_state> st,
                    bool foreign) {
  if (!st)
    throw state_error("a troupe synchronization object was used after its "
                      "runtime was destroyed");
  std::shared_ptr<holder> h;
  bool created = false;
  auto& c = tl_holder;
  c.drop();
  if (foreign) {
    // One holder per foreign thread, ending with the thread or with the
    // main process, whichever ends first.
    h = std::make_shared<holder>(st, true);
    if ((reinterpret_cast<std::uintptr_t>(h.get()) & ~lock_core::holder_mask)
        != 0)
      throw error("troupe: a holder record lies above 2^48; locks cannot "
                  "encode it on this platform");
    auto& reg = holders();
    std::lock_guard guard{reg.mtx};
    reg.by_address[h.get()] = h;
    created = true;
  }
  if (!foreign) {
    auto& reg = holders();
    std::lock_guard guard{reg.mtx};
    auto& slot = reg.by_state[st.get()];
    if (!slot || slot->weak_state.lock() != st) {
      if (slot)
        reg.by_address.erase(slot.get());
      slot = std::make_shared<holder>(st, false);
      auto bits = reinterpret_cast<std::uintptr_t>(slot.get());
      if ((bits & ~lock_core::holder_mask) != 0)
        throw error("troupe: a holder record lies above 2^48; locks "
                    "cannot encode it on this platform");
      reg.by_address[slot.get()] = slot;
      created = true;
    }
    h = slot;
  }
  if (created)
    st->on_exit([h](const exit_info& info) {
      if (!h->dead.load())
        end_holder(h, info);
    });
  c.key = key;
  c.weak = st;
  c.h = std::move(h);
  return *c.h;
}

} // namespace

// -- holder -------------------------------------------------------------------

holder::holder(const std::shared_ptr<process_state>& st, bool foreign)
  : state(st.get()), weak_state(st), thread(foreign) {}

std::string holder::who() const {
  if (auto st = weak_state.lock()) {
    auto out = (thread ? "a thread of " : "") + describe_state(*st);
    if (!thread && dead.load() && killed_thread_inside(*st))
      out += ", declared killed but its thread still runs";
    return out;
  }
  return "an ended process";
}

pid_type holder::pid() const {
  if (auto st = weak_state.lock()) {
    std::lock_guard guard{st->mtx};
    return st->pid;
  }
  return 0;
}

std::string describe_holder(const void* h) {
  if (h == nullptr)
    return "nobody";
  auto& reg = holders();
  std::shared_ptr<holder> found;
  {
    std::lock_guard guard{reg.mtx};
    auto i = reg.by_address.find(h);
    if (i == reg.by_address.end())
      return "an ended process";
    found = i->second;
  }
  return found->who();
}

std::shared_ptr<process_state> state_of_holder(const void* h) {
  if (h == nullptr)
    return nullptr;
  auto& reg = holders();
  std::shared_ptr<holder> found;
  {
    std::lock_guard guard{reg.mtx};
    auto i = reg.by_address.find(h);
    if (i == reg.by_address.end())
      return nullptr;
    found = i->second;
  }
  return found->weak_state.lock();
}

// -- owned_resource -----------------------------------------------------------

owned_resource::owned_resource(runtime& rt, std::string kind,
                               const sync_options& opts)
  : name_(opts.name.empty() ? kind + "-" + std::to_string(++name_counter)
                            : opts.name),
    label_(kind + " '" + name_ + "'"), warn_after_(opts.warn_after),
    main_(rt.impl()->main_state()), main_raw_(rt.impl()->main_state().get()) {
  if (warn_after_.count() < 0)
    throw value_error("sync_options: warn_after must not be negative");
}

owned_resource::~owned_resource() {
  if (!enrolled_)
    return;
  auto& reg = resources();
  std::lock_guard guard{reg.mtx};
  reg.all.erase(this);
}

void owned_resource::enroll() {
  auto& reg = resources();
  std::lock_guard guard{reg.mtx};
  reg.all.insert(this);
  enrolled_ = true;
}

holder& owned_resource::me() const {
  auto* st = current_state_ptr();
  const process_state* key = st != nullptr ? st : main_raw_;
  auto& c = tl_holder;
  if (c.key == key && c.h && !c.weak.expired())
    return *c.h;
  return holder_slow(key, st != nullptr ? st->shared_from_this() : main_.lock(),
                     st == nullptr);
}

// -- waiting ------------------------------------------------------------------

void sync_log(const std::string& line) {
  static std::mutex mtx;
  std::lock_guard guard{mtx};
  std::cerr << line << '\n' << std::flush;
}

bool wait_reporting(std::unique_lock<std::mutex>& lk,
                    std::condition_variable& cv, ext::deadline until,
                    std::chrono::milliseconds warn_after,
                    const std::string& label, const std::function<bool()>& done,
                    const std::function<std::string()>& blockers) {
  auto warn = std::chrono::duration_cast<sync_clock::duration>(warn_after);
  auto started = sync_clock::now();
  auto next_warn = warn.count() > 0 ? ext::deadline::at(started + warn)
                                    : ext::deadline::forever();
  while (!done()) {
    if (stop_requested())
      throw_terminated();
    ext::park(lk, cv, min(until, next_warn));
    if (done())
      return true;
    auto now = sync_clock::now();
    if (until.passed(now))
      return false;
    if (next_warn.passed(now)) {
      auto waited
        = std::chrono::duration_cast<std::chrono::milliseconds>(now - started);
      auto* st = current_state_ptr();
      sync_log("troupe: "
               + (st != nullptr ? describe_state(*st)
                                : std::string{"the main process"})
               + " has waited " + std::to_string(waited.count()) + " ms for "
               + label + ", " + blockers());
      next_warn = ext::deadline::at(next_warn.when() + warn);
    }
  }
  return true;
}

// -- the wait-for graph -------------------------------------------------------

wait_edge::wait_edge(holder& h, lock_core& c) : h_(h) {
  auto& reg = holders();
  std::lock_guard guard{reg.mtx};
  reg.waits[&h] = &c;
  // Follow lock -> holder -> the lock it waits for -> ... back to `h`?
  std::vector<std::pair<const holder*, lock_core*>> chain{{&h, &c}};
  std::unordered_set<const holder*> seen{&h};
  auto* cur = &c;
  for (;;) {
    auto* owner
      = reinterpret_cast<const holder*>(cur->word() & lock_core::holder_mask);
    if (owner == nullptr)
      return;
    if (owner == &h)
      break; // a cycle
    if (!seen.insert(owner).second)
      return; // a cycle that does not involve us: its closer reported it
    auto i = reg.waits.find(owner);
    if (i == reg.waits.end())
      return;
    chain.emplace_back(owner, i->second);
    cur = i->second;
  }
  reg.waits.erase(&h);
  auto who = [&](const holder* x) {
    auto i = reg.by_address.find(x);
    return i != reg.by_address.end() ? i->second->who()
                                     : std::string{"an ended process"};
  };
  std::ostringstream msg;
  msg << "deadlock: ";
  if (chain.size() == 1) {
    msg << who(&h) << " acquires " << c.label()
        << ", which it already holds (a lock is not recursive: use an rlock)";
  } else {
    for (std::size_t k = 0; k < chain.size(); ++k) {
      auto& [x, l] = chain[k];
      auto* next = chain[(k + 1) % chain.size()].first;
      msg << (k == 0 ? "" : ", which ") << (k == 0 ? who(x) + " " : "")
          << "waits for " << l->label() << " held by " << who(next);
    }
    msg << "; this acquire closed the cycle and would never return";
  }
  throw deadlock_error(msg.str());
}

wait_edge::~wait_edge() {
  auto& reg = holders();
  std::lock_guard guard{reg.mtx};
  reg.waits.erase(&h_);
}

} // namespace troupe::detail
