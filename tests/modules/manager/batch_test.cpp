// Python's dict and list operations that take one call instead of two
// (pop, setdefault, popitem, update(items), insert, remove, index, count,
// sort, slices), dict merges, and batches: writes to several objects as one
// atomic, one-journal-entry operation.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/serialization/durable_store.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

using pairs = std::vector<std::pair<std::string, int>>;
using ints = std::vector<int>;

/// A fresh state path per test, removed afterwards.
class state_dir : public ::testing::Test {
protected:
  void SetUp() override {
    auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path()
           / ("troupe-batch-" + std::to_string(::getpid()) + "-"
              + info->test_suite_name() + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }

  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  troupe::manager_options durable() const {
    return {.state_path = dir_ / "state",
            .on_event = [](const troupe::supervisor_event&) {}};
  }

  fs::path dir_;
};

// -- dict operations of one call -------------------------------------------

TEST(dict_ops, pop_removes_and_returns_or_throws_key_error) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({}, {{"a", 1}, {"b", 2}});
  EXPECT_EQ(d.pop("a"), 1);
  EXPECT_FALSE(d.contains("a"));
  EXPECT_THROW(static_cast<void>(d.pop("a")), troupe::key_error);
  EXPECT_EQ(d.pop("a", -1), -1);
  EXPECT_EQ(d.pop("b", -1), 2);
  EXPECT_EQ(d.size(), 0u);
}

TEST(dict_ops, popitem_takes_the_last_inserted_pair_first) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({}, {{"a", 1}, {"b", 2}, {"c", 3}});
  d.set("b", 20); // replacing keeps b's position
  EXPECT_EQ(d.popitem(), (std::pair<std::string, int>{"c", 3}));
  EXPECT_EQ(d.popitem(), (std::pair<std::string, int>{"b", 20}));
  EXPECT_EQ(d.popitem(), (std::pair<std::string, int>{"a", 1}));
  try {
    static_cast<void>(d.popitem());
    FAIL() << "popitem() of an empty dict returned";
  } catch (const troupe::key_error& e) {
    EXPECT_NE(std::string{e.what()}.find("is empty"), std::string::npos);
  }
}

TEST(dict_ops, setdefault_sets_only_a_missing_key) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  EXPECT_EQ(d.setdefault("a", 1), 1);
  EXPECT_EQ(d.setdefault("a", 5), 1);
  EXPECT_EQ(d.items(), (pairs{{"a", 1}}));
}

TEST(dict_ops, update_from_pairs_puts_them_in_order) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({}, {{"a", 1}});
  d.update(pairs{{"b", 2}, {"a", 10}, {"c", 3}, {"b", 20}});
  EXPECT_EQ(d.items(), (pairs{{"a", 10}, {"b", 20}, {"c", 3}}));
  d.update(pairs{}); // nothing to do
  EXPECT_EQ(d.size(), 3u);
}

TEST(dict_ops, merge_adds_counts_as_counter_update_does) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto totals = mgr.dict<std::string, std::int64_t>();
  using counts = std::vector<std::pair<std::string, std::int64_t>>;
  totals.merge(counts{{"the", 3}, {"of", 1}}, std::plus<>{});
  totals.merge(counts{{"of", 2}, {"a", 5}, {"the", 1}}, std::plus<>{});
  EXPECT_EQ(totals.items(), (counts{{"the", 4}, {"of", 3}, {"a", 5}}));
}

TEST(dict_ops, a_merge_whose_function_throws_part_way_changes_nothing) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({}, {{"a", 1}, {"b", 2}});
  auto add_unless_negative = [](const int& cur, const int& x) {
    if (x < 0)
      throw std::invalid_argument("negative count");
    return cur + x;
  };
  EXPECT_THROW(d.merge(pairs{{"a", 5}, {"new", 1}, {"b", -1}, {"z", 1}},
                       add_unless_negative),
               std::invalid_argument);
  EXPECT_EQ(d.items(), (pairs{{"a", 1}, {"b", 2}}));
  d.set("c", 3); // the dict still works, in order
  EXPECT_EQ(d.items(), (pairs{{"a", 1}, {"b", 2}, {"c", 3}}));
}

TEST(dict_ops, erase_keys_erases_those_present_and_counts_them) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>({}, {{"a", 1}, {"b", 2}, {"c", 3}});
  EXPECT_EQ(d.erase_keys({"a", "zz", "c"}), 2u);
  EXPECT_EQ(d.items(), (pairs{{"b", 2}}));
}

// -- list operations of one call -------------------------------------------

TEST(list_ops, insert_clamps_its_index_as_python_does) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({1, 2, 3});
  l.insert(0, 0);
  l.insert(-1, 9);   // before the last item
  l.insert(100, 4);  // past the end: appended
  l.insert(-100, 7); // before the start: first
  EXPECT_EQ(l.snapshot(), (ints{7, 0, 1, 2, 9, 3, 4}));
}

TEST(list_ops, remove_index_and_count_find_items_by_value) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({5, 1, 5, 2, 5});
  EXPECT_EQ(l.count(5), 3u);
  EXPECT_EQ(l.count(9), 0u);
  EXPECT_EQ(l.index(5), 0u);
  EXPECT_EQ(l.index(5, 1, 5), 2u);
  EXPECT_EQ(l.index(5, -1, 100), 4u);
  EXPECT_THROW(static_cast<void>(l.index(1, 2, 5)), troupe::value_error);
  l.remove(5);
  EXPECT_EQ(l.snapshot(), (ints{1, 5, 2, 5}));
  try {
    l.remove(9);
    FAIL() << "remove of a missing item returned";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("not in list"), std::string::npos);
  }
}

TEST(list_ops, sort_is_stable_and_takes_an_order) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  using item = std::pair<int, std::string>;
  auto l = mgr.list<item>({{2, "a"}, {1, "b"}, {2, "c"}, {1, "d"}});
  auto by_key = [](const item& x, const item& y) { return x.first < y.first; };
  l.sort(by_key);
  EXPECT_EQ(l.snapshot(),
            (std::vector<item>{{1, "b"}, {1, "d"}, {2, "a"}, {2, "c"}}));
  auto by_key_desc
    = [](const item& x, const item& y) { return x.first > y.first; };
  l.sort(by_key_desc); // Python's reverse=True keeps equal items in order
  EXPECT_EQ(l.snapshot(),
            (std::vector<item>{{2, "a"}, {2, "c"}, {1, "b"}, {1, "d"}}));
  auto ints_list = mgr.list<int>({3, 1, 2});
  ints_list.sort();
  EXPECT_EQ(ints_list.snapshot(), (ints{1, 2, 3}));
  ints_list.sort(std::greater<>{});
  EXPECT_EQ(ints_list.snapshot(), (ints{3, 2, 1}));
}

TEST(list_ops, slices_read_replace_and_delete_ranges) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(l.slice(1, 3), (ints{1, 2}));
  EXPECT_EQ(l.slice(-2, 100), (ints{4, 5}));
  EXPECT_EQ(l.slice(4, 2), ints{});
  l.set_slice(1, 3, {10, 11, 12}); // l[1:3] = [10, 11, 12]
  EXPECT_EQ(l.snapshot(), (ints{0, 10, 11, 12, 3, 4, 5}));
  l.erase_slice(-3, -1); // del l[-3:-1]
  EXPECT_EQ(l.snapshot(), (ints{0, 10, 11, 12, 5}));
  l.set_slice(5, 5, {6}); // l[5:5] = [6] appends
  EXPECT_EQ(l.snapshot(), (ints{0, 10, 11, 12, 5, 6}));
}

TEST_F(state_dir, every_new_operation_is_journaled_and_replayed) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, durable()};
    auto d = mgr.dict<std::string, int>({.name = "d"},
                                        {{"a", 1}, {"b", 2}, {"c", 3}});
    auto l = mgr.list<int>({.name = "l"}, {5, 1, 5, 2});
    EXPECT_EQ(d.pop("a"), 1);
    EXPECT_EQ(d.popitem().first, "c");
    EXPECT_EQ(d.setdefault("x", 9), 9);
    d.update(pairs{{"y", 1}, {"b", 20}});
    d.merge(pairs{{"y", 1}, {"z", 4}}, std::plus<>{});
    EXPECT_EQ(d.erase_keys({"x", "nope"}), 1u);
    l.insert(1, 7);
    l.remove(5);
    l.sort();
    l.set_slice(0, 1, {8, 8});
    l.erase_slice(-1, 100);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, durable()};
  auto d = mgr.dict<std::string, int>({.name = "d"});
  auto l = mgr.list<int>({.name = "l"});
  EXPECT_EQ(d.items(), (pairs{{"b", 20}, {"y", 2}, {"z", 4}}));
  EXPECT_EQ(l.snapshot(), (ints{8, 8, 2, 5}));
}

// -- batches -----------------------------------------------------------------

TEST(batch, applies_every_step_in_order_and_empties_itself) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto files = mgr.dict<std::string, int>();
  auto totals = mgr.dict<std::string, int>();
  auto failures = mgr.dict<std::string, std::string>({}, {{"a.txt", "io"}});
  auto count = mgr.value<int>(0);
  auto log = mgr.list<std::string>();
  auto b = mgr.batch();
  b.update(files, pairs{{"a.txt", 2}, {"b.txt", 1}});
  b.merge(totals, pairs{{"the", 2}, {"of", 1}}, std::plus<>{});
  b.merge(totals, pairs{{"the", 1}}, std::plus<>{}); // sees the first
  b.erase(failures, std::string{"a.txt"});
  b.update(count, [](const int& n) { return n + 2; });
  b.append(log, std::string{"a.txt"});
  b.extend(log, {"b.txt"});
  b.set(files, std::string{"c.txt"}, 0);
  b.update(totals, std::string{"of"}, [](const int& n) { return n * 10; });
  EXPECT_EQ(b.size(), 9u);
  b.commit();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(files.items(), (pairs{{"a.txt", 2}, {"b.txt", 1}, {"c.txt", 0}}));
  EXPECT_EQ(totals.items(), (pairs{{"the", 3}, {"of", 10}}));
  EXPECT_EQ(failures.size(), 0u);
  EXPECT_EQ(count.get(), 2);
  EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"a.txt", "b.txt"}));
  b.commit(); // empty: nothing to do
  b.set(count, 7).commit();
  EXPECT_EQ(count.get(), 7);
}

TEST(batch, a_step_that_throws_undoes_the_steps_before_it) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto files = mgr.dict<std::string, int>({}, {{"old.txt", 1}});
  auto failures = mgr.dict<std::string, int>();
  for (int i = 0; i < 100; ++i) // erases below must put entries back in place
    failures.set("f" + std::to_string(i), i);
  auto count = mgr.value<int>(5);
  auto log = mgr.list<int>({1});
  auto before_failures = failures.items();
  auto b = mgr.batch();
  b.update(files, pairs{{"new.txt", 1}, {"old.txt", 2}});
  std::vector<std::string> gone;
  for (int i = 0; i < 100; i += 2)
    gone.push_back("f" + std::to_string(i));
  b.erase_keys(failures, gone);
  b.update(count, [](const int& n) { return n + 1; });
  b.extend(log, {2, 3});
  b.update(files, std::string{"old.txt"}, [](const int&) -> int {
    throw std::runtime_error("a bug in the last step");
  });
  try {
    b.commit();
    FAIL() << "the batch committed";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "a bug in the last step");
  }
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(files.items(), (pairs{{"old.txt", 1}}));
  EXPECT_EQ(failures.items(), before_failures);
  EXPECT_EQ(count.get(), 5);
  EXPECT_EQ(log.snapshot(), (ints{1}));
  failures.set("later", 1); // still a working, ordered dict
  EXPECT_EQ(failures.keys().back(), "later");
}

TEST(batch, other_callers_see_all_of_a_batch_or_none_of_it) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto files = mgr.dict<std::string, int>();
  auto totals = mgr.dict<std::string, int>();
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> looks{0};
  // Invariant: the words recorded per file add up to the totals.
  troupe::process reader{rt, [&] {
                           while (!done.load()) {
                             auto f = files.values();
                             auto t = totals.values();
                             int sf = 0;
                             int st = 0;
                             for (int x : f)
                               sf += x;
                             for (int x : t)
                               st += x;
                             // The two reads are two calls: the totals may have
                             // grown between them, never shrunk below the files
                             // read first.
                             if (st < sf)
                               torn.fetch_add(1);
                             looks.fetch_add(1);
                           }
                         }};
  reader.start();
  for (int i = 0; i < 300; ++i) {
    auto b = mgr.batch();
    b.set(files, "file-" + std::to_string(i), 3);
    b.merge(totals, pairs{{"w" + std::to_string(i % 7), 1}, {"the", 2}},
            std::plus<>{});
    b.commit();
  }
  EXPECT_TRUE(troupe::test::eventually([&] { return looks.load() > 10; }));
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  int st = 0;
  for (int x : totals.values())
    st += x;
  EXPECT_EQ(st, 900);
}

TEST(batch, a_proxy_of_another_manager_is_refused) {
  troupe::runtime rt;
  troupe::manager one{rt};
  troupe::manager two{rt};
  auto d = two.dict<std::string, int>({.name = "theirs"});
  auto b = one.batch();
  try {
    b.set(d, std::string{"k"}, 1);
    FAIL() << "a batch took another manager's dict";
  } catch (const troupe::value_error& e) {
    EXPECT_NE(std::string{e.what()}.find("'theirs'"), std::string::npos);
  }
  EXPECT_TRUE(b.empty());
}

TEST(batch, an_event_based_actor_commits_without_blocking) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  troupe::queue<std::string> out{rt};
  auto a = troupe::spawn(
    rt, [mgr, d, out](caf::event_based_actor* self) mutable -> caf::behavior {
      auto b = mgr.batch();
      b.set(d, std::string{"x"}, 1).set(d, std::string{"y"}, 2);
      b.commit(self).then([=]() mutable {
        out.put("committed");
        self->quit();
      });
      return {[](int) {}};
    });
  EXPECT_EQ(out.get(troupe::test::deadline), "committed");
  ASSERT_TRUE(a.join(troupe::test::deadline));
  EXPECT_EQ(d.items(), (pairs{{"x", 1}, {"y", 2}}));
}

TEST_F(state_dir, a_durable_batch_survives_the_program_as_one_entry) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, durable()};
    auto files = mgr.dict<std::string, int>({.name = "files"});
    auto totals = mgr.dict<std::string, int>({.name = "totals"});
    auto n = mgr.value<int>({.name = "n"}, 0);
    for (int round = 0; round < 20; ++round) {
      auto b = mgr.batch();
      pairs fs;
      for (int i = 0; i < 50; ++i)
        fs.emplace_back("f" + std::to_string(round * 50 + i), 2);
      b.update(files, fs);
      b.merge(totals, pairs{{"the", 100}}, std::plus<>{});
      b.update(n, [](const int& x) { return x + 50; });
      b.commit();
    }
  }
  // Each commit was one record of the store: all 20 are in the journal.
  {
    troupe::serialization::durable_store store{{.path = dir_ / "state"},
                                               [](std::uint64_t) {}};
    auto r = store.recover();
    EXPECT_EQ(r.warning, "");
    // Three objects created (three records), then one per batch.
    EXPECT_EQ(r.journal.size(), 3u + 20u);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, durable()};
  auto files = mgr.dict<std::string, int>({.name = "files"});
  auto totals = mgr.dict<std::string, int>({.name = "totals"});
  auto n = mgr.value<int>({.name = "n"}, 0);
  EXPECT_EQ(files.size(), 1000u);
  EXPECT_EQ(totals.get("the"), 2000);
  EXPECT_EQ(n.get(), 1000);
}

TEST_F(state_dir, a_failed_durable_batch_leaves_nothing_in_the_file) {
  {
    troupe::runtime rt;
    troupe::manager mgr{rt, durable()};
    auto d = mgr.dict<std::string, int>({.name = "d"}, {{"a", 1}});
    auto b = mgr.batch();
    b.set(d, std::string{"b"}, 2);
    b.update(d, std::string{"a"},
             [](const int&) -> int { throw std::logic_error("no"); });
    EXPECT_THROW(b.commit(), std::logic_error);
    d.set("c", 3);
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, durable()};
  auto d = mgr.dict<std::string, int>({.name = "d"});
  EXPECT_EQ(d.items(), (pairs{{"a", 1}, {"c", 3}}));
}

/// The dict record of format version 0 (before batches), field for field.
struct version0_record {
  std::uint8_t code = 0;
  std::string key;
  int value = 0;

  template <class Archive>
  void serialize(Archive& ar, unsigned) {
    ar& code& key& value;
  }
};

TEST_F(state_dir, journal_records_of_the_previous_format_are_still_read) {
  using object = troupe::managed::detail::dict_object<std::string, int>;
  auto entry = [&](const std::string& payload) {
    // The manager's journal envelope: magic, flag, name, tag, payload.
    auto put_u32 = [](std::string& out, std::size_t n) {
      for (int i = 0; i < 4; ++i)
        out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    };
    std::string out = "TMJ1";
    out.push_back('\0');
    put_u32(out, 1);
    out += "d";
    auto tag = object::tag();
    put_u32(out, tag.size());
    out += tag;
    return out + payload;
  };
  {
    troupe::serialization::durable_store store{{.path = dir_ / "state"},
                                               [](std::uint64_t) {}};
    store.append(entry(troupe::serialization::to_bytes(
      version0_record{object::set_code, "a", 1})));
    store.append(entry(troupe::serialization::to_bytes(
      version0_record{object::set_code, "b", 2})));
    store.append(entry(troupe::serialization::to_bytes(
      version0_record{object::erase_code, "a", 0})));
    store.flush();
  }
  troupe::runtime rt;
  troupe::manager mgr{rt, durable()};
  auto d = mgr.dict<std::string, int>({.name = "d"});
  EXPECT_EQ(d.items(), (pairs{{"b", 2}}));
}

} // namespace
