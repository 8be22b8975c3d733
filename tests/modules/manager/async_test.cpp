#include <functional>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>
#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using namespace std::chrono_literals;
using troupe::test::deadline;

namespace {

using dict_t = troupe::managed::dict<std::string, int>;

TEST(async, an_event_based_actor_gets_answers_and_errors_in_its_mailbox) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  troupe::queue<std::string> out{rt};
  auto a = troupe::spawn(
    rt, [d, out](caf::event_based_actor* self) mutable -> caf::behavior {
      auto ad = d.async(self);
      ad.set("x", 41).then([=]() mutable {
        ad.update("x", [](int v) { return v + 1; }).then([=](int v) mutable {
          out.put("x=" + std::to_string(v));
          ad.get("missing").then([=](int) mutable { out.put("no error"); },
                                 [=](caf::error& err) mutable {
                                   out.put("error: " + caf::to_string(err));
                                   self->quit();
                                 });
        });
      });
      return {[](int) {}};
    });
  EXPECT_EQ(out.get(deadline), "x=42");
  auto err = out.get(deadline);
  EXPECT_NE(err.find("key_error"), std::string::npos) << err;
  EXPECT_NE(err.find("missing"), std::string::npos) << err;
  ASSERT_TRUE(a.join(deadline));
  EXPECT_EQ(d.get("x"), 42);
}

// Each actor chains `n` updates, one after the other.
void bump(caf::event_based_actor* self,
          troupe::managed::basic_dict<
            std::string, int,
            troupe::managed::detail::async_invoker<caf::event_based_actor>>
            ad,
          int n, troupe::queue<int> done) {
  if (n == 0) {
    done.put(1);
    self->quit();
    return;
  }
  ad.update("hits", [](int v) { return v + 1; })
    .then([=](int) { bump(self, ad, n - 1, done); },
          [=](caf::error&) mutable {
            done.put(0);
            self->quit();
          });
}

TEST(async, many_actors_updating_at_once_lose_nothing) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto d = mgr.dict<std::string, int>();
  troupe::queue<int> done{rt};
  constexpr int actors = 50;
  constexpr int each = 200;
  for (int i = 0; i < actors; ++i)
    static_cast<void>(troupe::spawn(
      rt, [d, done](caf::event_based_actor* self) -> caf::behavior {
        bump(self, d.async(self), each, done);
        return {[](int) {}};
      }));
  int ok = 0;
  for (int i = 0; i < actors; ++i)
    ok += done.get(deadline);
  EXPECT_EQ(ok, actors);
  EXPECT_EQ(d.get("hits"), actors * each);
}

TEST(async, a_list_value_namespace_and_object_answer_actors_too) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  auto l = mgr.list<int>({1, 2, 3});
  auto v = mgr.value<std::string>("a");
  auto ns = mgr.name_space();
  troupe::queue<std::string> out{rt};
  static_cast<void>(troupe::spawn(
    rt, [=](caf::event_based_actor* self) mutable -> caf::behavior {
      l.async(self).snapshot().then([=](const std::vector<int>& xs) mutable {
        out.put("list " + std::to_string(xs.size()));
      });
      v.async(self)
        .update([](const std::string& s) { return s + "b"; })
        .then([=](const std::string& s) mutable { out.put("value " + s); });
      ns.async(self).set("k", 5).then([=]() mutable {
        ns.async(self).get<int>("k").then([=](int k) mutable {
          out.put("ns " + std::to_string(k));
          self->quit();
        });
      });
      return {[](int) {}};
    }));
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i)
    got.push_back(out.get(deadline));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"list 3", "ns 5", "value ab"}));
}

} // namespace
