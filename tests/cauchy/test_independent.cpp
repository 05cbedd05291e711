#include <causalqwen/cauchy/independent.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <cmath>
#include <limits>

namespace causalqwen_tests_cauchy_independent {

using causalqwen::IndependentCauchy;
using causalqwen::IndependentCauchyRows;
using causalqwen::RowMatrix;
using causalqwen::Vector;
using causalqwen_test::relative_error;

TEST_CASE_TEMPLATE("static and dynamic dimension: log_pdf is the sum of the marginals", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(1e-5) : T(1e-14);
  Eigen::Matrix<T, 3, 1> loc(T(0), T(1), T(-2));
  Eigen::Matrix<T, 3, 1> scale(T(1), T(0.5), T(3));
  const IndependentCauchy<T, 3> fixed(loc, scale);
  // The same parameters typed out again: copying a fixed-size 3-vector into a dynamic one makes
  // GCC 12 warn about the AVX-512 packet path that size 3 never takes (-Warray-bounds).
  Vector<T> dynamic_loc(3), dynamic_scale(3);
  dynamic_loc << T(0), T(1), T(-2);
  dynamic_scale << T(1), T(0.5), T(3);
  const IndependentCauchy<T> dynamic{dynamic_loc, dynamic_scale};
  Eigen::Matrix<T, 3, 1> x(T(0.3), T(-1), T(10));
  T sum = 0;
  for (int i = 0; i < 3; ++i) sum += log_pdf(fixed.marginal(i), x(i));
  CHECK(relative_error(log_pdf(fixed, x), sum) <= tol);
  CHECK(relative_error(log_pdf(dynamic, x), sum) <= tol);
  CHECK(fixed.dimension() == 3);
  CHECK(dynamic.marginal(1).scale() == T(0.5));
  CHECK(kl_divergence(fixed, fixed) == T(0));
  const IndependentCauchy<T, 3> other(loc.array() + T(1), scale);
  T kl = 0;
  for (int i = 0; i < 3; ++i) kl += kl_divergence(fixed.marginal(i), other.marginal(i));
  CHECK(relative_error(kl_divergence(fixed, other), kl) <= tol);
}

TEST_CASE_TEMPLATE("bad parameters and mismatched dimensions throw causalqwen::error", T, float, double) {
  Vector<T> loc(2), scale(2), short_vec(1);
  loc << 0, 1;
  scale << 1, 1;
  short_vec << 1;
  CHECK_THROWS_AS(IndependentCauchy<T>(loc, short_vec), causalqwen::error);
  Vector<T> bad = scale;
  bad(1) = 0;
  CHECK_THROWS_WITH_AS(IndependentCauchy<T>(loc, bad), doctest::Contains("scale(1,0)"), causalqwen::error);
  bad(1) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_AS(IndependentCauchy<T>(loc, bad), causalqwen::error);
  CHECK_THROWS_AS(IndependentCauchy<T>(Vector<T>(), Vector<T>()), causalqwen::error);
  const IndependentCauchy<T> u(loc, scale);
  CHECK_THROWS_AS(log_pdf(u, short_vec), causalqwen::error);
  CHECK_THROWS_AS(u.marginal(2), causalqwen::error);
  Vector<T> x = loc;
  x(0) = std::numeric_limits<T>::quiet_NaN();
  CHECK_THROWS_AS(log_pdf(u, x), causalqwen::error);
  CHECK_THROWS_AS(kl_divergence(u, IndependentCauchy<T>(short_vec, short_vec)), causalqwen::error);
  RowMatrix<T> m = RowMatrix<T>::Ones(2, 3);
  const IndependentCauchyRows<T> rows(m, m);
  CHECK_THROWS_AS(log_pdf(rows, RowMatrix<T>::Zero(3, 2)), causalqwen::error);
  CHECK_THROWS_AS(IndependentCauchyRows<T>(m, RowMatrix<T>::Ones(2, 2)), causalqwen::error);
  CHECK_THROWS_AS(IndependentCauchyRows<T>(m, RowMatrix<T>::Zero(2, 3)), causalqwen::error);
}

TEST_CASE_TEMPLATE("batched forms over rows equal the per-row laws", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(1e-5) : T(1e-14);
  RowMatrix<T> loc(3, 4), scale(3, 4), x(3, 4);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 4; ++c) {
      loc(r, c) = T(r - c);
      scale(r, c) = T(0.5 + 0.25 * (r + c));
      x(r, c) = T(0.7 * r * c - 1);
    }
  const IndependentCauchyRows<T> rows(loc, scale);
  const IndependentCauchyRows<T> shifted(loc.array() + T(0.5), scale * T(2));
  const Vector<T> lp = log_pdf(rows, x);
  const RowMatrix<T> cd = cdf(rows, x);
  const RowMatrix<T> sv = survival(rows, x);
  const Vector<T> kl = kl_divergence(rows, shifted);
  for (int r = 0; r < 3; ++r) {
    const auto law = rows.row(r);
    CHECK(relative_error(lp(r), log_pdf(law, Vector<T>(x.row(r).transpose()))) <= tol);
    CHECK(relative_error(kl(r), kl_divergence(law, shifted.row(r))) <= tol);
    for (int c = 0; c < 4; ++c) {
      CHECK(relative_error(cd(r, c), cdf(law.marginal(c), x(r, c))) <= tol);
      CHECK(relative_error(sv(r, c), survival(law.marginal(c), x(r, c))) <= tol);
    }
  }
  CHECK_THROWS_AS(rows.row(3), causalqwen::error);
}

}  // namespace causalqwen_tests_cauchy_independent
