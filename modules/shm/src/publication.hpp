#pragma once
// Serving a block to `shared_memory::attach(name)` from other programs of
// the same user: an abstract Unix socket named after the block, answered
// by a thread of its own that checks each peer's uid (SO_PEERCRED) before
// it passes the descriptor.

#include <cstddef>
#include <string>
#include <thread>

namespace troupe::shm::detail {

/// The socket address for a block name (abstract namespace).
std::string socket_name(const std::string& block_name);

class publication {
public:
  /// Binds the socket (`value_error` if the name is taken) and starts
  /// serving a duplicate of `fd`.
  publication(const std::string& name, int fd, std::size_t size);
  ~publication(); // stops serving; joins the thread
  publication(const publication&) = delete;
  publication& operator=(const publication&) = delete;

private:
  void serve();

  int listen_fd_ = -1;
  int stop_fd_ = -1; // an eventfd that ends serve()
  int fd_ = -1;      // the block, duplicated
  std::size_t size_ = 0;
  std::string name_;
  std::thread thread_;
};

} // namespace troupe::shm::detail
