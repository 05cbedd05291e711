#include <causalqwen/cauchy/cauchy.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <cmath>
#include <limits>
#include <numbers>

namespace causalqwen_tests_cauchy_cauchy {

using causalqwen::Cauchy;
using causalqwen_test::read_csv;
using causalqwen_test::relative_error;

TEST_CASE_TEMPLATE("construction validates the parameters", T, float, double) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  CHECK_THROWS_AS(Cauchy<T>(0, 0), causalqwen::error);
  CHECK_THROWS_AS(Cauchy<T>(0, -1), causalqwen::error);
  CHECK_THROWS_AS(Cauchy<T>(0, nan), causalqwen::error);
  CHECK_THROWS_AS(Cauchy<T>(nan, 1), causalqwen::error);
  CHECK_THROWS_AS(Cauchy<T>(0, inf), causalqwen::error);
  CHECK_THROWS_WITH_AS(Cauchy<T>(0, -1), doctest::Contains("scale"), causalqwen::error);
  const Cauchy<T> c(T(2), T(3));
  CHECK(c.loc() == T(2));
  CHECK(c.scale() == T(3));
  CHECK_THROWS_AS(cdf(c, nan), causalqwen::error);
  CHECK_THROWS_AS(quantile(c, T(1.5)), causalqwen::error);
  CHECK_THROWS_AS(quantile(c, nan), causalqwen::error);
}

TEST_CASE_TEMPLATE("pdf, cdf, survival and quantile agree with the textbook forms in the body", T, float, double) {
  const Cauchy<T> c(T(1.5), T(0.5));
  const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-14);
  for (T x : {T(-3), T(0), T(1.5), T(2), T(7)}) {
    const T r = (x - c.loc()) / c.scale();
    CHECK(relative_error(pdf(c, x), 1 / (std::numbers::pi * 0.5 * (1 + r * r))) <= tol);
    CHECK(relative_error(std::exp(log_pdf(c, x)), pdf(c, x)) <= 4 * tol);
    CHECK(relative_error(cdf(c, x), 0.5 + std::atan(double(r)) / std::numbers::pi) <= tol);
    CHECK(relative_error(cdf(c, x) + survival(c, x), 1.0) <= tol);
    CHECK(relative_error(std::exp(log_cdf(c, x)), cdf(c, x)) <= 4 * tol);
    CHECK(relative_error(std::exp(log_survival(c, x)), survival(c, x)) <= 4 * tol);
  }
  for (T p : {T(1e-6), T(0.1), T(0.5), T(0.75), T(1) - T(1e-6)}) {
    CHECK(relative_error(cdf(c, quantile(c, p)), p) <= 16 * tol);
    CHECK(relative_error(survival(c, quantile_survival(c, p)), p) <= 16 * tol);
  }
  CHECK(quantile(c, T(0)) == -std::numeric_limits<T>::infinity());
  CHECK(quantile(c, T(1)) == std::numeric_limits<T>::infinity());
  CHECK(median(c) == c.loc());
  CHECK(mode(c) == c.loc());
}

TEST_CASE("tails keep their relative accuracy (golden OvR rows through cdf and survival)") {
  for (const auto& r : read_csv("golden_ovr.csv")) {
    // P(S > 0) for S ~ Cauchy(loc, scale) is survival at 0 of Cauchy(loc, scale).
    const Cauchy<double> s(r[0], r[1]);
    INFO("loc ", r[0], " scale ", r[1]);
    CHECK(relative_error(log_survival(s, 0.0), r[3]) <= 1e-14);
    CHECK(relative_error(log_cdf(s, 0.0), r[4]) <= 1e-14);
    CHECK(relative_error(survival(s, 0.0), -std::expm1(r[4])) <= 1e-14);
  }
  const Cauchy<double> u(0, 1);
  CHECK(survival(u, 1e300) > 0);
  CHECK(relative_error(survival(u, 1e12), 1 / (std::numbers::pi * 1e12)) <= 1e-14);
  CHECK(std::isfinite(log_cdf(u, -1e300)));
  CHECK(relative_error(pdf(Cauchy<double>(0, 1e-100), 1e100), 1e-300 / std::numbers::pi) <= 1e-14);
  CHECK(std::isfinite(log_pdf(Cauchy<double>(0, 1e-300), 1e300)));
  CHECK(relative_error(quantile(u, 1e-10), -1 / std::tan(std::numbers::pi * 1e-10)) <= 1e-14);
}

TEST_CASE_TEMPLATE("entropy and characteristic function", T, float, double) {
  const Cauchy<T> c(T(-2), T(4));
  const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-15);
  CHECK(relative_error(entropy(c), std::log(4 * std::numbers::pi * 4)) <= tol);
  CHECK(std::isfinite(entropy(Cauchy<T>(0, std::numeric_limits<T>::max()))));
  const auto phi = characteristic_function(c, T(0.5));
  CHECK(relative_error(std::abs(phi), std::exp(-2.0)) <= tol);
  CHECK(relative_error(std::arg(phi), -1.0) <= tol);
  CHECK(characteristic_function(c, T(0)) == std::complex<T>(1, 0));
}

TEST_CASE_TEMPLATE("kl_divergence of Cauchy objects is the stable kernel and symmetric", T, float, double) {
  const Cauchy<T> p(T(0), T(1)), q(T(1), T(2));
  CHECK(kl_divergence(p, q) == kl_divergence(q, p));
  CHECK(kl_divergence(p, p) == T(0));
  CHECK(relative_error(kl_divergence(p, q), std::log(10.0 / 8.0)) <= (std::is_same_v<T, float> ? 1e-6 : 1e-15));
}

}  // namespace causalqwen_tests_cauchy_cauchy
