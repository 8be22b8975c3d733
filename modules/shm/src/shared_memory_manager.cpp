#include "troupe/shared_memory_manager.hpp"

#include <troupe/error.hpp>

namespace troupe {

shared_memory_manager::~shared_memory_manager() {
  shutdown();
}

void shared_memory_manager::check_open() const {
  if (shut_down_)
    throw state_error("shared_memory_manager: shut down, it makes no more "
                      "blocks");
}

troupe::shared_memory shared_memory_manager::shared_memory(std::size_t size) {
  std::lock_guard guard{mtx_};
  check_open();
  troupe::shared_memory block{size};
  held_.push_back(block);
  return block;
}

troupe::shareable_list shared_memory_manager::shareable_list(
  std::initializer_list<troupe::shareable_list::item> items) {
  return keep(troupe::shareable_list{items});
}

troupe::shareable_list shared_memory_manager::keep(troupe::shareable_list sl) {
  std::lock_guard guard{mtx_};
  check_open();
  held_.push_back(sl.shm());
  return sl;
}

void shared_memory_manager::shutdown() noexcept {
  std::vector<troupe::shared_memory> going;
  {
    std::lock_guard guard{mtx_};
    shut_down_ = true;
    going.swap(held_);
  }
}

std::size_t shared_memory_manager::blocks() const {
  std::lock_guard guard{mtx_};
  return held_.size();
}

} // namespace troupe
