// troupe::pool, the facade: checks the options, resolves the defaults and
// hands every call to the pool's core.

#include "troupe/pool/pool.hpp"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "troupe/ext/describe.hpp"
#include "troupe/process.hpp"
#include "troupe/runtime.hpp"

namespace troupe::pooled::detail {

namespace {

std::atomic<std::uint64_t> pool_counter{0};

} // namespace

} // namespace troupe::pooled::detail

namespace troupe {

namespace isolation {

constinit const isolation_mode thread{nullptr, "thread"};

} // namespace isolation

pool::pool(runtime& rt, pool_options opts)
  : pool(rt, entry_init{}, std::move(opts)) {}

pool::pool(runtime& rt, entry_init init, pool_options opts) {
  if (opts.max_retries < 0)
    throw value_error("pool: max_retries must not be negative");
  if (opts.shutdown.count() < 0)
    throw value_error("pool: shutdown must not be negative");
  pooled::detail::pool_settings s;
  s.name = opts.name.empty()
             ? "Pool-" + std::to_string(++pooled::detail::pool_counter)
             : std::move(opts.name);
  s.processes = opts.processes != 0
                  ? opts.processes
                  : std::max(1U, std::thread::hardware_concurrency());
  s.maxtasksperchild = opts.maxtasksperchild;
  s.max_retries = opts.max_retries;
  s.make_host = opts.isolation.make_host;
  if (s.make_host != nullptr && opts.initializer && init.entry.empty())
    throw value_error(
      "pool '" + s.name
      + "': its workers are OS processes (isolation::os_process), where "
        "only a registered entry point can run: give the initializer as "
        "troupe::entry<init> (TROUPE_ENTRY(init)), with its arguments");
  s.initializer = std::move(opts.initializer);
  s.initializer_entry = std::move(init.entry);
  s.initializer_calls = std::move(init.calls);
  s.shutdown = opts.shutdown;
  s.on_callback_error = std::move(opts.on_callback_error);
  // Without a limit: 2 * processes + 1 restarts in 5 s.
  auto limit = opts.restarts.value_or(
    restart_limit{.intensity = 2 * static_cast<int>(s.processes) + 1});
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  limit = limit.with(opts.intensity, opts.period);
#pragma GCC diagnostic pop
  limit.check("pool '" + s.name + "'");
  core_ = std::make_shared<pooled::detail::pool_core>(std::move(s));
  core_->start(rt, std::move(opts.on_event), limit, opts.shutdown);
}

pool::~pool() {
  try {
    core_->terminate();
    core_->join();
  } catch (const std::exception& e) {
    std::cerr << "troupe: ~pool: " << e.what() << '\n';
  }
}

void pool::close() {
  core_->close();
}

void pool::terminate() {
  core_->terminate();
}

void pool::join() {
  core_->join();
}

std::vector<process> pool::workers() const {
  return core_->workers();
}

process pool::supervisor() const {
  return core_->supervisor_process();
}

std::size_t pool::processes() const noexcept {
  return core_->settings().processes;
}

bool pool::broken() const noexcept {
  return core_->phase() == pooled::detail::pool_phase::broken;
}

std::function<void(std::exception_ptr)> pool::callback_reporter() const {
  return [weak = std::weak_ptr<pooled::detail::pool_core>{core_}](
           std::exception_ptr e) {
    if (auto core = weak.lock())
      core->report_callback_error(std::move(e));
    else
      std::cerr << "troupe: a pool callback threw: "
                << ext::describe_exception(e) << '\n';
  };
}

} // namespace troupe
