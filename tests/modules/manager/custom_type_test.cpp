#include <stdexcept>
#include <string>
#include <type_traits>

#include <gtest/gtest.h>

#include <troupe/manager.hpp>
#include <troupe/troupe.hpp>

#include "test_util.hpp"

using troupe::test::deadline;

namespace {

class maths {
public:
  int add(int x, int y) const {
    return x + y;
  }

  int mul(int x, int y) const {
    return x * y;
  }

  int count() {
    return ++calls_;
  }

  void fail() {
    throw std::domain_error("maths failed on purpose");
  }

private:
  int calls_ = 0;
};

class account {
public:
  account() = default;
  explicit account(int opening) : balance_(opening) {}

  void deposit(int x) {
    balance_ += x;
  }

  int balance() const {
    return balance_;
  }

private:
  int balance_ = 0;
};

// `call` is checked by the compiler: the method must exist on the type
// and accept the arguments.
template <class P, class... Args>
concept can_call = requires(P p, Args... xs) {
  p.call(xs...);
};

using maths_proxy = troupe::managed::object<maths>;
static_assert(can_call<maths_proxy, int (maths::*)(int, int) const, int, int>);
static_assert(
  !can_call<maths_proxy, int (maths::*)(int, int) const, std::string, int>,
  "a string is not an int");
static_assert(!can_call<maths_proxy, int (maths::*)(int, int) const, int>,
              "add takes two arguments");
static_assert(!can_call<maths_proxy, int (account::*)() const>,
              "balance is not a member of maths");

TEST(custom_type, a_registered_type_is_created_and_called_inside_the_manager) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  mgr.register_type<maths>("Maths");
  auto m = mgr.make<maths>("Maths");
  EXPECT_EQ(m.call(&maths::add, 4, 3), 7);
  EXPECT_EQ(m.call(&maths::mul, 7, 8), 56);
  EXPECT_EQ(m.name(), "Maths-1");
  EXPECT_EQ(mgr.make<maths>("Maths").name(), "Maths-2");
}

TEST(custom_type, calls_from_many_processes_run_one_at_a_time) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  mgr.register_type<maths>("Maths");
  auto m = mgr.make<maths>("Maths");
  std::vector<troupe::process> ps;
  for (int i = 0; i < 4; ++i) {
    ps.emplace_back(
      rt,
      [](troupe::managed::object<maths> proxy) {
        for (int k = 0; k < 1000; ++k)
          static_cast<void>(proxy.call(&maths::count));
      },
      m);
    ps.back().start();
  }
  for (auto& p : ps)
    ASSERT_TRUE(p.join(deadline));
  EXPECT_EQ(m.call(&maths::count), 4001);
}

TEST(custom_type, constructor_arguments_and_apply) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  mgr.register_type<account>("Account");
  auto a = mgr.make<account>("Account", 100);
  a.call(&account::deposit, 5);
  EXPECT_EQ(a.call(&account::balance), 105);
  auto after = a.apply([](account& x) {
    x.deposit(-5);
    return x.balance();
  });
  EXPECT_EQ(after, 100);
}

TEST(custom_type, a_method_that_throws_reaches_the_caller_with_its_type) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  mgr.register_type<maths>("Maths");
  auto m = mgr.make<maths>("Maths");
  EXPECT_THROW(m.call(&maths::fail), std::domain_error);
  EXPECT_EQ(m.call(&maths::add, 1, 1), 2);
  EXPECT_EQ(mgr.incarnations(), 1);
}

TEST(custom_type, an_unregistered_or_mismatched_name_is_a_clear_error) {
  troupe::runtime rt;
  troupe::manager mgr{rt};
  mgr.register_type<maths>("Maths");
  try {
    static_cast<void>(mgr.make<maths>("Math"));
    FAIL() << "no value_error";
  } catch (const troupe::value_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("'Math'"), std::string::npos) << what;
    EXPECT_NE(what.find("Maths"), std::string::npos) << what;
  }
  EXPECT_THROW(static_cast<void>(mgr.make<account>("Maths")),
               troupe::value_error);
  EXPECT_THROW(mgr.register_type<account>("Maths"), troupe::value_error);
  mgr.register_type<maths>("Maths"); // the same again is fine
}

} // namespace
