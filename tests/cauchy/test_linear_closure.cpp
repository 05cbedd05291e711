#include <causalqwen/cauchy/linear_closure.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace causalqwen_tests_cauchy_linear_closure {

using causalqwen::Cauchy;
using causalqwen::IndependentCauchy;
using causalqwen::IndependentCauchyRows;
using causalqwen::RowMatrix;
using causalqwen::Vector;
using causalqwen_test::relative_error;

namespace {
/// Kolmogorov-Smirnov statistic of the samples against the law's cdf.
double ks_statistic(std::vector<double> samples, const Cauchy<double>& law) {
  std::sort(samples.begin(), samples.end());
  const double n = static_cast<double>(samples.size());
  double d = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double f = cdf(law, samples[i]);
    d = std::max({d, f - static_cast<double>(i) / n, static_cast<double>(i + 1) / n - f});
  }
  return d;
}
}  // namespace

TEST_CASE("Monte Carlo: the marginals of A U + b pass a Kolmogorov-Smirnov test") {
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> unit(0, 1);
  constexpr int samples = 20000;
  const double critical = 1.95 / std::sqrt(double(samples));  // KS critical value at level 0.001
  for (int d : {1, 2, 3, 16}) {
    Vector<double> loc(d), scale(d);
    for (int i = 0; i < d; ++i) {
      loc(i) = 4 * unit(rng) - 2;
      scale(i) = std::pow(10.0, 6 * unit(rng) - 3);  // 1e-3 .. 1e3
    }
    const IndependentCauchy<double> u(loc, scale);
    RowMatrix<double> a(3, d);
    for (int k = 0; k < 3; ++k)
      for (int i = 0; i < d; ++i) a(k, i) = 4 * unit(rng) - 2;  // negative coefficients included
    Vector<double> b(3);
    b << 1, -3, 0.5;
    const IndependentCauchy<double> marginals = causalqwen::linear_marginals(a, u, b);
    std::vector<std::vector<double>> s(3);
    for (int n = 0; n < samples; ++n) {
      Vector<double> draw(d);
      for (int i = 0; i < d; ++i) draw(i) = loc(i) + scale(i) * std::tan(std::numbers::pi * (unit(rng) - 0.5));
      const Vector<double> y = a * draw + b;
      for (int k = 0; k < 3; ++k) s[k].push_back(y(k));
    }
    for (int k = 0; k < 3; ++k) {
      INFO("d = ", d, ", output ", k);
      CHECK(ks_statistic(s[k], marginals.marginal(k)) < critical);
      // The wrong scale |sum a g| must be told apart (whenever it differs by more than 10 %).
      const double wrong = std::abs(a.row(k).dot(scale));
      if (wrong < 0.9 * marginals.scale()(k) && wrong > 0)
        CHECK(ks_statistic(s[k], Cauchy<double>(marginals.loc()(k), wrong)) > critical);
    }
  }
}

TEST_CASE_TEMPLATE("scalar multiples, sums and linear functionals", T, float, double) {
  const Cauchy<T> x(T(1), T(2)), y(T(-3), T(0.5));
  const auto neg = affine(x, T(-3), T(1));
  CHECK(neg.loc() == T(-2));
  CHECK(neg.scale() == T(6));
  const auto s = sum_of_independent(x, y);
  CHECK(s.loc() == T(-2));
  CHECK(s.scale() == T(2.5));
  CHECK_THROWS_AS(affine(x, T(0)), causalqwen::error);
  Vector<T> loc(2), scale(2), c(2);
  loc << 1, -3;
  scale << 2, 0.5;
  c << 2, -4;
  const IndependentCauchy<T> u(loc, scale);
  const auto f = linear_functional(c, u, T(1));
  CHECK(f.loc() == T(2 + 12 + 1));
  CHECK(f.scale() == T(4 + 2));  // sum |c_i| g_i, not |sum c_i g_i| = 2
  const auto scaled_u = scaled(u, T(-2));
  CHECK(scaled_u.loc()(1) == T(6));
  CHECK(scaled_u.scale()(1) == T(1));
  const auto sum_u = sum_of_independent(u, u);
  CHECK(sum_u.scale()(0) == T(4));
  CHECK_THROWS_AS(linear_functional(Vector<T>::Zero(2), u), causalqwen::error);
  CHECK_THROWS_AS(linear_functional(Vector<T>::Zero(3), u), causalqwen::error);
}

TEST_CASE_TEMPLATE("linear marginals: shapes, zero rows and the batched form", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-15);
  RowMatrix<T> a(2, 3);
  a << 1, -2, 0, 0, 0, 0;
  Vector<T> loc(3), scale(3), b(2);
  loc << 1, 2, 3;
  scale << 1, 1, 1;
  b << 0, 0;
  const IndependentCauchy<T> u(loc, scale);
  CHECK_THROWS_WITH_AS(linear_marginals(a, u, b), doctest::Contains("row 1"), causalqwen::error);
  a(1, 2) = T(0.5);
  const auto m = linear_marginals(a, u, b);
  CHECK(m.loc()(0) == T(-3));
  CHECK(m.scale()(0) == T(3));
  CHECK_THROWS_AS(linear_marginals(a, u, Vector<T>::Zero(3)), causalqwen::error);
  CHECK_THROWS_AS(linear_marginals(RowMatrix<T>::Ones(2, 2), u, b), causalqwen::error);

  RowMatrix<T> locs(2, 3), scales(2, 3);
  locs << 1, 2, 3, -1, 0, 4;
  scales << 1, 1, 1, 0.5, 2, 3;
  b << 1, -1;
  const IndependentCauchyRows<T> rows(locs, scales);
  const auto batch = linear_marginals(a, rows, b);
  for (int r = 0; r < 2; ++r) {
    const auto single = linear_marginals(a, rows.row(r), b);
    for (int k = 0; k < 2; ++k) {
      CHECK(relative_error(batch.loc()(r, k), single.loc()(k)) <= tol);
      CHECK(relative_error(batch.scale()(r, k), single.scale()(k)) <= tol);
    }
  }
}

}  // namespace causalqwen_tests_cauchy_linear_closure
