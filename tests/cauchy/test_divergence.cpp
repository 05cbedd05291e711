#include <causalqwen/cauchy/divergence.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <cmath>
#include <random>

namespace causalqwen_tests_cauchy_divergence {

using causalqwen::Cauchy;
using causalqwen::IndependentCauchy;
using causalqwen::Vector;
using causalqwen_test::derivative;
using causalqwen_test::relative_error;

namespace {
IndependentCauchy<double> random_law(std::mt19937_64& rng, int d) {
  std::uniform_real_distribution<double> loc(-3, 3), log_scale(-2, 2);
  Vector<double> l(d), s(d);
  for (int i = 0; i < d; ++i) {
    l(i) = loc(rng);
    s(i) = std::exp(log_scale(rng));
  }
  return {l, s};
}

/// TV from its definition: the region {p > q} is bounded by the roots of a quadratic.
double total_variation_by_regions(const Cauchy<double>& p, const Cauchy<double>& q) {
  const double ga = p.scale(), gb = q.scale(), ma = p.loc(), mb = q.loc();
  // ga (gb^2 + (x - mb)^2) = gb (ga^2 + (x - ma)^2)  <=>  a x^2 + b x + c = 0
  const double a = ga - gb, b = -2 * (ga * mb - gb * ma), c = ga * mb * mb - gb * ma * ma + ga * gb * gb - gb * ga * ga;
  auto mass = [](const Cauchy<double>& law, double lo, double hi) { return cdf(law, hi) - cdf(law, lo); };
  if (a == 0) {
    const double x = -c / b;  // one crossing: the region is a half-line
    return std::abs(cdf(p, x) - cdf(q, x));
  }
  const double disc = std::sqrt(b * b - 4 * a * c);
  const double x1 = (-b - disc) / (2 * a), x2 = (-b + disc) / (2 * a);
  return std::abs(mass(p, std::min(x1, x2), std::max(x1, x2)) - mass(q, std::min(x1, x2), std::max(x1, x2)));
}
}  // namespace

TEST_CASE("KL over 1e5 random triples: >= 0, symmetric, zero iff equal, sqrt(KL) obeys the triangle inequality") {
  std::mt19937_64 rng(99);
  int violations = 0;
  double worst_ratio = 0;
  for (int n = 0; n < 100000; ++n) {
    const int d = 1 + n % 3;
    const auto a = random_law(rng, d), b = random_law(rng, d), c = random_law(rng, d);
    const double ab = kl_divergence(a, b), bc = kl_divergence(b, c), ac = kl_divergence(a, c);
    if (!(ab > 0) || ab != kl_divergence(b, a) || kl_divergence(a, a) != 0) ++violations;
    const double ratio = std::sqrt(ac) / (std::sqrt(ab) + std::sqrt(bc));
    worst_ratio = std::max(worst_ratio, ratio);
  }
  CHECK(violations == 0);
  CHECK(worst_ratio <= 1 + 1e-12);
  MESSAGE("largest sqrt(KL_ac) / (sqrt(KL_ab) + sqrt(KL_bc)) over 1e5 triples: ", worst_ratio);
}

TEST_CASE("gradient of the vector KL agrees with finite differences") {
  std::mt19937_64 rng(5);
  for (int n = 0; n < 100; ++n) {
    const auto p = random_law(rng, 4), q = random_law(rng, 4);
    const auto g = kl_divergence_gradient(p, q);
    for (int i = 0; i < 4; ++i) {
      auto kl_with = [&](int which, double v) {
        Vector<double> lp = p.loc(), sp = p.scale(), lq = q.loc(), sq = q.scale();
        (which == 0 ? lp : which == 1 ? sp : which == 2 ? lq : sq)(i) = v;
        return kl_divergence(IndependentCauchy<double>(lp, sp), IndependentCauchy<double>(lq, sq));
      };
      CHECK(relative_error(g.d_loc_p(i), derivative([&](double v) { return kl_with(0, v); }, p.loc()(i))) <= 1e-6);
      CHECK(relative_error(g.d_scale_p(i), derivative([&](double v) { return kl_with(1, v); }, p.scale()(i))) <= 1e-6);
      CHECK(relative_error(g.d_loc_q(i), derivative([&](double v) { return kl_with(2, v); }, q.loc()(i))) <= 1e-6);
      CHECK(relative_error(g.d_scale_q(i), derivative([&](double v) { return kl_with(3, v); }, q.scale()(i))) <= 1e-6);
    }
  }
  const auto g1 = kl_divergence_gradient(Cauchy<double>(0, 1), Cauchy<double>(1, 2));
  CHECK(g1.d_loc_a == doctest::Approx(-0.2));  // 2 dmu / ((gA+gB)^2 + dmu^2) = -2/10
}

TEST_CASE_TEMPLATE("Fisher-Rao, chi-square and total variation closed forms", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(2e-5) : T(1e-13);
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> loc(-3, 3), log_scale(-1.5, 1.5);
  for (int n = 0; n < 200; ++n) {
    const double ma = loc(rng), mb = loc(rng), ga = std::exp(log_scale(rng)), gb = std::exp(log_scale(rng));
    const Cauchy<T> p{T(ma), T(ga)}, q{T(mb), T(gb)};
    const double pm = double(p.loc()), pg = double(p.scale()), qm = double(q.loc()), qg = double(q.scale());
    const double chi = ((pm - qm) * (pm - qm) + (pg - qg) * (pg - qg)) / (2 * pg * qg);
    INFO("p = (", pm, ", ", pg, "), q = (", qm, ", ", qg, ")");
    CHECK(relative_error(chi_square_divergence(p, q), chi) <= tol);
    CHECK(relative_error(fisher_rao_distance(p, q), std::acosh(1 + chi) / std::sqrt(2.0)) <= tol);
    CHECK(relative_error(total_variation_distance(p, q),
                         total_variation_by_regions(Cauchy<double>(pm, pg), Cauchy<double>(qm, qg))) <= 100 * tol);
    CHECK(relative_error(total_variation_distance(p, q), 2 / std::numbers::pi * std::atan(std::sqrt(chi / 2))) <= tol);
    // KL = log(1 + chi2/2) = 2 log cosh(d_FR / sqrt 2)
    CHECK(relative_error(kl_divergence(p, q), std::log1p(chi / 2)) <= tol);
  }
  // Tiny divergences keep their relative accuracy; large ones stay finite.
  const Cauchy<T> u(T(0), T(1));
  const T e = std::numeric_limits<T>::epsilon() * 4;
  CHECK(relative_error(chi_square_divergence(u, Cauchy<T>(e, T(1))), double(e) * double(e) / 2) <= tol);
  CHECK(relative_error(fisher_rao_distance(u, Cauchy<T>(e, T(1))), double(e) / std::sqrt(2.0)) <= tol);
  CHECK(std::isfinite(fisher_rao_distance(u, Cauchy<T>(T(0), std::numeric_limits<T>::max()))));
  CHECK(total_variation_distance(u, u) == T(0));
}

TEST_CASE("product laws: chi-square multiplies, Fisher-Rao adds in quadrature") {
  std::mt19937_64 rng(23);
  for (int n = 0; n < 100; ++n) {
    const auto p = random_law(rng, 3), q = random_law(rng, 3);
    double prod = 1, sq = 0;
    for (int i = 0; i < 3; ++i) {
      prod *= 1 + chi_square_divergence(p.marginal(i), q.marginal(i));
      sq += std::pow(fisher_rao_distance(p.marginal(i), q.marginal(i)), 2);
    }
    CHECK(relative_error(chi_square_divergence(p, q), prod - 1) <= 1e-13);
    CHECK(relative_error(fisher_rao_distance(p, q), std::sqrt(sq)) <= 1e-14);
  }
  Vector<double> l(1), s(1), l2(2), s2(2);
  l << 0;
  s << 1;
  l2 << 0, 0;
  s2 << 1, 1;
  const IndependentCauchy<double> one(l, s), two(l2, s2);
  CHECK_THROWS_AS(chi_square_divergence(one, two), causalqwen::error);
  CHECK_THROWS_AS(fisher_rao_distance(one, two), causalqwen::error);
  CHECK_THROWS_AS(kl_divergence_gradient(one, two), causalqwen::error);
  // Far apart laws: log(1 + chi2) stays finite where chi2 itself overflows.
  s << 1e-300;
  const IndependentCauchy<double> sharp(l, s);
  CHECK(std::isfinite(log1p_chi_square_divergence(one, sharp)));
}

}  // namespace causalqwen_tests_cauchy_divergence
