// A resource a module could offer, built on troupe/ext/ only: tickets that
// processes take and give back. A ticket is owned: whatever way its holder
// ends, the ticket comes back (the ownership hook), and a process waiting
// for one is woken when it is asked to stop (a wait that wakes on stop).

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <troupe/ext/exit_hook.hpp>
#include <troupe/ext/wait.hpp>
#include <troupe/troupe.hpp>

namespace {

class ticket_office {
public:
  explicit ticket_office(int tickets)
    : state_(std::make_shared<state>(tickets)) {}

  /// Takes a ticket for the calling process. Blocks until one is free;
  /// throws `troupe::terminated` if the process is asked to stop meanwhile.
  void take() {
    auto me = troupe::current_process();
    bool first = false;
    {
      std::unique_lock lk{state_->mtx};
      troupe::ext::wait(lk, state_->cv, [this] { return state_->free > 0; });
      --state_->free;
      auto [holding, fresh] = state_->held.try_emplace(me.pid(), 0);
      ++holding->second;
      first = fresh;
    }
    if (first) {
      // The first ticket of this process: what it holds comes back when it
      // ends. Registered outside the lock (it runs at once if the process
      // already ended); once its thread left, so that no ticket is reused
      // while a killed holder's thread may still use it. Weakly: the
      // office may close before its holders end.
      troupe::ext::on_exit(
        me,
        [weak = std::weak_ptr<state>{state_},
         pid = me.pid()](const troupe::ext::exit_info&) {
          if (auto st = weak.lock())
            st->give_back_all(pid);
        },
        troupe::ext::hook_timing::after_thread_left);
    }
  }

  /// Gives back one ticket of the calling process.
  void give_back() {
    auto pid = troupe::current_process().pid();
    {
      std::lock_guard guard{state_->mtx};
      auto i = state_->held.find(pid);
      if (i == state_->held.end() || i->second == 0)
        throw troupe::value_error("give_back(): this process holds none");
      --i->second;
      ++state_->free;
    }
    state_->cv.notify_one();
  }

  [[nodiscard]] int free() const {
    std::lock_guard guard{state_->mtx};
    return state_->free;
  }

private:
  struct state {
    explicit state(int tickets) : free(tickets) {}

    void give_back_all(troupe::pid_type pid) {
      {
        std::lock_guard guard{mtx};
        auto i = held.find(pid);
        if (i == held.end())
          return;
        free += i->second;
        held.erase(i);
      }
      cv.notify_all();
    }

    mutable std::mutex mtx;
    std::condition_variable cv;
    int free;
    std::map<troupe::pid_type, int> held; // tickets per holder
  };

  std::shared_ptr<state> state_;
};

} // namespace

int main(int argc, char** argv) {
  troupe::runtime rt{argc, argv};
  ticket_office office{1};

  // A holder that fails without giving its ticket back.
  troupe::process crasher{rt, {.name = "crasher"}, [&office] {
                            office.take();
                            throw std::runtime_error("crashed with a ticket");
                          }};
  crasher.start();
  crasher.join();
  troupe::print("crasher: exit code", *crasher.exitcode(),
                "- tickets free:", office.free());

  // A holder that keeps it until told, and a process waiting for it.
  troupe::event taken{rt};
  troupe::process holder{rt, {.name = "holder"}, [&office, taken]() mutable {
                           office.take();
                           taken.set();
                           troupe::this_process::receive<int>();
                         }};
  holder.start();
  taken.wait();
  troupe::process waiter{rt, {.name = "waiter"}, [&office] { office.take(); }};
  waiter.start();
  waiter.terminate(); // its wait wakes and throws `terminated`
  waiter.join();
  troupe::print("waiter: exit code", *waiter.exitcode(),
                "- tickets free:", office.free());

  holder.send(1); // returns, still holding its ticket
  holder.join();
  troupe::print("holder: exit code", *holder.exitcode(),
                "- tickets free:", office.free());
}
