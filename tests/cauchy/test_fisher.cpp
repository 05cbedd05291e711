#include <causalqwen/cauchy/fisher.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <cmath>

namespace causalqwen_tests_cauchy_fisher {

using causalqwen::Cauchy;
using causalqwen::IndependentCauchy;
using causalqwen::ScaleCoordinate;
using causalqwen::Vector;
using causalqwen_test::relative_error;

namespace {
/// The scale g as a function of the coordinate.
double scale_of(ScaleCoordinate c, double theta) {
  switch (c) {
    case ScaleCoordinate::scale: return theta;
    case ScaleCoordinate::log_scale: return std::exp(theta);
    case ScaleCoordinate::softplus_inverse_scale: return causalqwen::softplus(theta);
  }
  return 0;
}
double coordinate_of(ScaleCoordinate c, double g) {
  switch (c) {
    case ScaleCoordinate::scale: return g;
    case ScaleCoordinate::log_scale: return std::log(g);
    case ScaleCoordinate::softplus_inverse_scale: return causalqwen::softplus_inverse(g);
  }
  return 0;
}
}  // namespace

TEST_CASE("Fisher information is the Hessian of KL at zero displacement, in every coordinate") {
  for (auto c : {ScaleCoordinate::scale, ScaleCoordinate::log_scale, ScaleCoordinate::softplus_inverse_scale}) {
    for (double g : {0.01, 0.7, 3.0, 250.0}) {
      const Cauchy<double> law(1.5, g);
      const double theta = coordinate_of(c, g);
      const auto info = fisher_information(law, c);
      // Second differences of KL(law || moved law); KL ~ h^2 I / 2 so the ratio 2 KL / h^2 -> I.
      auto kl = [&](double dmu, double dtheta) {
        return kl_divergence(law, Cauchy<double>(1.5 + dmu, scale_of(c, theta + dtheta)));
      };
      const double h_loc = 1e-4 * g;
      const double h_coord = 1e-4 * std::max(std::abs(theta), 1e-2);
      const double i_loc = (kl(h_loc, 0) + kl(-h_loc, 0)) / (h_loc * h_loc);
      const double i_coord = (kl(0, h_coord) + kl(0, -h_coord)) / (h_coord * h_coord);
      INFO("coordinate ", int(c), " scale ", g);
      CHECK(relative_error(info.loc, i_loc) <= 1e-6);
      CHECK(relative_error(info.scale, i_coord) <= 1e-6);
      const auto m = fisher_information_matrix(law, c);
      CHECK(m(0, 1) == 0);
      CHECK(m(1, 1) == info.scale);
    }
  }
  CHECK(fisher_information(Cauchy<double>(0, 2), ScaleCoordinate::scale).loc == 1.0 / 8);
  CHECK(fisher_information(Cauchy<double>(0, 2), ScaleCoordinate::log_scale).scale == 0.5);
}

TEST_CASE_TEMPLATE("softplus and its inverse round-trip, including tiny and huge scales", T, float, double) {
  const T tol = std::is_same_v<T, float> ? T(1e-6) : T(1e-15);
  for (T g : {T(1e-30), T(1e-3), T(1), T(20), T(1e6)}) CHECK(relative_error(causalqwen::softplus(causalqwen::softplus_inverse(g)), g) <= 4 * tol);
  CHECK_THROWS_AS(causalqwen::softplus_inverse(T(0)), causalqwen::error);
  CHECK(std::isfinite(causalqwen::softplus(T(1000))));
}

TEST_CASE("quadratic KL estimate: second-order exact, third-order term makes shrinking costlier") {
  const Cauchy<double> law(0, 2);
  for (double eps : {1e-2, 1e-4, 1e-6}) {
    const double dg = -0.8 * eps * 2;  // shrink
    const double exact = kl_divergence(law, Cauchy<double>(0, 2 + dg));
    const double quad = kl_quadratic_estimate(law, 0.0, dg, ScaleCoordinate::scale);
    CHECK(exact > quad);  // shrinking: the estimate is too small
    CHECK(relative_error(exact, quad) <= 2 * eps);
    const double grow = kl_divergence(law, Cauchy<double>(0, 2 - dg));
    CHECK(grow < kl_quadratic_estimate(law, 0.0, -dg, ScaleCoordinate::scale));
  }
  Vector<double> loc(2), scale(2), dl(2), ds(2);
  loc << 0, 1;
  scale << 1, 3;
  dl << 1e-4, -2e-4;
  ds << 1e-4, 3e-4;
  const IndependentCauchy<double> u(loc, scale);
  const double v = kl_quadratic_estimate(u, dl, ds, ScaleCoordinate::log_scale);
  CHECK(relative_error(v, (1e-8 / 2 + 4e-8 / 18 + 0.5 * (1e-8 + 9e-8)) / 2) <= 1e-14);
  CHECK_THROWS_AS(kl_quadratic_estimate(u, Vector<double>(3), ds, ScaleCoordinate::scale), causalqwen::error);
}

}  // namespace causalqwen_tests_cauchy_fisher
