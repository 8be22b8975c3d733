// select: one process serves a job queue, a control pipe and a stop event
// at once, as a Python server would with multiprocessing.connection.wait()
// over queue readers, pipes and sentinels. select() returns the index of
// the first ready channel in argument order, so jobs go before control
// messages and both before the stop: the output is the same every run.

#include <string>

#include <troupe/troupe.hpp>

namespace {

using namespace std::chrono_literals;
using troupe::print;

void serve(troupe::queue<int> jobs,
           troupe::read_connection<std::string> control,
           troupe::event stop_event) {
  for (;;) {
    if (auto which = troupe::select(100ms, jobs, control, stop_event)) {
      if (*which == 0) {
        if (auto job = jobs.try_get())
          print("job", *job, "->", *job * *job);
      } else if (*which == 1) {
        if (auto cmd = control.try_recv())
          print("control:", *cmd);
      } else {
        print("stop");
        return;
      }
    }
    // Empty: 100 ms without anything ready; a real server would do its
    // housekeeping here.
  }
}

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  troupe::queue<int> jobs{rt};
  auto [control_in, control_out] = troupe::one_way_pipe<std::string>{rt};
  troupe::event stop_event{rt};
  troupe::process server{rt,   {.name = "server"}, serve,
                         jobs, control_in,         stop_event};
  server.start();
  for (int job = 1; job <= 3; ++job)
    jobs.put(job);
  control_out.send("reload");
  stop_event.set();
  server.join();
  print("server exit code:", *server.exitcode());
}
