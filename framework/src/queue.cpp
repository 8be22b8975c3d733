#include "troupe/queue.hpp"

#include <string>

namespace troupe::detail {

// The failure paths of the queue handles' puts and gets: out of line, so
// that each instantiation of `queue<T>` inlines only the test for success.

void throw_put_failed(status s, std::size_t capacity, overflow policy,
                      bool timed) {
  if (s == status::closed)
    throw ::troupe::closed("put(): the queue is closed; no item can be "
                           "put after close()");
  auto cap = std::to_string(capacity);
  if (policy == overflow::fail)
    throw full("put(): the queue is full (capacity " + cap
               + ") and its overflow policy is fail, so puts never wait; "
                 "choose overflow::block to wait");
  if (timed)
    throw full("put(): the queue stayed full (capacity " + cap
               + ") for the whole timeout; let consumers catch up, raise "
                 "the capacity or wait longer");
  throw full("put(): the queue is full (capacity " + cap
             + "); call put(x) to wait for a free slot, or try_put(x) to go "
               "on without it");
}

void throw_get_failed(status s, bool timed, const char* what) {
  if (s == status::closed)
    throw ::troupe::closed(std::string{what}
                           + ": the queue is closed and drained; no item "
                             "will come");
  if (timed)
    throw empty(std::string{what} + ": no item arrived within the timeout");
  throw empty(std::string{what}
              + ": the queue is empty; call get() to wait for an item, or "
                "try_get() to go on without one");
}

} // namespace troupe::detail
