#include "troupe/runtime.hpp"

#include <memory>
#include <string>
#include <vector>

#include "troupe/process.hpp"

#include "detail/runtime_impl.hpp"

namespace troupe {

runtime::runtime() : runtime(runtime_options{}) {}

runtime::runtime(runtime_options opts)
  : impl_(std::make_shared<detail::runtime_impl>(opts, 0, nullptr)) {
  impl_->start();
}

runtime::runtime(int argc, char** argv, runtime_options defaults)
  : impl_(std::make_shared<detail::runtime_impl>(defaults, argc, argv)) {
  impl_->start();
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
