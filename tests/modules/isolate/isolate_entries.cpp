#include "isolate_entries.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <spawn.h>
#include <unistd.h>

#include <troupe/this_process.hpp>

extern char** environ; // NOLINT(readability-redundant-declaration)

namespace isolate_test {

namespace tp = troupe::this_process;
using namespace std::chrono_literals;

void spawns_grandchild(std::string dir) {
  pid_t grandchild = 0;
  char sleep_path[] = "/bin/sleep";
  char seconds[] = "60";
  char* argv[] = {sleep_path, seconds, nullptr};
  if (::posix_spawn(&grandchild, sleep_path, nullptr, nullptr, argv, environ)
      != 0)
    throw std::runtime_error("cannot start /bin/sleep");
  auto tmp = dir + "/pids.tmp";
  std::ofstream{tmp} << ::getpid() << ' ' << grandchild << '\n';
  std::filesystem::rename(tmp, dir + "/pids");
  for (;;)
    tp::sleep_for(1s);
}

void sleeps_for(int ms) {
  tp::sleep_for(std::chrono::milliseconds{ms});
}

namespace {

void append(const std::string& log, const std::string& line) {
  std::ofstream{log, std::ios::app} << line << '\n';
}

} // namespace

void logged_worker(std::string log, std::string id) {
  auto tag = id + " " + std::to_string(::getpid());
  append(log, "start " + tag);
  int cmd = 0;
  try {
    cmd = tp::receive<int>();
  } catch (const troupe::terminated&) {
    append(log, "stop " + tag);
    throw;
  }
  if (cmd == 1)
    throw std::runtime_error("boom");
  if (cmd == 2)
    std::raise(SIGSEGV);
}

void spins(std::string ready) {
  if (!ready.empty())
    std::ofstream{ready} << "spinning\n";
  std::atomic<unsigned> n{0};
  for (;;)
    n.fetch_add(1, std::memory_order_relaxed);
}

} // namespace isolate_test
