// A rest_for_one pipeline: reader -> parser -> writer, each a process
// under one supervisor, joined by queues. Later stages depend on earlier
// ones, so when the parser fails on a malformed line, rest_for_one stops
// the writer (reverse order), then starts the parser and the writer again
// (in order); the reader, before it, is left alone. The queues outlive
// the processes, so the pipeline carries on where it stopped.

#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <troupe/troupe.hpp>

namespace {

using troupe::print;

/// A record: `name=value`, or the end of the input.
struct record {
  std::string name{};
  int value = 0;
  bool end = false;
};

const std::vector<std::string> input = {
  "apples=3", "pears=5", "plums", "cherries=12", "figs=two", "dates=4",
};

void reader(troupe::queue<std::string> lines) {
  for (const auto& line : input)
    lines.put(line);
  lines.put(""); // end of input
}

void parser(troupe::queue<std::string> lines, troupe::queue<record> records) {
  print("parser: started");
  for (;;) {
    auto line = lines.get();
    if (line.empty()) {
      records.put({.end = true});
      return;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("no '=' in line '" + line + "'");
    // std::stoi throws std::invalid_argument on "two".
    records.put(
      {.name = line.substr(0, eq), .value = std::stoi(line.substr(eq + 1))});
  }
}

void writer(troupe::queue<record> records, troupe::event done) {
  print("writer: started");
  for (;;) {
    auto r = records.get();
    if (r.end) {
      print("writer: end of input");
      done.set();
      return;
    }
    print("writer:", r.name, "=", r.value);
  }
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<std::string> lines{rt};
  troupe::queue<record> records{rt};
  troupe::event done{rt};
  // transient: a stage that finishes its input returns and stays down;
  // one that fails is restarted (with the stages after it).
  troupe::supervisor pipeline{
    rt,
    {.name = "pipeline",
     .strategy = troupe::strategy::rest_for_one,
     .restarts = {.intensity = 5},
     .on_event =
       [](const troupe::supervisor_event& ev) {
         using kind = troupe::supervisor_event::kind;
         if (ev.what == kind::child_exited && ev.exitcode != 0)
           print("supervisor:", ev.child, "failed:", ev.reason);
       }},
    {{.id = "reader",
      .start = troupe::start_process(reader, lines),
      .restart = troupe::restart::transient},
     {.id = "parser",
      .start = troupe::start_process(parser, lines, records),
      .restart = troupe::restart::transient},
     {.id = "writer",
      .start = troupe::start_process(writer, records, done),
      .restart = troupe::restart::transient}}};
  done.wait();
  pipeline.terminate(); // stops what still runs, in reverse order
  pipeline.join();
  std::cout << pipeline.tree();
}
