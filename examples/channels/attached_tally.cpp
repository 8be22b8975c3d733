// An event-based actor consumes a queue without a thread of its own: a
// producer process puts log lines (troupe::bytes) into a bounded queue, and
// attach_batched hands them to the actor in batches, at most `credit` items
// in flight, so the producer is held back when the actor falls behind. An
// empty line ends the stream; the actor then reports and quits.

#include <cstddef>
#include <string>

#include <caf/event_based_actor.hpp>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

// Counts the lines and bytes it is handed, a batch per message.
caf::behavior tally(caf::event_based_actor* self) {
  auto lines = std::make_shared<std::size_t>(0);
  auto bytes = std::make_shared<std::size_t>(0);
  return {[=](troupe::deliveries<troupe::bytes>& batch) {
    for (const troupe::bytes& line : batch) { // oldest first
      if (line.empty()) {
        print("tally:", *lines, "lines,", *bytes, "bytes");
        self->quit();
        return;
      }
      ++*lines;
      *bytes += line.size();
    }
  }};
}

void produce(troupe::queue<troupe::bytes> out, int n) {
  for (int i = 1; i <= n; ++i)
    out.put(troupe::bytes{"GET /item/" + std::to_string(i) + " 200"});
  out.put(troupe::bytes{}); // the end
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<troupe::bytes> lines{rt, {.capacity = 256}};
  auto counter = troupe::spawn(rt, {.name = "tally"}, tally);
  auto link
    = troupe::attach_batched(lines, counter, {.credit = 128, .max_batch = 32});
  troupe::process producer{rt, {.name = "producer"}, produce, lines, 10000};
  producer.start();
  producer.join();
  counter.join();
  print("producer exit code:", *producer.exitcode(),
        "- tally exit code:", *counter.exitcode());
}
