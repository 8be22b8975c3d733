#include "troupe/runtime.hpp"

#include <memory>
#include <string>
#include <vector>

#include "troupe/ext/runtime_hooks.hpp"
#include "troupe/process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options opts)
  : impl_(std::make_shared<detail::runtime_impl>(opts, 0, nullptr)) {
  start();
}

runtime::runtime(int argc, char** argv, runtime_options defaults)
  : impl_(std::make_shared<detail::runtime_impl>(defaults, argc, argv)) {
  start();
}

void runtime::start() {
  impl_->start();
  try {
    detail::run_start_hooks(*this);
  } catch (...) {
    impl_->shutdown(); // the destructor does not run for a failed constructor
    throw;
  }
}

runtime::~runtime() {
  impl_->shutdown();
}

caf::actor_system& runtime::system() {
  return impl_->system();
}

const runtime_options& runtime::options() const {
  return impl_->options();
}

const std::vector<std::string>& runtime::args() const {
  return impl_->args();
}

std::vector<process> runtime::active_processes() const {
  std::vector<process> result;
  for (auto& st : impl_->active())
    result.push_back(detail::process_access::make(st));
  return result;
}

} // namespace troupe
