// troupe-wordcount, the flagship: word frequencies over a folder of text
// files, by a supervised pipeline that loses nothing.
//
//   reader (process) --bounded queue--> dispatcher (main) --> pool (supervised
//   workers) --callbacks--> writer (process) --> manager (durable state)
//                                 monitor (process): progress, stuck workers
//
// The reader walks the input folder and streams files into a bounded queue
// (it blocks when the workers fall behind). The dispatcher submits each
// file to a troupe::pool with a bounded number in flight. A worker that
// dies (an exit, kill(), terminate(), or a hang the monitor ends after its
// grace) is replaced by the pool's supervisor and its task retried; a task
// that throws a transient error is resubmitted; a file that is not text
// fails at once. Every outcome goes to the writer, which records it in a
// durable manager (a supervised state actor that keeps its state through
// its own crashes and across runs). At the end: the top words, the
// throughput, the supervision tree, and the accounting line:
// produced = processed + failed, with the failures by reason.

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <unistd.h>

#include <troupe/isolate/entry.hpp>
#include <troupe/manager.hpp>
#include <troupe/os_process.hpp>
#include <troupe/pool.hpp>
#include <troupe/troupe.hpp>

#include "corpus.hpp"
#include "options.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using flagship::options;

// -- shared run state
// -----------------------------------------------------------

/// One file to count; `seq` numbers the files in reading order. Plain
/// strings, not `fs::path`s: a path keeps its parsed components, and
/// copying or building one allocates for each.
struct work_item {
  std::uint64_t seq = 0;
  std::string rel;  // path relative to the input folder, the key in the state
  std::string path; // as given to open()
};

/// Once dispatched, a file is shared by its task, its callbacks and its
/// outcome rather than copied into each.
using shared_item = std::shared_ptr<const work_item>;

/// The final outcome of one file, for the writer.
struct outcome {
  shared_item item;
  bool ok = false;
  flagship::file_counts counts{};
  std::string reason{}; // the failure's kind, for grouping
  std::string detail{}; // the failure's full message
};

enum class fault : std::uint8_t {
  exception,
  exit,
  killed,
  terminated,
  stuck,
  segfault, // OS-process workers only, from here on
  abort,
  sigkill
};
constexpr std::array fault_names{"exception",   "exit(3)", "kill()",
                                 "terminate()", "stuck",   "SIGSEGV",
                                 "abort()",     "SIGKILL"};
/// The faults each kind of worker gets: a thread cannot survive a crash,
/// an OS process is the way to.
constexpr std::array thread_faults{fault::exception, fault::exit, fault::killed,
                                   fault::terminated, fault::stuck};
constexpr std::array process_faults{
  fault::exception, fault::exit, fault::segfault, fault::abort, fault::sigkill};

/// A transient failure: the task may succeed when run again.
class chaos_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// A task on a worker right now, for the monitor's watchdog.
struct running_task {
  troupe::process worker;
  clock_type::time_point since;
  std::string rel;
  bool stopping = false;
};

/// Counters and logs every part of the pipeline updates. Thread-safe.
struct run_state {
  std::atomic<std::uint64_t> produced{0};
  std::atomic<std::uint64_t> skipped{0};
  std::atomic<bool> reading{true};
  std::atomic<std::uint64_t> processed{0};
  std::atomic<std::uint64_t> failed{0};
  std::atomic<std::uint64_t> words{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> attempts{0};
  std::atomic<std::uint64_t> resubmitted{0};
  std::atomic<std::int64_t> read_ns{0};   // workers: opening and reading
  std::atomic<std::int64_t> count_ns{0};  // workers: tokenising, counting
  std::atomic<std::int64_t> record_ns{0}; // writer: waiting for the manager
  std::atomic<std::uint64_t> commits{0};  // batches the writer committed
  std::atomic<int> worker_failures{0};
  std::atomic<int> restarts{0};
  std::array<std::atomic<int>, fault_names.size()> injected{};

  std::mutex mtx;
  std::uint64_t next_task = 0;
  std::map<std::uint64_t, running_task> running;
  std::map<std::string, std::vector<std::string>> failures; // reason -> files
  std::map<std::string, int> exit_reasons;                  // why workers ended
  std::vector<std::string> warnings;
  std::vector<std::string> watchdog_log;

  void warn(std::string what) {
    std::lock_guard guard{mtx};
    warnings.push_back(std::move(what));
  }
};

/// What decides the faults: the probability of one per attempt and the
/// seed (`--chaos`, `--seed`), and the kind of worker.
struct chaos_spec {
  double chaos = 0.0;
  std::uint64_t seed = 0;
  bool process_workers = false;
};

/// Chaos is decided per attempt from (seed, file, attempt), so one seed
/// gives the same faults whatever the timing.
std::optional<fault> chaos_roll(const chaos_spec& opts, std::uint64_t seq,
                                int attempt) {
  if (opts.chaos <= 0.0)
    return std::nullopt;
  auto mix = [](std::uint64_t z) {
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  };
  auto h = mix(opts.seed * 0x9e3779b97f4a7c15ULL + seq * 0x2545f4914f6cdd1dULL
               + static_cast<std::uint64_t>(attempt) + 1);
  auto roll = static_cast<double>(h >> 11U) * 0x1.0p-53;
  if (roll >= opts.chaos)
    return std::nullopt;
  auto k = mix(h) % 100;
  if (opts.process_workers) {
    // Weights: exception 30, exit 15, SIGSEGV 20, abort 20, SIGKILL 15.
    if (k < 30)
      return fault::exception;
    if (k < 45)
      return fault::exit;
    if (k < 65)
      return fault::segfault;
    if (k < 85)
      return fault::abort;
    return fault::sigkill;
  }
  // Weights: exception 30, exit 20, kill 20, terminate 20, stuck 10.
  if (k < 30)
    return fault::exception;
  if (k < 50)
    return fault::exit;
  if (k < 70)
    return fault::killed;
  if (k < 90)
    return fault::terminated;
  return fault::stuck;
}

/// Runs on a pool worker: counts one file, unless chaos strikes this
/// attempt.
flagship::file_counts
count_task(const std::shared_ptr<run_state>& st, chaos_spec chaos,
           const shared_item& file,
           const std::shared_ptr<std::atomic<int>>& tries) {
  const auto& item = *file;
  auto attempt = tries->fetch_add(1) + 1;
  st->attempts.fetch_add(1);
  auto me = troupe::current_process();
  std::uint64_t key = 0;
  {
    std::lock_guard guard{st->mtx};
    key = st->next_task++;
    st->running.emplace(key, running_task{me, clock_type::now(), item.rel});
  }
  struct done_guard {
    run_state* st;
    std::uint64_t key;
    ~done_guard() {
      std::lock_guard guard{st->mtx};
      st->running.erase(key);
    }
  } done{st.get(), key};
  if (auto f = chaos_roll(chaos, item.seq, attempt)) {
    st->injected[static_cast<std::size_t>(*f)].fetch_add(1);
    switch (*f) {
      case fault::exception:
        throw chaos_error("chaos: a transient error reading " + item.rel
                          + " (attempt " + std::to_string(attempt) + ")");
      case fault::exit:
        troupe::this_process::exit(3);
      case fault::killed:
        me.kill();                           // as an out-of-memory killer would
        troupe::this_process::sleep_for(1h); // wakes: terminated
        break;
      case fault::terminated:
        me.terminate(); // the supervisor stops it, the pool replaces it
        troupe::this_process::sleep_for(1h);
        break;
      case fault::stuck:
        // Hangs outside troupe (as a wedged system call would), deaf to
        // terminate(): the monitor's watchdog must notice, and the worker
        // is declared killed after its grace. A thread cannot be
        // pre-empted, so the hang ends once that happened (or after a
        // minute, as a safety net).
        for (auto until = clock_type::now() + 1min;
             me.is_alive() && clock_type::now() < until;)
          std::this_thread::sleep_for(5ms);
        troupe::this_process::checkpoint();
        break;
      default:
        break; // OS-process faults: see count_in_process
    }
  }
  auto counts = flagship::count_words(item.path.c_str());
  st->read_ns.fetch_add(counts.read_ns, std::memory_order_relaxed);
  st->count_ns.fetch_add(counts.count_ns, std::memory_order_relaxed);
  return counts;
}

} // namespace

/// Runs in a worker's OS process (`--isolation process`): counts one file,
/// unless chaos strikes this attempt, which the dispatcher numbered (no
/// state is shared with the parent). A crash here ends only this worker.
flagship::file_counts count_in_process(std::string path, std::uint64_t seq,
                                       int attempt, double chaos,
                                       std::uint64_t seed) {
  if (auto f = chaos_roll({chaos, seed, true}, seq, attempt)) {
    switch (*f) {
      case fault::exception:
        throw chaos_error("chaos: a transient error reading " + path
                          + " (attempt " + std::to_string(attempt) + ")");
      case fault::exit:
        troupe::this_process::exit(3);
      case fault::segfault:
        std::raise(SIGSEGV); // as a null pointer dereference would
        break;
      case fault::abort:
        std::abort(); // as a failed assertion would
      case fault::sigkill:
        std::raise(SIGKILL); // as the out-of-memory killer would
        break;
      default:
        break;
    }
  }
  return flagship::count_words(path.c_str());
}

TROUPE_ENTRY(count_in_process);

namespace {

/// The grouping key of a failure message: what comes before its details.
std::string reason_of(const std::string& what) {
  auto cut = what.find(" (");
  return cut == std::string::npos ? what : what.substr(0, cut);
}

// -- dispatcher: bounded queue -> pool
// ------------------------------------------

/// Submits files to the pool, at most `window` in flight; resubmits after a
/// transient error and turns every final result into an `outcome` for the
/// writer. The writer frees a slot once the outcome is recorded, so
/// backpressure holds from the state file back to the reader.
class dispatcher {
public:
  dispatcher(troupe::pool& pool, const options& opts,
             std::shared_ptr<run_state> st, troupe::queue<outcome> outcomes)
    : pool_(pool), opts_(opts), st_(std::move(st)),
      outcomes_(std::move(outcomes)) {}

  void submit(work_item item) {
    submit(std::make_shared<const work_item>(std::move(item)),
           std::make_shared<std::atomic<int>>(0), 1);
  }

private:
  void submit(const shared_item& item,
              const std::shared_ptr<std::atomic<int>>& tries, int submission) {
    if (opts_.process_workers) {
      submit_to_process(item, tries, submission);
      return;
    }
    try {
      static_cast<void>(pool_.apply_async(
        troupe::callback(
          [this, item](const flagship::file_counts& counts) {
            outcomes_.put(outcome{.item = item, .ok = true, .counts = counts});
          },
          [this, item, tries, submission](std::exception_ptr e) {
            failed(item, tries, submission, e);
          }),
        count_task, st_, chaos_spec{opts_.chaos, opts_.seed}, item, tries));
    } catch (const std::exception& e) {
      // pool_broken: the supervisor gave up; the file is reported, not lost.
      fail(item, "pool broken", e.what());
    }
  }

  /// As `submit`, to a pool of OS-process workers: the task is the entry
  /// point, its arguments values. The attempts are numbered here, and a
  /// worker lost is resubmitted here (the pool does not retry: its retry
  /// would repeat the same attempt, and the same fault).
  void submit_to_process(const shared_item& item,
                         const std::shared_ptr<std::atomic<int>>& tries,
                         int submission) {
    auto attempt = tries->fetch_add(1) + 1;
    st_->attempts.fetch_add(1);
    chaos_spec chaos{opts_.chaos, opts_.seed, true};
    if (auto f = chaos_roll(chaos, item->seq, attempt))
      st_->injected[static_cast<std::size_t>(*f)].fetch_add(1);
    try {
      static_cast<void>(pool_.apply_async(
        troupe::callback(
          [this, item](const flagship::file_counts& counts) {
            st_->read_ns.fetch_add(counts.read_ns, std::memory_order_relaxed);
            st_->count_ns.fetch_add(counts.count_ns, std::memory_order_relaxed);
            outcomes_.put(outcome{.item = item, .ok = true, .counts = counts});
          },
          [this, item, tries, submission](std::exception_ptr e) {
            failed(item, tries, submission, e);
          }),
        troupe::entry<count_in_process>, item->path, item->seq, attempt,
        opts_.chaos, opts_.seed));
    } catch (const std::exception& e) {
      fail(item, "pool broken", e.what());
    }
  }

  void failed(const shared_item& item,
              const std::shared_ptr<std::atomic<int>>& tries, int submission,
              const std::exception_ptr& e) {
    try {
      std::rethrow_exception(e);
    } catch (const flagship::bad_input& x) {
      fail(item, reason_of(x.what()), x.what());
    } catch (const chaos_error& x) {
      retry(item, tries, submission, "transient error", x.what());
    } catch (const troupe::child_exception& x) {
      // From an OS-process worker: the exception's type and message.
      if (x.type_name().ends_with("bad_input")) {
        fail(item, reason_of(x.message()), x.message());
      } else if (x.type_name().ends_with("chaos_error")) {
        retry(item, tries, submission, "transient error", x.message());
      } else {
        fail(item, "unexpected error", x.what());
      }
    } catch (const troupe::worker_lost& x) {
      if (opts_.process_workers)
        retry(item, tries, submission, "worker lost (" + x.reason() + ")",
              x.what());
      else
        fail(item, "worker lost (" + x.reason() + "), retries used up",
             x.what());
    } catch (const troupe::pool_broken& x) {
      fail(item, "pool broken", x.what());
    } catch (const troupe::cancelled& x) {
      fail(item, "cancelled", x.what());
    } catch (const std::exception& x) {
      fail(item, "unexpected error", x.what());
    }
  }

  void retry(const shared_item& item,
             const std::shared_ptr<std::atomic<int>>& tries, int submission,
             const std::string& reason, std::string detail) {
    if (submission <= opts_.retries) {
      st_->resubmitted.fetch_add(1);
      submit(item, tries, submission + 1);
    } else {
      fail(item, reason + ", retries used up", std::move(detail));
    }
  }

  void fail(const shared_item& item, std::string reason, std::string detail) {
    outcomes_.put(outcome{.item = item,
                          .ok = false,
                          .reason = std::move(reason),
                          .detail = std::move(detail)});
  }

  troupe::pool& pool_;
  const options& opts_;
  std::shared_ptr<run_state> st_;
  troupe::queue<outcome> outcomes_;
};

// -- reader
// ---------------------------------------------------------------------

/// Walks `root` (recursively, depth first) and puts every file into `work`;
/// files already counted in the state are skipped. Closes `work` at the
/// end, so the dispatcher sees the end of the input.
///
/// A folder is streamed as the system lists it, not collected and sorted:
/// the reader's memory stays the same for 10 files or 100,000 in a folder
/// (only the folders still to visit are kept), and the counts do not depend
/// on the order.
void read_folder(troupe::queue<work_item> work, fs::path root,
                 std::shared_ptr<std::unordered_set<std::string>> done,
                 std::shared_ptr<run_state> st) {
  struct closer {
    troupe::queue<work_item>& q;
    run_state& st;
    ~closer() {
      st.reading = false;
      q.close();
    }
  } close_at_end{work, *st};
  std::vector<fs::path> folders{root};
  std::uint64_t seq = 0;
  while (!folders.empty()) {
    auto dir = std::move(folders.back());
    folders.pop_back();
    // Lexical: fs::relative resolves links with a syscall per path.
    auto rel_dir = dir.lexically_relative(root).generic_string();
    // Where an entry's name starts in its path (directory_iterator joins
    // the folder and the name with one separator unless it ends in one).
    auto dir_prefix = (dir / "").native().size();
    auto rel_prefix = rel_dir == "." ? std::string{} : rel_dir + '/';
    std::error_code ec;
    fs::directory_iterator it{dir, ec};
    auto listed = false; // some entry of `dir` was seen
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      const auto& entry = *it;
      listed = true;
      // The entry's type as the folder listing gave it: no stat per file.
      // Links are taken as files (a dangling one fails as unreadable),
      // never followed into folders.
      std::error_code sec;
      auto link = entry.is_symlink(sec);
      if (!link && entry.is_directory(sec)) {
        folders.push_back(entry.path());
        continue;
      }
      // Every entry's path is its folder's plus a name, so the relative
      // path is a suffix of it.
      const auto& full = entry.path().native();
      auto rel = rel_prefix;
      rel.append(full, std::min(full.size(), dir_prefix));
      if (!link && !entry.is_regular_file(sec)) {
        st->warn("'" + rel + "' is not a regular file: skipped");
        continue;
      }
      if (done->contains(rel)) {
        st->skipped.fetch_add(1);
        continue;
      }
      work.put(work_item{.seq = seq++, .rel = std::move(rel), .path = full});
      st->produced.fetch_add(1);
    }
    if (ec)
      st->warn("folder '" + rel_dir + "' could not be read"
               + (listed ? " to the end (" : " (") + ec.message()
               + (listed ? "): the rest skipped" : "): skipped"));
  }
}

// -- writer
// ---------------------------------------------------------------------

/// The durable state: which files are counted (with their word count),
/// the word totals over them, and the files that failed (with why).
struct results {
  troupe::managed::dict<std::string, std::int64_t> files;
  troupe::managed::dict<std::string, std::int64_t> totals;
  troupe::managed::dict<std::string, std::string> failures;
};

/// The most outcomes the writer records in one batch.
constexpr std::size_t max_batch = 1024;

/// Records the outcomes in the durable manager and frees their slots. It
/// takes every outcome that is ready (at least one, at most `max_batch`)
/// and records them as one batch: one atomic manager call and one sync of
/// the state file, so a file is in the state with its words added to the
/// totals, or neither — whenever the program is killed. While a batch
/// waits for the disk, outcomes gather for the next one.
void write_outcomes(
  troupe::queue<outcome> outcomes, results state, troupe::manager mgr,
  std::shared_ptr<run_state> st,
  std::shared_ptr<const std::unordered_set<std::string>> failed_before,
  std::counting_semaphore<>* slots, bool crash_manager_once) {
  std::uint64_t recorded = 0;
  std::vector<outcome> group;
  std::unordered_map<std::string, std::int64_t> sum;
  for (;;) {
    group.clear();
    try {
      group.push_back(outcomes.get());
    } catch (const troupe::closed&) {
      return;
    }
    while (group.size() < max_batch) {
      auto o = outcomes.try_get();
      if (!o)
        break;
      group.push_back(std::move(*o));
    }
    auto b = mgr.batch();
    std::vector<std::pair<std::string, std::int64_t>> counted;
    std::vector<std::pair<std::string, std::string>> failed;
    std::vector<std::string> recovered; // failed in an earlier run, now not
    sum.clear();
    for (auto& o : group) {
      if (o.ok) {
        counted.emplace_back(o.item->rel, o.counts.total_words);
        for (auto& [w, n] : o.counts.words)
          sum[w] += n;
        if (failed_before->contains(o.item->rel))
          recovered.push_back(o.item->rel);
      } else {
        failed.emplace_back(o.item->rel, o.reason + ": " + o.detail);
      }
    }
    b.update(state.files, std::move(counted));
    b.merge(
      state.totals,
      std::vector<std::pair<std::string, std::int64_t>>(sum.begin(), sum.end()),
      std::plus<>{});
    b.update(state.failures, std::move(failed));
    b.erase_keys(state.failures, std::move(recovered));
    auto t0 = clock_type::now();
    try {
      b.commit();
    } catch (const std::exception& e) {
      // The manager stayed down longer than its call timeout: the batch
      // was not recorded, and its files are reported so.
      for (auto& o : group) {
        o.ok = false;
        o.reason = "not recorded (manager unavailable)";
        o.detail = e.what();
      }
    }
    st->record_ns.fetch_add(
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now()
                                                           - t0)
        .count());
    st->commits.fetch_add(1);
    std::uint64_t ok = 0;
    for (auto& o : group) {
      if (o.ok) {
        ++ok;
        st->words.fetch_add(static_cast<std::uint64_t>(o.counts.total_words));
        st->bytes.fetch_add(o.counts.bytes);
      } else {
        std::lock_guard guard{st->mtx};
        st->failures[o.reason].push_back(o.item->rel);
      }
    }
    st->processed.fetch_add(ok);
    st->failed.fetch_add(group.size() - ok);
    recorded += group.size();
    slots->release(static_cast<std::ptrdiff_t>(group.size()));
    // Chaos reaches the state too: the manager's state actor crashes once,
    // mid-run; its supervisor restarts it with its state, and the writes
    // meanwhile wait instead of failing.
    if (crash_manager_once && !st->reading
        && recorded * 2 >= st->produced.load()) {
      crash_manager_once = false;
      mgr.inject_failure("chaos: the state actor crashed");
    }
  }
}

// -- monitor
// --------------------------------------------------------------------

std::string progress_text(const run_state& st, clock_type::time_point start) {
  auto done = st.processed.load() + st.failed.load();
  auto secs = std::chrono::duration<double>(clock_type::now() - start).count();
  std::ostringstream out;
  out << done << '/' << st.produced.load() << (st.reading ? "+" : "")
      << " files, " << std::fixed << std::setprecision(0)
      << (secs > 0 ? static_cast<double>(done) / secs : 0.0) << " files/s, "
      << st.restarts.load() << " restarts, " << st.failed.load() << " failed";
  return out.str();
}

/// Prints progress (a live line on a terminal, a line a second otherwise)
/// and terminates the workers of tasks that run past the timeout: a stuck
/// worker gets its grace, then is declared killed, and the pool replaces
/// it.
void monitor(troupe::event stop, std::shared_ptr<run_state> st, options opts,
             clock_type::time_point start, bool tty) {
  auto period = opts.progress.value_or(tty ? 100ms : 1000ms);
  auto next_print = clock_type::now() + period;
  while (!stop.wait(std::min<std::chrono::milliseconds>(20ms, period))) {
    auto now = clock_type::now();
    std::vector<running_task> stuck;
    {
      std::lock_guard guard{st->mtx};
      for (auto& [key, task] : st->running)
        if (!task.stopping && now - task.since > opts.task_timeout) {
          task.stopping = true;
          stuck.push_back(task);
        }
    }
    for (auto& task : stuck) {
      {
        std::lock_guard guard{st->mtx};
        st->watchdog_log.push_back(
          "'" + task.worker.name() + "' (pid "
          + std::to_string(task.worker.pid()) + ") ran '" + task.rel
          + "' for more than " + std::to_string(opts.task_timeout.count())
          + " ms: terminated, killed after its grace of "
          + std::to_string(opts.grace.count()) + " ms, replaced");
      }
      // Through the pool's supervisor: stopped by its shutdown spec (killed
      // after its grace), and replaced by the pool.
      task.worker.terminate();
    }
    if (now >= next_print) {
      next_print += period;
      if (tty) // rewritten in place, then the rest of the line cleared
        std::cout << '\r' << progress_text(*st, start) << "\x1b[K"
                  << std::flush;
      else
        troupe::print("progress:", progress_text(*st, start));
    }
  }
  if (tty)
    std::cout << "\r\x1b[K" << std::flush;
}

// -- report
// ---------------------------------------------------------------------

struct totals {
  std::vector<std::pair<std::string, std::int64_t>> words; // by count desc
  std::size_t files = 0;
};

totals sum_counts(const results& state) {
  totals out;
  out.files = state.files.size();
  out.words = state.totals.items();
  std::sort(out.words.begin(), out.words.end(), [](auto& x, auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  return out;
}

std::string rate_text(double rate) {
  std::ostringstream out;
  out << rate;
  return out.str();
}

std::string with_commas(std::uint64_t n) {
  auto digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0)
      out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

void write_report(const fs::path& path, const run_state& st, const totals& sum,
                  const results& state) {
  std::ofstream out{path};
  out << "accounting\tproduced\t" << st.produced << "\tprocessed\t"
      << st.processed << "\tfailed\t" << st.failed << "\tskipped\t"
      << st.skipped << '\n';
  for (auto& key : state.files.keys())
    out << "ok\t" << key << '\n';
  for (auto& [key, why] : state.failures.items())
    out << "failed\t" << key << '\t' << why << '\n';
  for (auto& [w, n] : sum.words)
    out << "word\t" << w << '\t' << n << '\n';
  out.close();
  if (!out)
    throw std::runtime_error("cannot write the report " + path.string());
}

// -- the run
// --------------------------------------------------------------------

struct temp_dir {
  fs::path path;
  ~temp_dir() {
    std::error_code ec;
    if (!path.empty())
      fs::remove_all(path, ec);
  }
};

fs::path make_temp_dir() {
  auto pattern
    = (fs::temp_directory_path() / "troupe-wordcount-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("cannot create a temporary folder in "
                             + fs::temp_directory_path().string());
  return pattern;
}

int run(troupe::runtime& rt, const options& opts) {
  // The input: checked before anything starts, so a typo costs nothing.
  temp_dir scratch;
  fs::path input;
  std::string identity;
  if (opts.input) {
    input = *opts.input;
    std::error_code ec;
    auto status = fs::status(input, ec);
    if (!fs::exists(status)) {
      std::cerr << "troupe-wordcount: input folder '" << input.string()
                << "' does not exist\n";
      return 1;
    }
    if (!fs::is_directory(status)) {
      std::cerr << "troupe-wordcount: input '" << input.string()
                << "' is not a folder\n";
      return 1;
    }
    if (fs::directory_iterator probe{input, ec}; ec) {
      std::cerr << "troupe-wordcount: input folder '" << input.string()
                << "' cannot be read: " << ec.message() << '\n';
      return 1;
    }
    identity = fs::canonical(input).string();
  } else {
    scratch.path = make_temp_dir();
    input = scratch.path / "input";
    flagship::generate_sample(input, opts.files, opts.seed);
    identity = "sample:files=" + std::to_string(opts.files)
               + ":seed=" + std::to_string(opts.seed);
  }
  if (opts.state && fs::is_directory(*opts.state)) {
    std::cerr << "troupe-wordcount: state '" << opts.state->string()
              << "' is a folder; give a file path\n";
    return 1;
  }
  if (!opts.state && scratch.path.empty())
    scratch.path = make_temp_dir();
  auto state_path = opts.state ? *opts.state : scratch.path / "wordcount.state";

  auto st = std::make_shared<run_state>();
  auto start = clock_type::now();
  bool tty = ::isatty(STDOUT_FILENO) != 0;

  troupe::print("troupe-wordcount:",
                opts.input
                  ? input.string()
                  : "a generated sample of " + std::to_string(opts.files)
                      + " files (seed " + std::to_string(opts.seed) + ")");
  troupe::print(
    "  ", opts.workers,
    opts.process_workers ? "workers (OS processes), queue capacity"
                         : "workers, queue capacity",
    opts.queue_capacity, "- state",
    state_path.string()
      + (opts.chaos > 0 ? " - chaos " + rate_text(opts.chaos) : ""));

  // The durable manager: a supervised state actor; its file keeps every
  // acknowledged write through crashes of the actor and of the program.
  std::optional<troupe::manager> mgr;
  try {
    mgr.emplace(rt,
                troupe::manager_options{
                  .name = "results",
                  .state_path = state_path,
                  .on_event = [st](const troupe::supervisor_event& ev) {
                    if (ev.what == troupe::supervisor_event::kind::restarted)
                      st->restarts.fetch_add(1);
                  }});
  } catch (const std::exception& e) {
    std::cerr << "troupe-wordcount: cannot open the state file '"
              << state_path.string() << "': " << e.what() << '\n';
    return 1;
  }
  auto meta = mgr->dict<std::string, std::string>({.name = "meta"});
  results state{
    .files = mgr->dict<std::string, std::int64_t>({.name = "files"}),
    .totals = mgr->dict<std::string, std::int64_t>({.name = "totals"}),
    .failures = mgr->dict<std::string, std::string>({.name = "failures"})};
  if (auto owner = meta.try_get("input"); owner && *owner != identity) {
    std::cerr << "troupe-wordcount: the state file '" << state_path.string()
              << "' belongs to another input (" << *owner
              << "); give another --state\n";
    return 1;
  }
  meta.set("input", identity);
  auto done = std::make_shared<std::unordered_set<std::string>>();
  for (auto& key : state.files.keys())
    done->insert(key);
  auto failed_before = std::make_shared<std::unordered_set<std::string>>();
  for (auto& key : state.failures.keys())
    failed_before->insert(key);
  if (!done->empty())
    troupe::print("  resuming:", done->size(),
                  "files were counted by an earlier run and are skipped");

  // The supervised worker fleet. Chaos makes workers fail often: allow it
  // (the default intensity, 2 * workers + 1 in 5 s, is for real faults).
  troupe::pool pool{
    rt,
    {.processes = static_cast<std::size_t>(opts.workers),
     .isolation = opts.process_workers ? troupe::isolation::os_process
                                       : troupe::isolation::thread,
     // OS-process workers: the dispatcher retries (see submit_to_process).
     .max_retries = opts.process_workers ? 0 : opts.retries,
     .restarts
     = troupe::restart_limit{.intensity = opts.chaos > 0 ? 100 + opts.workers
                                                         : 2 * opts.workers + 1,
                             .period = 10s},
     .shutdown = opts.grace,
     .name = "fleet",
     .on_event = [st](const troupe::supervisor_event& ev) {
       using kind = troupe::supervisor_event::kind;
       if (ev.what == kind::restarted) {
         st->restarts.fetch_add(1);
       } else if (ev.what == kind::child_exited) {
         st->worker_failures.fetch_add(1);
         std::lock_guard guard{st->mtx};
         ++st->exit_reasons[ev.reason.empty()
                              ? "exit code "
                                  + std::to_string(ev.exitcode.value_or(0))
                              : reason_of(ev.reason)];
       } else if (ev.what == kind::intensity_exceeded) {
         st->warn("the pool's supervisor gave up: " + ev.reason);
       }
     }}};

  troupe::queue<work_item> work{
    rt, {.capacity = static_cast<std::size_t>(opts.queue_capacity)}};
  troupe::queue<outcome> outcomes{rt};
  // In flight: enough to keep the workers busy while the writer's batch
  // waits for the disk (a sync takes milliseconds, a file microseconds).
  auto window = static_cast<std::ptrdiff_t>(64 * opts.workers);
  std::counting_semaphore<> slots{window};
  troupe::event stop_monitor{rt};

  troupe::process reader{rt, {.name = "reader"}, read_folder, work, input, done,
                         st};
  troupe::process writer{
    rt,
    {.name = "writer"},
    write_outcomes,
    outcomes,
    state,
    *mgr,
    st,
    std::shared_ptr<const std::unordered_set<std::string>>{failed_before},
    &slots,
    opts.chaos > 0};
  troupe::process watch{
    rt, {.name = "monitor"}, monitor, stop_monitor, st, opts, start, tty};
  reader.start();
  writer.start();
  watch.start();

  // The dispatcher: the bounded queue into the pool, `window` in flight.
  dispatcher dispatch{pool, opts, st, outcomes};
  for (;;) {
    slots.acquire();
    std::optional<work_item> item;
    try {
      item = work.get();
    } catch (const troupe::closed&) {
      slots.release();
      break;
    }
    dispatch.submit(std::move(*item));
  }
  for (std::ptrdiff_t i = 0; i < window; ++i)
    slots.acquire(); // every outcome recorded
  outcomes.close();
  writer.join();
  reader.join();
  stop_monitor.set();
  watch.join();
  auto elapsed = std::chrono::duration<double>(clock_type::now() - start);

  // The report.
  auto sum = sum_counts(state);
  auto produced = st->produced.load();
  auto processed = st->processed.load();
  auto failed = st->failed.load();
  troupe::print("progress:", progress_text(*st, start));
  if (produced == 0 && st->skipped == 0)
    troupe::print("no files under", input.string() + ": nothing to count");
  if (opts.top > 0 && !sum.words.empty()) {
    troupe::print("top", std::min<std::size_t>(opts.top, sum.words.size()),
                  "words of", sum.files, "files:");
    for (std::size_t i = 0;
         i < sum.words.size() && i < static_cast<std::size_t>(opts.top); ++i) {
      std::ostringstream line;
      line << std::setw(4) << i + 1 << ". " << std::left << std::setw(16)
           << sum.words[i].first << std::right << std::setw(12)
           << sum.words[i].second;
      troupe::print(line.str());
    }
  }
  {
    auto secs = elapsed.count();
    std::ostringstream line;
    line << "throughput: " << processed << " files, " << with_commas(st->words)
         << " words, " << std::fixed << std::setprecision(1)
         << static_cast<double>(st->bytes) / 1e6 << " MB in "
         << std::setprecision(2) << secs << " s: " << std::setprecision(0)
         << static_cast<double>(processed) / secs << " files/s, "
         << std::setprecision(1) << static_cast<double>(st->bytes) / 1e6 / secs
         << " MB/s";
    troupe::print(line.str());
    // Where the time went: the workers' time (summed over them) reading
    // and counting, and the writer's waiting for the manager to record
    // its batches (durably).
    auto ms = [](std::int64_t ns) { return static_cast<double>(ns) / 1e6; };
    std::ostringstream split;
    split << "time: reading " << std::setprecision(0) << std::fixed
          << ms(st->read_ns) << " ms, counting " << ms(st->count_ns)
          << " ms (workers, summed); recording " << ms(st->record_ns)
          << " ms (writer, " << st->commits << " batches)";
    troupe::print(split.str());
  }
  troupe::print("supervision tree:");
  std::cout << troupe::supervision_snapshot(rt) << std::flush;
  if (opts.chaos > 0) {
    std::ostringstream line;
    line << "chaos: " << st->attempts << " attempts, faults injected:";
    auto list = [&](const auto& kinds) {
      for (std::size_t i = 0; i < kinds.size(); ++i) {
        auto k = static_cast<std::size_t>(kinds[i]);
        line << ' ' << fault_names[k] << ' ' << st->injected[k].load()
             << (i + 1 < kinds.size() ? "," : "");
      }
    };
    if (opts.process_workers)
      list(process_faults);
    else
      list(thread_faults);
    line << "; " << st->resubmitted << " resubmitted, " << st->worker_failures
         << " worker failures, " << mgr->incarnations() - 1
         << " manager restart(s)";
    troupe::print(line.str());
    std::lock_guard guard{st->mtx};
    for (auto& [why, n] : st->exit_reasons)
      troupe::print("  workers ended:", n, "x", why);
    auto& log = st->watchdog_log;
    for (std::size_t i = 0; i < log.size() && i < 5; ++i)
      troupe::print("  watchdog:", log[i]);
    if (log.size() > 5)
      troupe::print("  watchdog: ... and", log.size() - 5, "more stuck tasks");
  }
  {
    std::lock_guard guard{st->mtx};
    for (auto& w : st->warnings)
      troupe::print("warning:", w);
  }
  std::ostringstream acc;
  acc << "accounting: produced " << produced << " = processed " << processed
      << " + failed " << failed;
  if (st->skipped > 0)
    acc << " (and " << st->skipped << " skipped: counted by an earlier run)";
  troupe::print(acc.str());
  {
    std::lock_guard guard{st->mtx};
    for (auto& [why, files] : st->failures) {
      std::string list;
      for (std::size_t i = 0; i < files.size() && i < 5; ++i)
        list += (i > 0 ? ", " : "") + files[i];
      if (files.size() > 5)
        list += ", ...";
      troupe::print("  failed:", files.size(), "x", why, "-", list);
    }
  }
  troupe::print("state:", state_path.string(), "holds", sum.files,
                "counted files; manager", "'" + mgr->name() + "'",
                "incarnations",
                std::to_string(mgr->incarnations())
                  + (opts.state ? "" : " (temporary, removed)"));
  if (opts.report)
    write_report(*opts.report, *st, sum, state);

  pool.close();
  pool.join();
  mgr->shutdown();
  if (produced != processed + failed) {
    std::cerr << "troupe-wordcount: accounting does not balance: "
              << produced - processed - failed << " files unaccounted for\n";
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (flagship::wants_help(argc, argv)) {
    std::cout << flagship::usage(fs::path{argv[0]}.filename().string());
    return 0;
  }
  // The runtime reads its own options (CAF's and troupe's, all named
  // `category.name`, e.g. --troupe.terminate-grace=2s) and rejects options
  // it does not know; ours go after "--", which it leaves in args().
  // --help-runtime asks for its help.
  std::vector<char*> args{argv[0]};
  std::vector<char*> ours;
  static char help[] = "--help";
  static char dashes[] = "--";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    auto name = arg.substr(0, arg.find('='));
    if (arg == "--help-runtime")
      args.push_back(help);
    else if (name.starts_with("--") && name.find('.') != std::string_view::npos)
      args.push_back(argv[i]);
    else if (name == "--config-file" || name == "--dump-config")
      args.push_back(argv[i]);
    else
      ours.push_back(argv[i]);
  }
  bool runtime_help = std::find(args.begin(), args.end(), help) != args.end();
  if (!ours.empty() && !runtime_help) {
    args.push_back(dashes);
    args.insert(args.end(), ours.begin(), ours.end());
  }
  troupe::runtime rt{static_cast<int>(args.size()), args.data()};
  options opts;
  try {
    opts = flagship::parse_options(rt.args());
  } catch (const flagship::usage_error& e) {
    std::cerr << "troupe-wordcount: " << e.what() << '\n';
    return 2;
  }
  try {
    if (opts.generate) {
      flagship::generate_sample(*opts.generate, opts.files, opts.seed);
      troupe::print("wrote", opts.files, "text files and one binary file to",
                    opts.generate->string());
      return 0;
    }
    return run(rt, opts);
  } catch (const std::exception& e) {
    std::cerr << "troupe-wordcount: " << e.what() << '\n';
    return 1;
  }
}
