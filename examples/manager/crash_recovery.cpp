// The manager crashes in the middle of a stream of writes, and nothing that
// was acknowledged is lost (issue 7's crash-recovery demo).
//
// A writer process appends 2000 entries to a durable list, one call each;
// a call returns once its entry is on disk. Halfway through, the main
// process makes the manager fail from inside (as a bug would). Its
// supervisor restarts it, the new incarnation reads the state file back,
// and the writer's calls, which waited meanwhile, go on. Python's manager
// would leave the writer with a BrokenPipeError and the list gone.
//
// The supervisor reports the crash and the restart on stderr.

#include <filesystem>
#include <string>

#include <unistd.h>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

namespace {

namespace fs = std::filesystem;
using troupe::print;

constexpr int total = 2000;

void writer(troupe::managed::list<std::string> ledger,
            troupe::value<int> acknowledged) {
  for (int i = 1; i <= total; ++i) {
    ledger.append("entry " + std::to_string(i)); // returns when durable
    acknowledged.set(i);
  }
  print("writer:", acknowledged.get(), "appends acknowledged");
}

/// Whether `xs` is exactly "entry 1" ... "entry <total>".
bool complete(const std::vector<std::string>& xs) {
  if (xs.size() != total)
    return false;
  for (int i = 0; i < total; ++i)
    if (xs[static_cast<std::size_t>(i)] != "entry " + std::to_string(i + 1))
      return false;
  return true;
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  auto dir = fs::temp_directory_path()
             / ("troupe-crash-recovery-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto path = dir / "ledger.state";

  {
    troupe::manager mgr{rt, {.name = "ledger", .state_path = path}};
    auto ledger = mgr.list<std::string>({.name = "ledger"});
    troupe::value<int> acknowledged{rt, 0};
    troupe::process w{rt, writer, ledger, acknowledged};
    w.start();
    while (acknowledged.get() < total / 2)
      troupe::this_process::sleep_for(std::chrono::milliseconds{1});
    mgr.inject_failure("crash in the middle of the stream");
    w.join();

    print("the manager crashed and was restarted:", mgr.incarnations(),
          "incarnations");
    auto entries = ledger.snapshot();
    print("ledger:", entries.size(), "entries,",
          complete(entries) ? "in order, none lost" : "DAMAGED");
  }

  // A new manager (as a new run of the program would) opens the same file.
  troupe::manager again{rt, {.state_path = path}};
  auto entries = again.list<std::string>({.name = "ledger"}).snapshot();
  print("reopened", path.filename().string() + ":", entries.size(),
        "entries, last '" + entries.back() + "',",
        complete(entries) ? "none lost" : "DAMAGED");
  again.shutdown();
  fs::remove_all(dir);
}
