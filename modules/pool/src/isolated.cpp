// Workers of a pool whose tasks run in OS processes of their own
// (isolation::os_process). Each worker keeps its thread, which owns one
// child `os_process` serving batches of entry-point calls: the thread
// forwards a task's batch as one message and waits for the answer or the
// child's end. A child that ends under a task ends its worker, so the task
// takes the thread pool's path for a dead worker (retry or worker_lost) and
// the supervisor starts a fresh worker with a fresh OS process.
//
// This file is linked into a program only when it names
// `troupe::isolation::os_process`, so that thread-only pools do not bring
// troupe::isolate's runtime hooks (CAF's middleman) along.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>

#include <troupe/error.hpp>
#include <troupe/ext/describe.hpp>
#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/wait.hpp>
#include <troupe/isolate/entry.hpp>
#include <troupe/os_process.hpp>
#include <troupe/pool/detail/pool_core.hpp>
#include <troupe/pool/options.hpp>
#include <troupe/process.hpp>
#include <troupe/this_process.hpp>

namespace troupe::pooled::detail {

/// The child's side: runs the initializer, answers a first empty request
/// once it did (so its worker knows the initializer ran), then runs each
/// batch it is sent and answers with `(seq, true, results, "")` or
/// `(seq, false, exception type, message)`, until it is sent sequence
/// number 0. An exception not derived from `std::exception` ends it (and
/// so its worker), as it ends a thread worker.
void pool_worker_serve(std::string init_entry, std::string init_calls) {
  if (!init_entry.empty())
    isolate::call_batch(init_entry, init_calls);
  for (bool stop = false; !stop;) {
    this_process::receive([&stop](std::uint64_t seq, const std::string& entry,
                                  const std::string& calls) {
      if (seq == 0) {
        stop = true;
        return;
      }
      if (entry.empty()) {
        this_process::reply(seq, true, std::string{}, std::string{});
        return;
      }
      try {
        auto out = isolate::call_batch(entry, calls);
        this_process::reply(seq, true, std::move(out), std::string{});
      } catch (const terminated&) {
        throw;
      } catch (const std::exception& e) {
        this_process::reply(seq, false, ext::type_name(typeid(e)),
                            std::string{e.what()});
      }
    });
  }
}

} // namespace troupe::pooled::detail

TROUPE_ENTRY_AS(troupe::pooled::detail::pool_worker_serve,
                "troupe::pool_worker");

namespace troupe::pooled::detail {

namespace {

class os_worker_host final : public worker_host {
public:
  explicit os_worker_host(const worker_host_args& args)
    : rec_(args.rec), grace_(args.grace),
      child_(args.rt,
             os_process_options{.name = args.rec.name,
                                .terminate_grace = args.grace},
             entry<pool_worker_serve>, args.initializer_entry,
             args.initializer_calls) {
    child_.start();
    // The child's end wakes the worker's wait for an answer with (exit
    // code, reason). A ready child that ends while its worker holds no
    // task (the out-of-memory killer, a kill from outside) ends the worker
    // at once (killed: a failure, which the supervisor restarts and counts),
    // so that no later task is blamed for it. Before it is ready, the wait
    // for its initializer sees the end and fails the worker.
    ext::on_exit(child_.as_process(), [self = current_process(), rec = &rec_,
                                       state = state_, pid = child_.os_pid()](
                                        const ext::exit_info& info) {
      self.send(std::int32_t{info.exitcode}, std::string{info.reason});
      if (state->leaving.load() || !state->ready.load())
        return;
      bool idle = false;
      {
        std::lock_guard guard{rec->mtx};
        if (!rec->in_task) {
          idle = true;
          rec->host_end = end_text(info.exitcode, info.reason, pid);
        }
      }
      if (idle)
        self.kill();
    });
    try {
      call({}, {}); // returns once the initializer ran there
      state_->ready.store(true);
    } catch (...) {
      // The worker is stopped (or its child ended) before it was ready:
      // no destructor runs for this host, so its child is stopped here.
      stop_child(false);
      throw;
    }
  }

  ~os_worker_host() override {
    stop_child(!ended_ && std::uncaught_exceptions() == 0);
  }

  /// "its OS process ended: killed by SIGSEGV (segmentation fault) (OS
  /// pid 4242)": the OS pid last, in parentheses, so that the reasons of
  /// many ends group by what ended them.
  static std::string end_text(int code, std::string_view reason,
                              std::optional<int> pid) {
    auto why = "its OS process ended: "
               + (reason.empty() ? "exit code " + std::to_string(code)
                                 : std::string{reason});
    if (pid)
      why += " (OS pid " + std::to_string(*pid) + ")";
    return why;
  }

  os_worker_host(const os_worker_host&) = delete;
  os_worker_host& operator=(const os_worker_host&) = delete;

  std::string call(std::string_view entry, std::string calls) override {
    auto seq = ++seq_;
    child_.send(seq, std::string{entry}, std::move(calls));
    std::string out;
    std::string error_type;
    bool answered = false;
    bool ok = false;
    while (!answered) {
      this_process::receive(
        [&](std::uint64_t s, bool success, std::string& a, std::string& b) {
          if (s != seq)
            return; // an answer to a call given up on (none today)
          answered = true;
          ok = success;
          out = std::move(success ? a : b);
          error_type = std::move(a);
        },
        [&](std::int32_t code, const std::string& reason) {
          lost(code, reason);
        });
    }
    if (!ok)
      throw child_exception(std::move(error_type), std::move(out));
    return out;
  }

private:
  /// Ends the child and waits for its end. `gracefully`: the worker leaves
  /// normally (close, maxtasksperchild), and the child returns when told
  /// to, within the grace. Otherwise (the worker dies or the pool stops
  /// it) the child is terminated: SIGTERM, SIGKILL after the grace.
  void stop_child(bool gracefully) noexcept {
    state_->leaving.store(true); // its end is this worker's doing
    const auto& p = child_.as_process();
    if (gracefully) {
      child_.send(std::uint64_t{0}, std::string{}, std::string{});
      if (ext::await_end_until(p, std::chrono::steady_clock::now() + grace_))
        return;
    }
    try {
      child_.terminate();
      ext::await_end(p);
    } catch (...) {
      try {
        child_.kill();
      } catch (...) {
        // Started, so kill() has nothing left to refuse.
      }
    }
  }

  [[noreturn]] void lost(int code, const std::string& reason) {
    ended_ = true;
    auto why = end_text(code, reason, child_.os_pid());
    {
      std::lock_guard guard{rec_.mtx};
      rec_.host_end = why;
    }
    throw os_worker_lost(why);
  }

  worker_record& rec_;
  std::chrono::milliseconds grace_;
  /// Shared with the child's exit hook.
  struct hook_state {
    std::atomic<bool> ready{false};   // its initializer ran
    std::atomic<bool> leaving{false}; // the worker ends it itself
  };
  std::shared_ptr<hook_state> state_ = std::make_shared<hook_state>();
  os_process child_;
  std::uint64_t seq_ = 0;
  bool ended_ = false;
};

std::unique_ptr<worker_host> make_os_worker_host(const worker_host_args& a) {
  return std::make_unique<os_worker_host>(a);
}

} // namespace

} // namespace troupe::pooled::detail

namespace troupe::isolation {

constinit const isolation_mode os_process{&pooled::detail::make_os_worker_host,
                                          "os_process"};

} // namespace troupe::isolation
