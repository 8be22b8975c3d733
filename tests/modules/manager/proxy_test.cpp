#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

using pairs = std::vector<std::pair<std::string, int>>;

TEST(dict, set_get_contains_erase_size_keys_values_items) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  EXPECT_EQ(d.size(), 0u);
  d.set("b", 2);
  d.set("a", 1);
  d.set("c", 3);
  d.set("b", 20); // replacing keeps the insertion position
  EXPECT_EQ(d.get("b"), 20);
  EXPECT_EQ(d.get("zz", -1), -1);
  EXPECT_EQ(d.try_get("a"), std::optional<int>{1});
  EXPECT_EQ(d.try_get("zz"), std::nullopt);
  EXPECT_TRUE(d.contains("c"));
  EXPECT_FALSE(d.contains("zz"));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(d.values(), (std::vector<int>{20, 1, 3}));
  EXPECT_EQ(d.items(), (pairs{{"b", 20}, {"a", 1}, {"c", 3}}));
  EXPECT_TRUE(d.erase("a"));
  EXPECT_FALSE(d.erase("a"));
  EXPECT_EQ(d.items(), (pairs{{"b", 20}, {"c", 3}}));
  d.set("a", 7); // a re-inserted key goes to the end, as in Python
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "c", "a"}));
  d.clear();
  EXPECT_EQ(d.size(), 0u);
}

TEST(dict, get_of_a_missing_key_throws_key_error_naming_it) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({.name = "stock"});
  try {
    static_cast<void>(d.get("pears"));
    FAIL() << "no key_error";
  } catch (const troupe::key_error& e) {
    EXPECT_NE(std::string{e.what()}.find("'pears'"), std::string::npos);
    EXPECT_NE(std::string{e.what()}.find("stock"), std::string::npos);
  }
}

TEST(dict, erasing_many_keys_keeps_order_and_lookups_right) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<int, int>();
  for (int i = 0; i < 200; ++i)
    d.set(i, i * i);
  for (int i = 0; i < 200; i += 2)
    EXPECT_TRUE(d.erase(i));
  auto ks = d.keys();
  ASSERT_EQ(ks.size(), 100u);
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(ks[static_cast<std::size_t>(i)], 2 * i + 1);
  EXPECT_EQ(d.get(199), 199 * 199);
  EXPECT_FALSE(d.contains(198));
}

TEST(dict, update_is_atomic_and_starts_from_the_default_or_initial) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  EXPECT_EQ(d.update("n", [](int x) { return x + 1; }), 1);
  EXPECT_EQ(d.update("n", [](int x) { return x + 1; }), 2);
  EXPECT_EQ(d.update("m", 10, [](int x) { return x * 2; }), 20);
  EXPECT_EQ(d.get("n"), 2);
}

TEST(dict,
     an_update_function_that_throws_changes_nothing_and_reaches_the_caller) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  d.set("n", 5);
  EXPECT_THROW(
    d.update("n", [](int) -> int { throw std::out_of_range("nope"); }),
    std::out_of_range);
  EXPECT_EQ(d.get("n"), 5);
  EXPECT_EQ(mgr.incarnations(), 1) << "a caller's exception must not crash "
                                      "the manager";
}

TEST(dict, concurrent_updates_from_many_processes_are_exact) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  constexpr int procs = 8;
  constexpr int each = 2000;
  std::vector<troupe::process> ps;
  for (int i = 0; i < procs; ++i) {
    ps.emplace_back(
      rt,
      [](troupe::managed::dict<std::string, int> dd, int me) {
        for (int k = 0; k < each; ++k) {
          dd.update("total", [](int x) { return x + 1; });
          dd.update("p" + std::to_string(me), [](int x) { return x + 1; });
        }
      },
      d, i);
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(d.get("total"), procs * each);
  for (int i = 0; i < procs; ++i)
    EXPECT_EQ(d.get("p" + std::to_string(i)), each);
}

TEST(list, append_extend_at_set_size_reverse_pop_snapshot_clear) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({0, 1, 2});
  l.append(3);
  l.extend({4, 5});
  EXPECT_EQ(l.size(), 6u);
  EXPECT_EQ(l.at(0), 0);
  EXPECT_EQ(l.at(-1), 5);
  l.set(1, 10);
  l.set(-2, 40);
  EXPECT_EQ(l.snapshot(), (std::vector<int>{0, 10, 2, 3, 40, 5}));
  l.reverse();
  EXPECT_EQ(l.snapshot(), (std::vector<int>{5, 40, 3, 2, 10, 0}));
  EXPECT_EQ(l.pop(), 0);
  EXPECT_EQ(l.pop(0), 5);
  EXPECT_EQ(l.pop(-2), 2);
  EXPECT_EQ(l.snapshot(), (std::vector<int>{40, 3, 10}));
  l.clear();
  EXPECT_EQ(l.size(), 0u);
}

TEST(list, an_index_out_of_range_throws_index_error) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<std::string>({"a"});
  EXPECT_THROW(static_cast<void>(l.at(1)), troupe::index_error);
  EXPECT_THROW(static_cast<void>(l.at(-2)), troupe::index_error);
  EXPECT_THROW(l.set(5, "x"), troupe::index_error);
  EXPECT_EQ(l.pop(), "a");
  try {
    static_cast<void>(l.pop());
    FAIL() << "no index_error";
  } catch (const troupe::index_error& e) {
    EXPECT_NE(std::string{e.what()}.find("size 0"), std::string::npos);
  }
}

TEST(list, a_child_process_reverses_the_parents_list) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({0, 1, 2, 3});
  troupe::process p{rt, [](troupe::managed::list<int> ll) { ll.reverse(); }, l};
  p.start();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(l.snapshot(), (std::vector<int>{3, 2, 1, 0}));
}

TEST(value, get_set_update) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto v = mgr.value<int>(250);
  EXPECT_EQ(v.get(), 250);
  v.set(7);
  EXPECT_EQ(v.update([](int x) { return x * 6; }), 42);
  EXPECT_EQ(v.get(), 42);
  auto s = mgr.value<std::string>("hello");
  s.set("world");
  EXPECT_EQ(s.get(), "world");
}

TEST(name_space, fields_of_any_type) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto ns = mgr.name_space();
  ns.set("x", 1);
  ns.set("y", std::string{"why"});
  EXPECT_EQ(ns.get<int>("x"), 1);
  EXPECT_EQ(ns.get<std::string>("y"), "why");
  EXPECT_EQ(ns.get<int>("z", 9), 9);
  EXPECT_TRUE(ns.contains("x"));
  EXPECT_EQ(ns.fields(), (std::vector<std::string>{"x", "y"}));
  EXPECT_THROW(static_cast<void>(ns.get<double>("x")), troupe::value_error);
  EXPECT_THROW(static_cast<void>(ns.get<int>("nope")), troupe::key_error);
  ns.set("x", 2.5); // a field may change its type
  EXPECT_EQ(ns.get<double>("x"), 2.5);
  EXPECT_TRUE(ns.erase("x"));
  EXPECT_FALSE(ns.erase("x"));
  EXPECT_FALSE(ns.contains("x"));
}

TEST(manager, named_objects_are_shared_and_typed) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto a = mgr.dict<std::string, int>({.name = "stock"}, {{"apples", 3}});
  auto b = mgr.dict<std::string, int>({.name = "stock"}, {{"pears", 1}});
  EXPECT_EQ(b.name(), "stock");
  EXPECT_EQ(b.items(), (pairs{{"apples", 3}})) << "initial contents apply "
                                                  "only at creation";
  a.set("kiwis", 2);
  EXPECT_EQ(b.get("kiwis"), 2);
  EXPECT_THROW(static_cast<void>(mgr.list<int>({.name = "stock"})),
               troupe::value_error);
  auto u1 = mgr.dict<std::string, int>();
  auto u2 = mgr.dict<std::string, int>();
  EXPECT_NE(u1.name(), u2.name());
}

TEST(manager, managed_queue_lock_and_event_are_the_frameworks_found_by_name) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto q1 = mgr.queue<int>({.name = "jobs"}, {.capacity = 4});
  auto q2 = mgr.queue<int>({.name = "jobs"});
  EXPECT_TRUE(q1 == q2);
  EXPECT_EQ(q2.capacity(), 4u);
  troupe::process p{rt, [](troupe::queue<int> q) { q.put(41); }, q2};
  p.start();
  EXPECT_EQ(q1.get(deadline), 41);
  ASSERT_TRUE(p.join(deadline));
  EXPECT_THROW(static_cast<void>(mgr.queue<std::string>({.name = "jobs"})),
               troupe::value_error);

  auto l1 = mgr.lock({.name = "books"});
  auto l2 = mgr.lock({.name = "books"});
  EXPECT_TRUE(l1 == l2);
  l1.acquire();
  EXPECT_FALSE(l2.acquire(false)) << "the same lock, already held";
  l1.release();

  auto e1 = mgr.event({.name = "go"});
  auto e2 = mgr.event({.name = "go"});
  e1.set();
  EXPECT_TRUE(e2.is_set());
}

TEST(manager, after_shutdown_proxies_throw_manager_unavailable_at_once) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<int, int>();
  d.set(1, 1);
  mgr.shutdown();
  mgr.shutdown(); // idempotent
  EXPECT_FALSE(mgr.running());
  auto t0 = std::chrono::steady_clock::now();
  try {
    d.set(2, 2);
    FAIL() << "no manager_unavailable";
  } catch (const troupe::manager_unavailable& e) {
    EXPECT_NE(std::string{e.what()}.find("shut down"), std::string::npos);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST(manager, the_last_handle_shuts_it_down_and_proxies_outlive_it) {
  troupe::runtime rt;
  std::optional<troupe::managed::list<int>> l;
  {
    troupe::manager mgr{rt};
    auto copy = mgr;
    l = mgr.list<int>({1});
  }
  EXPECT_THROW(static_cast<void>(l->size()), troupe::manager_unavailable);
}

TEST(manager,
     a_blocking_call_wakes_with_terminated_when_its_process_is_stopped) {
  troupe::runtime rt;
  // The manager is down for long (backoff), so the child's call waits.
  troupe::manager mgr{
    rt,
    {.call_timeout = 30s,
     .backoff = troupe::backoff_options{.min = 60s, .max = 60s},
     .on_event = [](const auto&) {}}};
  auto d = mgr.dict<int, int>();
  mgr.inject_failure("down for a while");
  ASSERT_TRUE(troupe::test::eventually([&] { return !mgr.state_actor(); }));
  troupe::event started{rt};
  troupe::process p{rt,
                    [](troupe::managed::dict<int, int> dd, troupe::event ev) {
                      ev.set();
                      dd.set(1, 1);
                    },
                    d, started};
  p.start();
  ASSERT_TRUE(started.wait(deadline));
  p.terminate();
  ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(p.exitcode(), -15);
}

} // namespace
