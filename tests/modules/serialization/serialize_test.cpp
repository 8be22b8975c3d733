#include <array>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <troupe/serialization/serialize.hpp>
#include <troupe/serialization/std.hpp>

namespace ts = troupe::serialization;
using namespace std::string_literals;

namespace {

template <class T>
T round_trip(const T& x) {
  return ts::from_bytes<T>(ts::to_bytes(x));
}

/// Throws the format_error from_bytes<T>(bytes) throws; fails otherwise.
template <class T>
std::string format_error_of(const std::string& bytes) {
  try {
    [[maybe_unused]] auto value = ts::from_bytes<T>(bytes);
  } catch (const ts::format_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "from_bytes did not throw format_error";
  return {};
}

/// A user type, intrusive and versioned.
struct point {
  int x = 0;
  int y = 0;
  std::string label;
  std::vector<double> weights;

  template <class Archive>
  void serialize(Archive& ar, const unsigned int version) {
    ar& x& y& label;
    if (version >= 1)
      ar& weights;
  }

  friend bool operator==(const point&, const point&) = default;
};

/// A user type serialized by a free function, holding another user type.
struct route {
  std::string name;
  std::vector<point> stops;
  std::map<std::string, std::optional<point>> by_name;

  friend bool operator==(const route&, const route&) = default;
};

template <class Archive>
void serialize(Archive& ar, route& r, const unsigned int) {
  ar& r.name& r.stops& r.by_name;
}

// docs/serialization.md quotes this type and the test below.
struct account {
  std::string owner;
  std::map<std::string, long> balances;
  std::optional<std::string> note;

  template <class Archive>
  void serialize(Archive& ar, const unsigned int /* version */) {
    ar& owner& balances& note;
  }
};

/// The position of the first byte where a and b differ.
std::size_t first_difference(const std::string& a, const std::string& b) {
  std::size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i])
    ++i;
  return i;
}

} // namespace

BOOST_CLASS_VERSION(point, 1)

TEST(serialize, round_trips_fundamental_types_and_strings) {
  EXPECT_EQ(round_trip(42), 42);
  EXPECT_EQ(round_trip(-7L), -7L);
  EXPECT_EQ(round_trip(std::uint64_t{1} << 63), std::uint64_t{1} << 63);
  EXPECT_EQ(round_trip(2.5), 2.5);
  EXPECT_EQ(round_trip(true), true);
  EXPECT_EQ(round_trip(false), false);
  EXPECT_EQ(round_trip('x'), 'x');
  EXPECT_EQ(round_trip(""s), ""s);
  EXPECT_EQ(round_trip("with\0nul"s), "with\0nul"s);
  EXPECT_EQ(round_trip(std::string(100000, 'z')), std::string(100000, 'z'));
  EXPECT_EQ(round_trip(std::wstring{L"wide"}), std::wstring{L"wide"});
}

TEST(serialize, round_trips_standard_containers) {
  EXPECT_EQ(round_trip(std::vector<int>{1, 2, 3}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(round_trip(std::vector<int>{}), std::vector<int>{});
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}),
            (std::vector<bool>{true, false, true}));
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "", "ccc"}),
            (std::vector<std::string>{"a", "", "ccc"}));
  std::map<std::string, int> m{{"one", 1}, {"two", 2}};
  EXPECT_EQ(round_trip(m), m);
  std::unordered_map<int, std::string> um{{1, "a"}, {2, "b"}, {3, "c"}};
  EXPECT_EQ(round_trip(um), um);
  std::set<std::string> s{"x", "y"};
  EXPECT_EQ(round_trip(s), s);
  std::deque<int> d{5, 6, 7};
  EXPECT_EQ(round_trip(d), d);
  std::list<std::string> l{"p", "q"};
  EXPECT_EQ(round_trip(l), l);
  std::pair<int, std::string> p{9, "nine"};
  EXPECT_EQ(round_trip(p), p);
  std::array<int, 3> a{7, 8, 9};
  EXPECT_EQ(round_trip(a), a);
}

TEST(serialize, round_trips_optional_and_variant) {
  EXPECT_EQ(round_trip(std::optional<int>{}), std::optional<int>{});
  EXPECT_EQ(round_trip(std::optional<std::string>{"here"}),
            std::optional<std::string>{"here"});
  using v = std::variant<int, std::string, std::vector<double>>;
  EXPECT_EQ(round_trip(v{3}), v{3});
  EXPECT_EQ(round_trip(v{"three"s}), v{"three"s});
  EXPECT_EQ(round_trip(v{std::vector<double>{0.5}}),
            v{std::vector<double>{0.5}});
  std::map<std::string, std::vector<std::optional<v>>> nested{
    {"k", {std::nullopt, v{1}, v{"s"s}}}, {"empty", {}}};
  EXPECT_EQ(round_trip(nested), nested);
}

TEST(serialize, round_trips_troupe_bytes_alone_and_in_containers) {
  for (std::size_t n : {0, 5, 1024, 5000}) {
    troupe::bytes x(n, 'b');
    EXPECT_EQ(round_trip(x), x) << n << " bytes";
  }
  std::map<std::string, troupe::bytes> frames{
    {"a", troupe::bytes{"\x00\x01binary"s}}, {"b", troupe::bytes{}}};
  EXPECT_EQ(round_trip(frames), frames);
  // A length beyond the input is a format error, as for a string.
  auto damaged = ts::to_bytes(troupe::bytes(100, 'x'));
  damaged.resize(damaged.size() - 10);
  EXPECT_FALSE(format_error_of<troupe::bytes>(damaged).empty());
}

TEST(serialize, round_trips_user_types) {
  point pt{1, -2, "origin", {0.25, 0.5}};
  EXPECT_EQ(round_trip(pt), pt);
  route r{
    "loop", {pt, point{3, 4, "b", {}}}, {{"a", pt}, {"none", std::nullopt}}};
  EXPECT_EQ(round_trip(r), r);
}

TEST(serialize, empty_bytes_are_a_format_error) {
  auto what = format_error_of<int>("");
  EXPECT_NE(what.find("cannot read a int from 0 bytes"), std::string::npos)
    << what;
}

TEST(serialize, garbage_is_a_format_error_naming_the_type) {
  auto what = format_error_of<std::map<std::string, int>>(
    "this is certainly not an archive, just some text in a file");
  EXPECT_NE(what.find("std::map"), std::string::npos) << what;
  EXPECT_NE(what.find("not a Boost.Serialization binary archive"),
            std::string::npos)
    << what;
}

TEST(serialize, every_truncation_is_a_format_error) {
  route r{"loop", {point{1, 2, "a", {1.0}}}, {{"a", point{}}}};
  auto bytes = ts::to_bytes(r);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto what = format_error_of<route>(bytes.substr(0, n));
    EXPECT_FALSE(what.empty()) << "prefix of " << n << " bytes";
  }
}

TEST(serialize, trailing_bytes_are_a_format_error) {
  auto what = format_error_of<int>(ts::to_bytes(5) + "xyz");
  EXPECT_NE(what.find("3 bytes left over"), std::string::npos) << what;
}

TEST(serialize, reading_another_type_is_a_format_error) {
  auto what = format_error_of<int>(ts::to_bytes(std::map<int, int>{{1, 2}}));
  EXPECT_NE(what.find("left over"), std::string::npos) << what;
  format_error_of<std::string>(ts::to_bytes(7));
}

TEST(serialize, a_huge_string_length_is_rejected_before_allocating) {
  auto bytes = ts::to_bytes("hello world"s);
  // The length (11, as 8 bytes) comes right before the characters.
  auto at = bytes.size() - 11 - 8;
  ASSERT_EQ(bytes[at], 11);
  for (int i = 0; i < 8; ++i)
    bytes[at + i] = '\x7f'; // about 9.2e18
  auto what = format_error_of<std::string>(bytes);
  EXPECT_NE(what.find("claimed with only 11 bytes left"), std::string::npos)
    << what;
}

TEST(serialize, a_huge_element_count_is_rejected_before_allocating) {
  auto small = ts::to_bytes(std::vector<std::uint64_t>{7, 7});
  auto large = ts::to_bytes(std::vector<std::uint64_t>{7, 7, 7});
  // The archives differ first in the element count.
  auto at = first_difference(small, large);
  ASSERT_LT(at, small.size());
  ASSERT_EQ(small[at], 2);
  small[at + 5] = '\x01'; // about 1.1e12 elements
  auto what = format_error_of<std::vector<std::uint64_t>>(small);
  EXPECT_NE(what.find("a collection of"), std::string::npos) << what;
}

TEST(serialize, a_bool_other_than_0_or_1_is_a_format_error) {
  auto bytes = ts::to_bytes(true);
  ASSERT_EQ(bytes.back(), 1);
  bytes.back() = 7;
  auto what = format_error_of<bool>(bytes);
  EXPECT_NE(what.find("a bool holds 7"), std::string::npos) << what;
}

TEST(serialize, a_variant_index_out_of_range_is_a_format_error) {
  using v = std::variant<int, int>;
  auto first = ts::to_bytes(v{std::in_place_index<0>, 42});
  auto second = ts::to_bytes(v{std::in_place_index<1>, 42});
  auto at = first_difference(first, second);
  ASSERT_LT(at, first.size());
  first[at] = 5;
  auto what = format_error_of<v>(first);
  EXPECT_NE(what.find("std::variant index 5 out of range"), std::string::npos)
    << what;
}

TEST(serialize, an_archive_from_an_incompatible_platform_is_a_format_error) {
  auto bytes = ts::to_bytes(1);
  // The header records sizeof(int) right after signature and version.
  auto at = bytes.find("serialization::archive") + 22 + 2;
  ASSERT_EQ(bytes[at], static_cast<char>(sizeof(int)));
  bytes[at] = 2;
  auto what = format_error_of<int>(bytes);
  EXPECT_NE(what.find("incompatible platform"), std::string::npos) << what;
}

TEST(serialize, random_damage_never_crashes) {
  route r{"loop",
          {point{1, 2, "a", {1.0, 2.0}}, point{3, 4, "bb", {}}},
          {{"a", point{5, 6, "c", {3.0}}}, {"n", std::nullopt}}};
  const auto good = ts::to_bytes(r);
  std::mt19937 rng{12345};
  int parsed = 0;
  int rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    auto bytes = good;
    auto pos = [&] { return rng() % bytes.size(); };
    switch (rng() % 4) {
      case 0: // flip a bit
        bytes[pos()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 1: // overwrite a few bytes
        for (int i = 0; i < 4; ++i)
          bytes[pos()] = static_cast<char>(rng());
        break;
      case 2: // cut
        bytes.resize(pos());
        break;
      default: // insert
        bytes.insert(pos(), 1, static_cast<char>(rng()));
        break;
    }
    try {
      [[maybe_unused]] auto value = ts::from_bytes<route>(bytes);
      ++parsed;
    } catch (const ts::format_error&) {
      ++rejected;
    }
  }
  EXPECT_EQ(parsed + rejected, 3000);
  EXPECT_GT(rejected, 1000);
}

TEST(serialize, docs_example_round_trips_and_rejects_bad_bytes) {
  namespace ts = troupe::serialization;
  account a{"ada", {{"eur", 100}, {"usd", -5}}, "vip"};
  std::string bytes = ts::to_bytes(a);
  auto back = ts::from_bytes<account>(bytes);
  EXPECT_EQ(back.balances.at("eur"), 100);
  EXPECT_EQ(back.note, "vip");
  // Cut short, foreign or damaged bytes throw ts::format_error, which
  // names the type and what is wrong.
  EXPECT_THROW(ts::from_bytes<account>(bytes.substr(0, 50)), ts::format_error);
}

TEST(serialize, its_errors_are_reachable_in_troupe_and_are_troupe_errors) {
  // Every troupe exception can be caught as `troupe::name`.
  try {
    static_cast<void>(ts::from_bytes<int>(std::string{}));
    FAIL() << "empty bytes were read as an int";
  } catch (const troupe::format_error& e) {
    EXPECT_NE(std::string{e.what()}.find("int"), std::string::npos) << e.what();
  }
  try {
    throw troupe::state_file_error{"a.state", "a.state: bad magic"};
  } catch (const troupe::error& e) {
    EXPECT_STREQ(e.what(), "a.state: bad magic");
  }
}
