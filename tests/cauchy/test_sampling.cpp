#include <causalqwen/cauchy/sampling.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <vector>

namespace causalqwen_tests_cauchy_sampling {

using causalqwen::Cauchy;
using causalqwen::IndependentCauchy;
using causalqwen::IndependentCauchyRows;
using causalqwen::RowMatrix;
using causalqwen::Vector;
using causalqwen_test::derivative;
using causalqwen_test::relative_error;

TEST_CASE_TEMPLATE("u = loc + scale tan(pi (eps - 1/2)) and its derivatives", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(1e-5) : T(1e-14);
  const Cauchy<T> law(T(2), T(3));
  for (T eps : {T(1e-6), T(0.25), T(0.5), T(0.9), T(1) - T(1e-6)}) {
    const auto s = sample(law, eps);
    // Reference in long double: tan(pi (eps - 1/2)) = -cot(pi eps), evaluated with 64-bit mantissa.
    const long double e = eps;
    const double want = double(2.0L - 3.0L / std::tan(std::numbers::pi_v<long double> * e));
    CHECK(relative_error(s.value, want) <= (eps == T(0.5) ? 0 : 8 * tol));
    CHECK(s.d_loc == T(1));
    CHECK(s.value == law.loc() + law.scale() * s.d_scale);
    // The sample is the quantile at eps: cdf(u) = eps.
    CHECK(relative_error(cdf(law, s.value), eps) <= 16 * tol);
  }
  CHECK_THROWS_AS(sample(law, T(0)), causalqwen::error);
  CHECK_THROWS_AS(sample(law, T(1)), causalqwen::error);
  CHECK_THROWS_AS(sample(law, std::numeric_limits<T>::quiet_NaN()), causalqwen::error);
}

TEST_CASE("du/dloc and du/dscale agree with finite differences") {
  for (double eps : {0.01, 0.3, 0.5001, 0.77, 0.999}) {
    const double loc = -1.5, scale = 0.7;
    const auto s = sample(Cauchy<double>(loc, scale), eps);
    const double d_loc = derivative([&](double l) { return sample(Cauchy<double>(l, scale), eps).value; }, loc);
    const double d_scale = derivative([&](double g) { return sample(Cauchy<double>(loc, g), eps).value; }, scale);
    CHECK(relative_error(s.d_loc, d_loc) <= 1e-6);
    CHECK(relative_error(s.d_scale, d_scale) <= 1e-6);
  }
}

TEST_CASE_TEMPLATE("draws from a generator lie strictly inside (0, 1) and follow the law", T, float, double) {
  std::mt19937 rng(11);
  const Cauchy<T> law(T(0), T(1));
  constexpr int n = 20000;
  std::vector<double> probabilities;
  for (int i = 0; i < n; ++i) {
    const T eps = causalqwen::open_unit_uniform<T>(rng);
    REQUIRE(eps > T(0));
    REQUIRE(eps < T(1));
    const auto s = sample(law, rng);
    REQUIRE(std::isfinite(s.value));
    probabilities.push_back(double(cdf(law, s.value)));
  }
  std::sort(probabilities.begin(), probabilities.end());
  double ks = 0;
  for (int i = 0; i < n; ++i) ks = std::max({ks, probabilities[i] - double(i) / n, double(i + 1) / n - probabilities[i]});
  CHECK(ks < 1.95 / std::sqrt(double(n)));
}

namespace {
/// A bit generator stuck at one output, to reach the extreme draws of open_unit_uniform.
struct ConstantBits {
  using result_type = std::uint64_t;
  result_type bits;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return ~result_type{0}; }
  result_type operator()() { return bits; }
};
}  // namespace

TEST_CASE_TEMPLATE("the extreme draws of open_unit_uniform stay strictly inside (0, 1)", T, float, double) {
  // (k + 1/2) 2^-digits rounded to 1 in float for the largest k: sample() threw once in ~2^24 draws.
  ConstantBits top{ConstantBits::max()}, bottom{0};
  const T high = causalqwen::open_unit_uniform<T>(top);
  const T low = causalqwen::open_unit_uniform<T>(bottom);
  CHECK(high < T(1));
  CHECK(low > T(0));
  CHECK(T(1) - high == low);  // the draws are symmetric around 1/2
  CHECK(std::isfinite(sample(Cauchy<T>(0, 1), top).value));
  CHECK(std::isfinite(sample(Cauchy<T>(0, 1), bottom).value));
}

TEST_CASE_TEMPLATE("vector and batched sampling", T, float, double) {
  Vector<T> loc(3), scale(3), eps(3);
  loc << 0, 1, 2;
  scale << 1, 2, 3;
  eps << T(0.1), T(0.5), T(0.8);
  const IndependentCauchy<T> u(loc, scale);
  const auto s = sample(u, eps);
  for (int i = 0; i < 3; ++i) CHECK(s.value(i) == sample(u.marginal(i), eps(i)).value);
  CHECK_THROWS_AS(sample(u, Vector<T>::Constant(2, T(0.5))), causalqwen::error);
  std::mt19937_64 rng(3);
  const auto r = sample(u, rng);
  CHECK(r.value.size() == 3);
  const IndependentCauchyRows<T> rows(RowMatrix<T>::Zero(2, 3), RowMatrix<T>::Ones(2, 3));
  RowMatrix<T> e = RowMatrix<T>::Constant(2, 3, T(0.75));
  const auto b = sample(rows, e);
  CHECK(b.value(1, 2) == doctest::Approx(1.0).epsilon(1e-6));
  e(0, 0) = T(1);
  CHECK_THROWS_AS(sample(rows, e), causalqwen::error);
  CHECK(sample(rows, rng).value.rows() == 2);
}

}  // namespace causalqwen_tests_cauchy_sampling
