#include <causalqwen/cauchy/fusion_bounds.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <cmath>
#include <random>
#include <type_traits>
#include <vector>

namespace causalqwen_tests_cauchy_fusion_bounds {

using causalqwen::FusionBoundMethod;
using causalqwen::IndependentCauchy;
using causalqwen::IndependentCauchyRows;
using causalqwen::RowMatrix;
using causalqwen::ScaleCoordinate;
using causalqwen::Vector;
using causalqwen_test::relative_error;

namespace {
template <class T>
IndependentCauchy<T> law1(double loc, double scale) {
  Vector<T> l(1), s(1);
  l << T(loc);
  s << T(scale);
  return {l, s};
}

template <class T>
Vector<T> vec(std::initializer_list<double> values) {
  Vector<T> v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = T(x);
  return v;
}

/// Random fusion instances in the spirit of docs/math.md (d), (i): shrinking, expanding, sparse
/// and mixed displacements of relative size 1e-4..3, convex / signed / >1 weights.
template <class T>
struct Generator {
  std::mt19937_64 rng;
  std::uniform_real_distribution<double> unit{0, 1};
  std::normal_distribution<double> normal{0, 1};

  struct Case {
    IndependentCauchy<T> base;
    std::vector<IndependentCauchy<T>> domains;
    Vector<T> alpha;
  };

  Case next(ScaleCoordinate link) {
    const int d = 1 + static_cast<int>(unit(rng) * 16);
    const int k_count = 1 + static_cast<int>(unit(rng) * 4);
    Vector<T> mu0(d), g0(d);
    for (int i = 0; i < d; ++i) {
      mu0(i) = T(4 * unit(rng) - 2);
      g0(i) = T(std::exp(4 * unit(rng) - 2));
    }
    std::vector<IndependentCauchy<T>> domains;
    for (int k = 0; k < k_count; ++k) {
      const double size = std::pow(10.0, -4 + unit(rng) * (4 + std::log10(3.0)));
      const int mode = static_cast<int>(unit(rng) * 4);  // 0 mixed, 1 shrink, 2 expand, 3 sparse
      const int only = static_cast<int>(unit(rng) * d);
      Vector<T> mu(d), g(d);
      for (int i = 0; i < d; ++i) {
        double um = size * normal(rng), ug = size * normal(rng);
        if (mode == 1) ug = -std::abs(ug);
        if (mode == 2) ug = std::abs(ug);
        if (mode == 3 && i != only) um = ug = 0;
        mu(i) = T(double(mu0(i)) + double(g0(i)) * um);
        const double factor = link == ScaleCoordinate::scale ? std::max(1 + ug, 0.02) : std::exp(ug);
        g(i) = T(double(g0(i)) * factor);
      }
      domains.emplace_back(mu, g);
    }
    Vector<T> alpha(k_count);
    const int alpha_mode = static_cast<int>(unit(rng) * 4);
    double sum = 0;
    for (int k = 0; k < k_count; ++k) {
      double a = 0;
      switch (alpha_mode) {
        case 0: a = unit(rng) + 1e-3; break;                                              // convex (normalised below)
        case 1: a = 4 * unit(rng) - 2; break;                                             // signed in [-2, 2]
        case 2: a = 3 * unit(rng); break;                                                 // in [0, 3]
        default: a = (unit(rng) < 0.5 ? -1 : 1) * (0.5 + unit(rng)); break;              // +-[0.5, 1.5]
      }
      alpha(k) = T(a);
      sum += a;
    }
    if (alpha_mode == 0) {
      for (int k = 0; k < k_count; ++k) alpha(k) = T(double(alpha(k)) / sum);
      while (alpha.sum() > T(1)) alpha *= T(1) - std::numeric_limits<T>::epsilon();
    }
    return {IndependentCauchy<T>(mu0, g0), std::move(domains), alpha};
  }
};

template <class T>
void property_run(ScaleCoordinate link, int cases, std::uint64_t seed) {
  Generator<T> gen{std::mt19937_64(seed)};
  int exists = 0, missing = 0, certified = 0, exceeded = 0, exceeded_with_law = 0, bound_violations = 0,
      certified_without_law = 0;
  double worst = 0;
  for (int n = 0; n < cases; ++n) {
    const auto c = gen.next(link);
    const auto cert = causalqwen::certify_fusion(link, c.base, c.domains, c.alpha);
    if (cert.exact_kl.has_value()) {
      ++exists;
      if (cert.exact_kl.value() < 0) ++bound_violations;
    } else {
      ++missing;
      CHECK(cert.exact_kl.reason().find("not positive") != std::string::npos);
    }
    if (cert.design_estimate_exceeded()) ++exceeded_with_law;
    if (cert.design_estimate_exceeded() || !cert.exact_kl.has_value()) ++exceeded;
    if (cert.bound.has_value()) {
      ++certified;
      if (!cert.exact_kl.has_value()) {
        ++certified_without_law;  // a certified bound guarantees that the fused law exists
        continue;
      }
      const double ratio = double(cert.exact_kl.value()) / double(cert.bound.value().value);
      worst = std::max(worst, ratio);
      if (cert.exact_kl.value() > cert.bound.value().value) ++bound_violations;
    } else {
      CHECK(!cert.bound.reason().empty());
    }
  }
  const double exceeded_fraction = double(exceeded) / cases;
  MESSAGE(std::string(link == ScaleCoordinate::scale ? "identity" : "log"), " link, ", cases,
          " cases: fused law exists in ", exists, ", not in ", missing, "; certified ", certified,
          " (max exact/bound ", worst, "); design estimate exceeded by the exact KL in ", exceeded_with_law,
          ", exceeded or no law in ", exceeded, " = ", 100 * exceeded_fraction, " %");
  CHECK(bound_violations == 0);
  CHECK(certified_without_law == 0);
  CHECK(worst <= 1);
  // The design estimate is not a bound: it must be seen failing, at roughly the rate docs/math.md reports.
  CHECK(exceeded_fraction > 0.05);
  CHECK(exceeded_fraction < 0.35);
  CHECK(certified > cases / 2);
}
}  // namespace

TEST_CASE("property: 1e5 random fusions per link, double: certified bound never exceeded, design estimate often") {
  property_run<double>(ScaleCoordinate::scale, 100000, 1);
  property_run<double>(ScaleCoordinate::log_scale, 100000, 2);
}

TEST_CASE("property: random fusions in float") {
  property_run<float>(ScaleCoordinate::scale, 10000, 3);
  property_run<float>(ScaleCoordinate::log_scale, 10000, 4);
}

TEST_CASE_TEMPLATE("counterexamples of docs/math.md: design estimate violated, certified bound holds", T, float, double) {
  const double tol = 1e-3;  // the table has 3-4 digits
  const auto base = law1<T>(0, 1);
  SUBCASE("C1: identity link, both domains shrink g by 40 %: exceeded, and nothing certifies it") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(0, 0.6), law1<T>(0, 0.6)};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::scale, base, domains, vec<T>({1, 1}));
    CHECK(relative_error(cert.exact_kl.value(), std::log(1.8)) <= tol);
    CHECK(relative_error(cert.design_estimate, 0.258) <= 2e-3);
    CHECK(cert.design_estimate_exceeded());
    CHECK(!cert.bound.has_value());  // R = 1.33 >= 1 and sum alpha = 2 > 1
  }
  SUBCASE("C4: one domain shrinks g by 1 %, alpha = 2 (pure third-order effect)") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(0, 0.99)};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::scale, base, domains, vec<T>({2}));
    CHECK(relative_error(cert.exact_kl.value() / cert.design_estimate, 1.010) <= tol);
    CHECK(cert.design_estimate_exceeded());
    REQUIRE(cert.bound.has_value());
    CHECK(cert.bound.value().method == FusionBoundMethod::identity_radius);
    CHECK(cert.exact_kl.value() <= cert.bound.value().value);
  }
  SUBCASE("C2: both shrink by 50 %: no fused law, no bound, no number") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(0, 0.5), law1<T>(0, 0.5)};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::scale, base, domains, vec<T>({1, 1}));
    CHECK(!cert.exact_kl.has_value());
    CHECK(cert.exact_kl.reason().find("not positive") != std::string::npos);
    CHECK_THROWS_AS(cert.exact_kl.value(), causalqwen::error);
    CHECK(!cert.bound.has_value());
    CHECK(cert.bound.reason().find("R = ") != std::string::npos);
    CHECK(!causalqwen::fused_law(ScaleCoordinate::scale, base, domains, vec<T>({1, 1})).has_value());
  }
  SUBCASE("C6: domain doubles g, alpha = -0.9") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(0, 2)};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::scale, base, domains, vec<T>({-0.9}));
    CHECK(relative_error(cert.exact_kl.value(), 1.107) <= tol);
    CHECK(cert.exact_kl.value() > 11 * cert.design_estimate);
    // rho = 1 for this budget, R = 0.9: Theorem 1 applies and is attained (its equality case).
    REQUIRE(cert.bound.has_value());
    CHECK(cert.exact_kl.value() <= cert.bound.value().value);
    CHECK(cert.exact_kl.value() / cert.bound.value().value > 0.999);
  }
  SUBCASE("C8: location shift of 1000 scales, alpha = 0.1, both links") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(1000, 1)};
    for (auto link : {ScaleCoordinate::scale, ScaleCoordinate::log_scale}) {
      const auto cert = causalqwen::certify_fusion(link, base, domains, vec<T>({0.1}));
      CHECK(relative_error(cert.exact_kl.value(), std::log1p(2500.0)) <= 1e-5);
      CHECK(cert.exact_kl.value() > 60 * cert.design_estimate);
      // In float the bound's constants exp(sigma_k) overflow for the largest budgets: no bound then.
      if constexpr (std::is_same_v<T, double>) {
        REQUIRE(cert.bound.has_value());
      }
      if (cert.bound.has_value()) {
        CHECK(cert.exact_kl.value() <= cert.bound.value().value);
      }
    }
  }
  SUBCASE("C11: log link, one domain widens and shifts, the other shrinks") {
    const std::vector<IndependentCauchy<T>> domains{law1<T>(73.9, std::exp(4.0)), law1<T>(0, std::exp(-4.0))};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::log_scale, base, domains, vec<T>({0.5, 0.5}));
    CHECK(relative_error(cert.exact_kl.value(), 5.84) <= 2e-3);
    CHECK(cert.design_estimate_exceeded());
    REQUIRE(cert.bound.has_value());
    CHECK(cert.bound.value().method == FusionBoundMethod::log_2b);
    CHECK(cert.exact_kl.value() <= cert.bound.value().value);
    const auto fused = causalqwen::fused_law(ScaleCoordinate::log_scale, base, domains, vec<T>({0.5, 0.5}));
    CHECK(relative_error(fused.value().scale()(0), 1.0) <= 1e-5);
  }
}

TEST_CASE("Theorem 1 is sharp: pure expansion fused with alpha = -1 reaches G(R)") {
  for (double rho : {1e-3, 0.1, 0.5, 0.9}) {
    const std::vector<IndependentCauchy<double>> domains{law1<double>(0, 1 + rho)};
    const auto cert = causalqwen::certify_fusion(ScaleCoordinate::scale, law1<double>(0, 1), domains, vec<double>({-1}));
    REQUIRE(cert.bound.has_value());
    const double ratio = cert.exact_kl.value() / cert.bound.value().value;
    CHECK(ratio <= 1);
    CHECK(ratio > 1 - 1e-9);
  }
}

TEST_CASE("budget-only certification and its agreement with the building blocks") {
  const Vector<double> eps = vec<double>({1e-3, 4e-3});
  const Vector<double> alpha = vec<double>({0.5, 0.5});
  const auto id = causalqwen::certify_fusion(ScaleCoordinate::scale, 8, eps, alpha);
  CHECK(!id.exact_kl.has_value());
  CHECK(relative_error(id.design_estimate, std::pow(0.5 * std::sqrt(1e-3) + 0.5 * std::sqrt(4e-3), 2)) <= 1e-15);
  const double t1 = causalqwen::identity_link_radius_bound(eps, alpha).value();
  const double t1b = causalqwen::identity_link_convex_bound(eps, alpha, 8).value();
  CHECK(id.bound.value().value == std::min(t1, t1b));
  // G(R) with R = sum |a| rho_k, rho = 2 (c + sqrt(c^2 + c)), c = expm1(eps)
  double r = 0;
  for (double e : {1e-3, 4e-3}) {
    const double c = std::expm1(e);
    r += 0.5 * 2 * (c + std::sqrt(c * c + c));
  }
  CHECK(relative_error(t1, std::log1p(r * r / (4 * (1 - r)))) <= 1e-12);
  const auto lg = causalqwen::certify_fusion(ScaleCoordinate::log_scale, 8, eps, alpha);
  const double b2a = causalqwen::log_link_bound_2a(eps, alpha, 8).value();
  const double b2b = causalqwen::log_link_bound_2b(eps, alpha, 8).value();
  CHECK(lg.bound.value().value == std::min(b2a, b2b));
  // 2a is asymptotically tight: within 1 % of the design estimate for budgets ~1e-6.
  const Vector<double> tiny = vec<double>({1e-6, 4e-6});
  const double tight = causalqwen::log_link_bound_2a(tiny, alpha, 8).value() / causalqwen::design_estimate(tiny, alpha);
  CHECK(tight >= 1);
  CHECK(tight < 1.01);
  // Theorem 1b: negative weights or weights summing above 1 do not qualify.
  CHECK(!causalqwen::identity_link_convex_bound(eps, vec<double>({-0.5, 0.5}), 8).has_value());
  CHECK(!causalqwen::identity_link_convex_bound(eps, vec<double>({0.75, 0.5}), 8).has_value());
  // Huge budgets: the log-link bounds stay finite through 2b; zero weights ignore any budget.
  CHECK(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 4, vec<double>({50, 1e-3}), vec<double>({0.5, 0.5})).bound.has_value());
  CHECK(causalqwen::identity_link_radius_bound(vec<double>({800, 1e-4}), vec<double>({0, 1})).has_value());
}

TEST_CASE("batched certification over positions equals the per-position one") {
  Generator<double> gen{std::mt19937_64(77)};
  for (auto link : {ScaleCoordinate::scale, ScaleCoordinate::log_scale}) {
    constexpr int positions = 6, d = 5, k_count = 3;
    RowMatrix<double> bl(positions, d), bs(positions, d);
    std::vector<RowMatrix<double>> dl(k_count, RowMatrix<double>(positions, d)), ds = dl;
    std::vector<std::vector<IndependentCauchy<double>>> per_position;
    std::vector<IndependentCauchy<double>> bases;
    const Vector<double> alpha = vec<double>({0.3, -0.2, 0.6});
    for (int p = 0; p < positions; ++p) {
      auto c = gen.next(link);
      while (c.base.dimension() < d || c.domains.size() < k_count) c = gen.next(link);
      bl.row(p) = c.base.loc().head(d).transpose();
      bs.row(p) = c.base.scale().head(d).transpose();
      std::vector<IndependentCauchy<double>> domains;
      for (int k = 0; k < k_count; ++k) {
        dl[k].row(p) = c.domains[k].loc().head(d).transpose();
        ds[k].row(p) = c.domains[k].scale().head(d).transpose();
        domains.emplace_back(Vector<double>(c.domains[k].loc().head(d)), Vector<double>(c.domains[k].scale().head(d)));
      }
      per_position.push_back(std::move(domains));
      bases.emplace_back(Vector<double>(c.base.loc().head(d)), Vector<double>(c.base.scale().head(d)));
    }
    const IndependentCauchyRows<double> base(bl, bs);
    std::vector<IndependentCauchyRows<double>> domains;
    for (int k = 0; k < k_count; ++k) domains.emplace_back(dl[k], ds[k]);
    const auto batch = causalqwen::certify_fusion_rows(link, base, domains, alpha);
    REQUIRE(batch.size() == positions);
    RowMatrix<double> budgets(positions, k_count);
    for (int p = 0; p < positions; ++p) {
      const auto one = causalqwen::certify_fusion(link, bases[p], per_position[p], alpha);
      CHECK(batch[p].budgets == one.budgets);
      CHECK(batch[p].exact_kl.has_value() == one.exact_kl.has_value());
      if (one.exact_kl.has_value()) CHECK(batch[p].exact_kl.value() == one.exact_kl.value());
      CHECK(batch[p].bound.has_value() == one.bound.has_value());
      budgets.row(p) = one.budgets.transpose();
    }
    const auto from_budgets = causalqwen::certify_fusion_rows(link, d, budgets, alpha);
    for (int p = 0; p < positions; ++p) {
      CHECK(from_budgets[p].bound.has_value() == batch[p].bound.has_value());
      if (batch[p].bound.has_value()) CHECK(from_budgets[p].bound.value().value == batch[p].bound.value().value);
    }
  }
}

TEST_CASE_TEMPLATE("bad input throws causalqwen::error with a message", T, float, double) {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const Vector<T> eps = vec<T>({0.1, 0.2});
  CHECK_THROWS_WITH_AS(causalqwen::design_estimate(eps, vec<T>({1})), doctest::Contains("weights"), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 3, vec<T>({-0.1, 0.2}), vec<T>({1, 1})), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 3, vec<T>({nan, 0.2}), vec<T>({1, 1})), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 3, eps, vec<T>({nan, 1})), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 0, eps, vec<T>({1, 1})), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::log_scale, 3, Vector<T>(), Vector<T>()), causalqwen::error);
  const auto base = law1<T>(0, 1);
  Vector<T> l2(2), s2(2);
  l2 << 0, 0;
  s2 << 1, 1;
  const std::vector<IndependentCauchy<T>> wrong_dim{IndependentCauchy<T>(l2, s2)};
  CHECK_THROWS_WITH_AS(causalqwen::certify_fusion(ScaleCoordinate::scale, base, wrong_dim, vec<T>({1})),
                       doctest::Contains("dimension"), causalqwen::error);
  const std::vector<IndependentCauchy<T>> one{law1<T>(0, 2)};
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::scale, base, one, vec<T>({1, 1})), causalqwen::error);
  CHECK_THROWS_AS(causalqwen::certify_fusion(ScaleCoordinate::scale, base, one, vec<T>({nan})), causalqwen::error);
  const IndependentCauchyRows<T> rows(RowMatrix<T>::Zero(2, 1), RowMatrix<T>::Ones(2, 1));
  const std::vector<IndependentCauchyRows<T>> short_rows{IndependentCauchyRows<T>(RowMatrix<T>::Zero(1, 1), RowMatrix<T>::Ones(1, 1))};
  CHECK_THROWS_AS(causalqwen::certify_fusion_rows(ScaleCoordinate::log_scale, rows, short_rows, vec<T>({1})), causalqwen::error);
}

TEST_CASE_TEMPLATE("log link: a domain that shrinks a scale by 1e-16 or more keeps an exact KL", T, float, double) {
  // log(g_k / g0) rebuilt as log1p((g_k - g0) / g0) loses every digit once g_k / g0 is near the
  // rounding unit and turns into -inf below it; the fused KL is 2 log cosh(alpha log(g_k/g0) / 2).
  const auto base = law1<T>(0, 1);
  for (const double log_ratio : {-20.0, -36.8, -40.0, -80.0}) {
    const std::vector<IndependentCauchy<T>> shrink{law1<T>(0, std::exp(log_ratio))};
    for (const double alpha : {0.5, 1.0}) {
      const auto cert = causalqwen::certify_fusion(ScaleCoordinate::log_scale, base, shrink, vec<T>({alpha}));
      const double want = 2 * std::log(std::cosh(alpha * log_ratio / 2));
      REQUIRE_MESSAGE(cert.exact_kl.has_value(), cert.exact_kl.reason());
      CHECK(relative_error(double(cert.exact_kl.value()), want) < 64 * std::numeric_limits<T>::epsilon());
      // In float the bound's constants exp(sigma_k) overflow for the largest budgets: no bound then.
      if constexpr (std::is_same_v<T, double>) {
        REQUIRE(cert.bound.has_value());
      }
      if (cert.bound.has_value()) {
        CHECK(cert.exact_kl.value() <= cert.bound.value().value);
      }
    }
  }
}

}  // namespace causalqwen_tests_cauchy_fusion_bounds
