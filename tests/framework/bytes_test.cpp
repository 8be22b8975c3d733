#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include <troupe/attach.hpp>
#include <troupe/bytes.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using troupe::test::deadline;

namespace {

/// A recognisable payload of `n` bytes.
std::string pattern(std::size_t n, int seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i]
      = static_cast<char>('a' + (i * 7 + static_cast<std::size_t>(seed)) % 26);
  return s;
}

TEST(bytes, keeps_its_content_at_every_size_class_and_beyond) {
  for (std::size_t n :
       {0, 1, 63, 64, 65, 1000, 1024, 1025, 4096, 4097, 100000}) {
    auto text = pattern(n, static_cast<int>(n));
    troupe::bytes from_view{text};
    troupe::bytes from_pointer{text.data(), text.size()};
    EXPECT_EQ(from_view.size(), n);
    EXPECT_EQ(from_view.view(), text) << n << " bytes";
    EXPECT_EQ(from_pointer.str(), text) << n << " bytes";
    EXPECT_EQ(from_view.empty(), n == 0);
  }
  troupe::bytes filled(1024, 'x');
  EXPECT_EQ(filled.view(), std::string(1024, 'x'));
  troupe::bytes none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.data(), nullptr);
  EXPECT_EQ(none.begin(), none.end());
}

TEST(bytes, copies_are_deep_and_moves_leave_the_source_empty) {
  troupe::bytes a{std::string_view{"hello"}};
  troupe::bytes b = a;
  b[0] = 'j';
  EXPECT_EQ(a.view(), "hello");
  EXPECT_EQ(b.view(), "jello");
  troupe::bytes c = std::move(b);
  EXPECT_EQ(c.view(), "jello");
  EXPECT_TRUE(b.empty()); // NOLINT(bugprone-use-after-move): specified
  a = c;
  EXPECT_EQ(a.view(), "jello");
  auto& same = a;
  a = same;
  EXPECT_EQ(a.view(), "jello");
  a = troupe::bytes(3000, 'z');
  EXPECT_EQ(a.size(), 3000u);
  a = std::move(c);
  EXPECT_EQ(a.view(), "jello");
}

TEST(bytes, compare_as_their_content) {
  troupe::bytes a{std::string_view{"abc"}};
  troupe::bytes b{std::string_view{"abd"}};
  troupe::bytes ab{std::string_view{"ab"}};
  EXPECT_EQ(a, troupe::bytes{std::string_view{"abc"}});
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  EXPECT_LT(ab, a);
  EXPECT_GT(b, troupe::bytes{});
}

TEST(bytes, made_on_one_thread_and_dropped_on_another_arrive_intact) {
  // The pools' per-thread caches and batched hand-back between threads.
  troupe::runtime rt;
  troupe::queue<troupe::bytes> q{rt, {.capacity = 256}};
  constexpr int n = 50000;
  std::thread producer{[&] {
    for (int i = 0; i < n; ++i) {
      auto size = static_cast<std::size_t>(64 << (i % 7)) - (i % 3);
      q.put(troupe::bytes{pattern(size, i)}, deadline);
    }
  }};
  for (int i = 0; i < n; ++i) {
    auto x = q.get(deadline);
    auto size = static_cast<std::size_t>(64 << (i % 7)) - (i % 3);
    ASSERT_EQ(x.view(), pattern(size, i)) << "item " << i;
  }
  producer.join();
}

TEST(bytes, round_trip_through_caf_serialization) {
  troupe::bytes original{pattern(1500, 3)};
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  ASSERT_FALSE(sink(original));
  troupe::bytes copy;
  caf::binary_deserializer source{nullptr, buf};
  ASSERT_FALSE(source(copy));
  EXPECT_EQ(copy, original);
}

TEST(bytes, travel_to_an_attached_actor) {
  troupe::runtime rt;
  troupe::queue<troupe::bytes> in{rt, {.capacity = 8}};
  troupe::queue<std::size_t> sizes{rt};
  auto a = troupe::spawn(
    rt,
    [](caf::event_based_actor*, troupe::queue<std::size_t> out) {
      return caf::behavior{[out](troupe::delivery<troupe::bytes>& d) mutable {
        out.put(d.value().size());
      }};
    },
    sizes);
  auto link = troupe::attach(in, a, 2);
  for (std::size_t n = 1; n <= 4096; n *= 2)
    in.put(troupe::bytes(n, 'q'), deadline);
  for (std::size_t n = 1; n <= 4096; n *= 2)
    EXPECT_EQ(sizes.get(deadline), n);
  link.detach();
  a.kill();
  ASSERT_TRUE(a.join(deadline));
}

} // namespace
