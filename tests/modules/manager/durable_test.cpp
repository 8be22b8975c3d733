#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/serialization/durable_store.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;
using troupe::test::eventually;
namespace fs = std::filesystem;
using troupe::serialization::on_corrupt;
using troupe::serialization::state_file_error;

namespace {

struct counter {
  int n = 0;

  void add(int x) {
    n += x;
  }

  int get() const {
    return n;
  }

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& n;
  }
};

struct not_serializable {
  int x = 0;
};

static_assert(troupe::managed::durable_value<counter>);
static_assert(
  troupe::managed::durable_value<std::map<std::string, std::vector<int>>>);
static_assert(
  troupe::managed::durable_value<std::optional<std::pair<int, std::string>>>);
static_assert(!troupe::managed::durable_value<not_serializable>);
static_assert(!troupe::managed::durable_value<std::vector<not_serializable>>);

/// A fresh directory per test, removed afterwards.
class durable : public ::testing::Test {
protected:
  void SetUp() override {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_
      = fs::temp_directory_path()
        / ("troupe-manager-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = dir_ / "state";
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  troupe::manager_options opts(on_corrupt c = on_corrupt::refuse) {
    return {.state_path = path_,
            .on_corrupt = c,
            .on_event = [](const troupe::supervisor_event&) {}};
  }

  void write_file(const fs::path& p, const std::string& bytes) {
    std::ofstream out{p, std::ios::binary | std::ios::trunc};
    out << bytes;
  }

  /// Expects opening a manager on the state path to fail naming `file`.
  void expect_refused(const fs::path& file, const std::string& problem) {
    troupe::runtime rt;
    try {
      troupe::manager mgr{rt, opts()};
      FAIL() << "the manager started on a bad state file";
    } catch (const state_file_error& e) {
      std::string what = e.what();
      EXPECT_NE(what.find(file.string()), std::string::npos) << what;
      EXPECT_NE(what.find(problem), std::string::npos) << what;
    }
  }

  std::vector<fs::path> set_aside() {
    std::vector<fs::path> out;
    for (auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().find(".corrupt-") != std::string::npos)
        out.push_back(e.path());
    return out;
  }

  fs::path dir_;
  fs::path path_;
};

TEST_F(durable, acknowledged_writes_survive_a_new_runtime) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, opts()};
    mgr.register_type<counter>("Counter");
    auto d = mgr.dict<std::string, int>({.name = "stock"});
    auto l = mgr.list<std::string>({"a"}); // list-1
    auto v = mgr.value<double>({.name = "pi"}, 3.0);
    auto ns = mgr.name_space({.name = "conf"});
    auto c = mgr.make<counter>("Counter"); // Counter-1
    d.set("apples", 3);
    d.set("pears", 1);
    d.erase("pears");
    d.update("kiwis", [](int x) { return x + 7; });
    l.extend({"b", "c"});
    l.reverse();
    l.pop(0);
    v.set(3.14);
    ns.set("host", std::string{"example.org"});
    ns.set("port", 8080);
    ns.erase("port");
    ns.set("retries", 3);
    c.call(&counter::add, 40);
    c.call(&counter::add, 2);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  EXPECT_EQ(mgr.warning(), "");
  mgr.register_type<counter>("Counter");
  auto d = mgr.dict<std::string, int>({.name = "stock"});
  auto l = mgr.list<std::string>({"ignored"});
  auto v = mgr.value<double>({.name = "pi"}, 0.0);
  auto ns = mgr.name_space({.name = "conf"});
  auto c = mgr.make<counter>("Counter");
  EXPECT_EQ(d.items(), (std::vector<std::pair<std::string, int>>{
                         {"apples", 3}, {"kiwis", 7}}));
  EXPECT_EQ(l.snapshot(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(v.get(), 3.14);
  EXPECT_EQ(ns.get<std::string>("host"), "example.org");
  EXPECT_EQ(ns.get<int>("retries"), 3);
  EXPECT_FALSE(ns.contains("port"));
  EXPECT_EQ(c.call(&counter::get), 42);
}

TEST_F(durable, a_crash_recovers_the_state_from_the_file) {
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  auto d = mgr.dict<int, int>({.name = "squares"});
  for (int i = 0; i < 100; ++i)
    d.set(i, i * i);
  mgr.inject_failure("crash with a state file");
  EXPECT_EQ(d.size(), 100u);
  EXPECT_EQ(d.get(9), 81);
  EXPECT_EQ(mgr.incarnations(), 2);
  d.set(100, 10000);
  mgr.shutdown();
  troupe::manager again{rt, opts()};
  EXPECT_EQ((again.dict<int, int>({.name = "squares"}).size()), 101u);
}

TEST_F(durable, concurrent_writers_across_crashes_lose_nothing_acknowledged) {
  constexpr int procs = 4;
  constexpr int each = 500;
  {
    troupe::runtime rt;
    auto o = opts();
    o.compact_after = 300; // snapshots happen during the run
    o.restarts.intensity = 100;
    troupe::manager mgr{rt, o};
    auto d = mgr.dict<std::string, int>({.name = "hits"});
    std::vector<troupe::process> ps;
    for (int i = 0; i < procs; ++i) {
      ps.emplace_back(
        rt,
        [](troupe::managed::dict<std::string, int> hits, int me) {
          for (int k = 0; k < each; ++k) {
            hits.update("all", [](int x) { return x + 1; });
            hits.set("p" + std::to_string(me), k + 1);
          }
        },
        d, i);
      ps.back().start();
    }
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(eventually([&] { return mgr.incarnations() == i + 1; }));
      mgr.inject_failure("crash " + std::to_string(i));
      troupe::this_process::sleep_for(5ms);
    }
    for (auto& p : ps) {
      ASSERT_TRUE(p.join(deadline));
      EXPECT_EQ(p.exitcode(), 0) << p.exit_reason();
    }
    EXPECT_EQ(d.get("all"), procs * each);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  auto d = mgr.dict<std::string, int>({.name = "hits"});
  EXPECT_EQ(d.get("all"), procs * each);
  for (int i = 0; i < procs; ++i)
    EXPECT_EQ(d.get("p" + std::to_string(i)), each);
}

TEST_F(durable, compaction_keeps_everything_and_unopened_objects) {
  {
    troupe::runtime rt;
    auto o = opts();
    o.compact_after = 10;
    troupe::manager mgr{rt, o};
    auto keep = mgr.list<int>({.name = "untouched"}, {1, 2, 3});
    auto v = mgr.value<int>({.name = "n"}, 0);
    for (int i = 0; i < 250; ++i)
      v.update([](int x) { return x + 1; });
  }
  {
    // Opens only `n`; `untouched` must survive this run's compactions.
    troupe::runtime rt;
    auto o = opts();
    o.compact_after = 10;
    troupe::manager mgr{rt, o};
    auto v = mgr.value<int>({.name = "n"}, 0);
    EXPECT_EQ(v.get(), 250);
    for (int i = 0; i < 50; ++i)
      v.update([](int x) { return x + 1; });
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  EXPECT_EQ(mgr.value<int>({.name = "n"}).get(), 300);
  EXPECT_EQ(mgr.list<int>({.name = "untouched"}).snapshot(),
            (std::vector<int>{1, 2, 3}));
}

TEST_F(durable, garbage_in_the_state_file_is_refused_naming_the_file) {
  write_file(path_, std::string(200, 'x'));
  expect_refused(path_, "not");
}

TEST_F(durable, an_empty_state_file_is_refused_naming_the_file) {
  write_file(path_, "");
  expect_refused(path_, "empty");
}

TEST_F(durable, a_truncated_state_file_is_refused_naming_the_file) {
  {
    troupe::runtime rt;
    auto o = opts();
    o.compact_after = 5; // so that a snapshot is written
    troupe::manager mgr{rt, o};
    auto l = mgr.list<std::string>({.name = "words"});
    for (int i = 0; i < 50; ++i)
      l.append("word " + std::to_string(i));
  }
  auto size = fs::file_size(path_);
  ASSERT_GT(size, 40u);
  fs::resize_file(path_, size - 7);
  expect_refused(path_, "truncated");
}

TEST_F(durable, a_foreign_store_file_is_refused_naming_the_file) {
  {
    // A valid store file, but not a manager's state.
    troupe::serialization::durable_store store{{.path = path_}, {}};
    store.compact("hello, not a manager");
  }
  expect_refused(path_, "not a troupe manager's state");
}

TEST_F(durable, a_fifo_at_the_state_path_is_refused_at_once_naming_it) {
  ASSERT_EQ(::mkfifo(path_.c_str(), 0644), 0);
  troupe::runtime rt;
  std::promise<std::string> done;
  auto result = done.get_future();
  std::thread opener{[&] {
    try {
      troupe::manager mgr{rt, opts(on_corrupt::start_empty)};
      done.set_value("");
    } catch (const state_file_error& e) {
      done.set_value(e.what());
    }
  }};
  if (result.wait_for(deadline) != std::future_status::ready) {
    ADD_FAILURE() << "the manager's constructor waits on the FIFO";
    ::close(::open(path_.c_str(), O_WRONLY | O_NONBLOCK)); // release it
  }
  opener.join();
  auto what = result.get();
  EXPECT_NE(what.find(path_.string() + " is a FIFO"), std::string::npos)
    << what;
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(path_))) << "left as it was";
  EXPECT_TRUE(set_aside().empty());
}

TEST_F(durable, damage_to_an_acknowledged_write_is_refused_not_dropped) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, opts()};
    auto d = mgr.dict<int, std::string>({.name = "d"});
    d.set(1, "first acknowledged value");
    d.set(2, "last acknowledged value");
  }
  auto journal = dir_ / "state.journal";
  std::string bytes(fs::file_size(journal), '\0');
  {
    std::ifstream in{journal, std::ios::binary};
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto at = bytes.find("last acknowledged value");
  ASSERT_NE(at, std::string::npos);
  bytes[at] ^= 0x04; // media damage to the last, acknowledged, write
  write_file(journal, bytes);
  expect_refused(journal, "acknowledged records are damaged");
}

TEST_F(durable, start_empty_keeps_a_bad_file_aside_and_says_so) {
  write_file(path_, std::string(100, '\x17'));
  troupe::runtime rt;
  troupe::manager mgr{rt, opts(on_corrupt::start_empty)};
  auto w = mgr.warning();
  EXPECT_NE(w.find(path_.string()), std::string::npos) << w;
  auto aside = set_aside();
  ASSERT_EQ(aside.size(), 1u);
  std::string kept(fs::file_size(aside[0]), '\0');
  std::ifstream in{aside[0], std::ios::binary};
  in.read(kept.data(), static_cast<std::streamsize>(kept.size()));
  EXPECT_EQ(kept, std::string(100, '\x17')) << "the bad file is kept as it was";
  auto d = mgr.dict<int, int>({.name = "fresh"});
  EXPECT_EQ(d.size(), 0u);
  d.set(1, 1);
  mgr.shutdown();
  troupe::manager again{rt, opts()};
  EXPECT_EQ((again.dict<int, int>({.name = "fresh"}).get(1)), 1);
}

TEST_F(durable, start_empty_sets_a_foreign_store_aside_too) {
  {
    troupe::serialization::durable_store store{{.path = path_}, {}};
    store.compact("someone else's data");
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, opts(on_corrupt::start_empty)};
  EXPECT_NE(mgr.warning().find("not a troupe manager's state"),
            std::string::npos)
    << mgr.warning();
  EXPECT_FALSE(set_aside().empty());
  auto v = mgr.value<int>({.name = "x"}, 5);
  EXPECT_EQ(v.get(), 5);
}

TEST_F(durable, a_type_that_cannot_be_serialized_is_refused) {
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  try {
    static_cast<void>(mgr.list<not_serializable>());
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("durable_value"), std::string::npos)
      << e.what();
  }
  auto ns = mgr.name_space();
  EXPECT_THROW(ns.set("x", not_serializable{}), troupe::value_error);
  EXPECT_FALSE(ns.contains("x"));
}

TEST_F(durable, reopening_an_object_as_another_type_is_an_error) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, opts()};
    mgr.dict<std::string, int>({.name = "x"}).set("a", 1);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, opts()};
  try {
    static_cast<void>(mgr.list<int>({.name = "x"}));
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("dict<"), std::string::npos) << what;
    EXPECT_NE(what.find(path_.string()), std::string::npos) << what;
  }
  EXPECT_EQ((mgr.dict<std::string, int>({.name = "x"}).get("a")), 1);
}

} // namespace
