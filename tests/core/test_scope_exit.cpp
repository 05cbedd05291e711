#include <causalqwen/core/scope_exit.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

namespace causalqwen_tests_core_scope_exit {

using causalqwen::ScopeExit;

TEST_CASE("ScopeExit: runs once when the scope ends normally") {
  int runs = 0;
  {
    const ScopeExit on_exit([&] { ++runs; });
    CHECK(runs == 0);
  }
  CHECK(runs == 1);
}

TEST_CASE("ScopeExit: runs when the scope is left by an exception") {
  int restored = 0;
  const auto lend_and_throw = [&] {
    const ScopeExit on_exit([&] { restored = 42; });
    throw std::runtime_error("edit refused");
  };
  CHECK_THROWS_AS(lend_and_throw(), std::runtime_error);
  CHECK(restored == 42);
}

}  // namespace causalqwen_tests_core_scope_exit
