#pragma once
// One mapped memfd, shared by the handles of one OS process.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>

namespace troupe::shm::detail {

class publication; // publish.cpp

struct block {
  int fd = -1;
  std::byte* addr = nullptr;
  std::size_t size = 0;
  std::string name;
  std::mutex mtx;                      // guards `served`
  std::unique_ptr<publication> served; // while published

  block() = default;
  block(const block&) = delete;
  block& operator=(const block&) = delete;
  ~block();
};

/// Maps `fd` (owned from now on) after checking that it is a block a peer
/// cannot resize (sealed against shrinking and growing) of at least `size`
/// bytes. Throws `value_error` saying what is wrong, closing `fd`.
std::shared_ptr<block> adopt(int fd, std::size_t size, std::string name);

/// Validates a block name (see shared_memory's constructor).
void check_name(const std::string& name);

} // namespace troupe::shm::detail
