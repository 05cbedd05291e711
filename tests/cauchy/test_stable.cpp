#include <causalqwen/cauchy/stable.hpp>

#include <doctest/doctest.h>

#include "support.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace causalqwen_tests_cauchy_stable {

namespace st = causalqwen::stable;
using causalqwen_test::derivative;
using causalqwen_test::read_csv;
using causalqwen_test::relative_error;

namespace {
bool representable_in_float(double x) {
  return std::abs(x) <= std::numeric_limits<float>::max() &&
         (x == 0 || std::abs(x) >= std::numeric_limits<float>::min());
}
}  // namespace

TEST_CASE("KL matches every golden row (60-digit quadrature) to 1e-14 in double") {
  const auto rows = read_csv("golden_kl.csv");
  REQUIRE(rows.size() >= 100);
  double worst = 0;
  for (const auto& r : rows) {
    const double kl = st::kl_divergence(r[0], r[1], r[2], r[3]);
    INFO("row ", r[0], ",", r[1], ",", r[2], ",", r[3], " want ", r[4], " got ", kl);
    CHECK(std::isfinite(kl));
    if (r[4] == 0) {
      CHECK(kl == 0);
    } else {
      CHECK(relative_error(kl, r[4]) <= 1e-14);
      worst = std::max(worst, relative_error(kl, r[4]));
    }
    CHECK(st::kl_divergence(r[2], r[3], r[0], r[1]) == doctest::Approx(kl).epsilon(1e-15));
  }
  MESSAGE("worst relative error of KL over ", rows.size(), " golden rows: ", worst);
}

TEST_CASE("KL in float matches the golden rows whose inputs are representable") {
  std::size_t checked = 0;
  for (const auto& r : read_csv("golden_kl.csv")) {
    const bool exact_inputs = representable_in_float(r[0]) && representable_in_float(r[1]) &&
                              representable_in_float(r[2]) && representable_in_float(r[3]) &&
                              double(float(r[0])) == r[0] && double(float(r[1])) == r[1] &&
                              double(float(r[2])) == r[2] && double(float(r[3])) == r[3];
    if (!exact_inputs || !representable_in_float(r[4])) continue;
    const float kl = st::kl_divergence(float(r[0]), float(r[1]), float(r[2]), float(r[3]));
    INFO("row ", r[0], ",", r[1], ",", r[2], ",", r[3], " want ", r[4], " got ", kl);
    CHECK(std::isfinite(kl));
    CHECK(relative_error(kl, r[4]) <= 1e-5);
    ++checked;
  }
  MESSAGE(checked, " golden KL rows have inputs exactly representable in float");
  CHECK(checked >= 5);
}

TEST_CASE("OvR P, log P and log(1-P) match every golden row to 1e-14") {
  const auto rows = read_csv("golden_ovr.csv");
  REQUIRE(rows.size() >= 80);
  for (const auto& r : rows) {
    const double loc = r[0], scale = r[1];
    INFO("loc ", loc, " scale ", scale);
    const double p = st::ovr_probability(loc, scale);
    const double q = st::ovr_complement(loc, scale);
    const double log_p = st::log_ovr_probability(loc, scale);
    const double log_q = st::log_ovr_complement(loc, scale);
    CHECK(std::isfinite(log_p));
    CHECK(std::isfinite(log_q));
    CHECK(relative_error(log_p, r[3]) <= 1e-14);
    CHECK(relative_error(log_q, r[4]) <= 1e-14);
    // The P column is accurate only where P is not close to 1 (it then holds 1 - P to ~18 digits).
    if (r[2] < 0.9) CHECK(relative_error(p, r[2]) <= 1e-14);
    CHECK(relative_error(q, -std::expm1(r[3])) <= 1e-14);
    CHECK(relative_error(p, -std::expm1(r[4])) <= 1e-14);
  }
}

TEST_CASE_TEMPLATE("OvR kernels stay finite at the extremes", T, float, double) {
  for (T scale : {T(1e-6), T(1), T(1e6)}) {
    for (T z : {T(-1e12), T(-1e6), T(0), T(1e6), T(1e12)}) {
      const T loc = z * scale;
      CHECK(std::isfinite(st::log_ovr_probability(loc, scale)));
      CHECK(std::isfinite(st::log_ovr_complement(loc, scale)));
      const auto g = st::log_ovr_probability_gradient(loc, scale);
      CHECK(std::isfinite(g.d_loc));
      CHECK(std::isfinite(g.d_scale));
      CHECK(st::ovr_probability(loc, scale) >= 0);
      CHECK(st::ovr_probability(loc, scale) <= 1);
    }
  }
  CHECK(st::log_ovr_probability(T(-1e30), T(1e-30)) < T(-100));
  CHECK(std::isfinite(st::log_ovr_probability(T(-1e30), T(1e-30))));
}

TEST_CASE_TEMPLATE("KL is zero for equal laws and positive otherwise", T, float, double) {
  CHECK(st::kl_divergence(T(3), T(2), T(3), T(2)) == T(0));
  CHECK(st::kl_divergence(T(0), T(1), T(0), T(1) + std::numeric_limits<T>::epsilon()) > T(0));
  CHECK(st::kl_divergence(T(0), T(1), std::numeric_limits<T>::epsilon(), T(1)) > T(0));
  CHECK(std::isfinite(st::kl_divergence(T(-1e30), T(1e-30), T(1e30), T(1e30))));
}

TEST_CASE("the KL's scale and location parts add up to it, and an exact scale difference keeps tiny KLs exact") {
  for (const auto& [la, ga, lb, gb] : std::vector<std::array<double, 4>>{
           {0, 1, 0, 2}, {-3, 0.5, 4, 7}, {1e-300, 1e-300, 0, 1e-299}, {1e300, 1e300, -1e300, 1e280}}) {
    CHECK(st::kl_scale_part(ga, gb) >= 0);
    CHECK(st::kl_location_part(la, lb, ga, gb) >= 0);
    CHECK(relative_error(st::kl_scale_part(ga, gb) + st::kl_location_part(la, lb, ga, gb),
                         st::kl_divergence(la, ga, lb, gb)) == 0);
  }
  // Scales 1 and 1 + d with d = 1e-9 known exactly: the scale part is log1p(d^2 / (4 (1 + d))).
  // Given 1 + d rounded to float, the subtraction (1 + d) - 1 keeps only float's granularity near 1.
  const double d = 1e-9, expected = std::log1p(d * d / (4 * (1 + d)));
  CHECK(relative_error(double(st::kl_scale_part_from_difference(1.0f, float(1 + d), float(d))), expected) < 1e-6);
  CHECK(st::kl_scale_part(1.0f, float(1 + d)) == 0.0f);  // 1 + 1e-9 rounds to 1 in float
}

TEST_CASE("gradients of the OvR logs, the BCE, the NLL and the KL agree with finite differences") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> loc_dist(-5, 5);
  std::uniform_real_distribution<double> log_scale_dist(-2, 2);
  constexpr double tolerance = 1e-6;
  auto close = [&](double analytic, double numeric) {
    return std::abs(analytic - numeric) <= tolerance * std::max(std::abs(numeric), 1e-3 * std::abs(analytic) + 1e-12);
  };
  for (int i = 0; i < 300; ++i) {
    const double loc = loc_dist(rng), scale = std::exp(log_scale_dist(rng));
    const double loc2 = loc_dist(rng), scale2 = std::exp(log_scale_dist(rng));
    const double y = loc_dist(rng), label = std::uniform_real_distribution<double>(0, 1)(rng);
    INFO("loc ", loc, " scale ", scale, " loc2 ", loc2, " scale2 ", scale2, " y ", y, " label ", label);

    const auto gp = st::log_ovr_probability_gradient(loc, scale);
    CHECK(close(gp.d_loc, derivative([&](double l) { return st::log_ovr_probability(l, scale); }, loc)));
    CHECK(close(gp.d_scale, derivative([&](double s) { return st::log_ovr_probability(loc, s); }, scale)));
    const auto gq = st::log_ovr_complement_gradient(loc, scale);
    CHECK(close(gq.d_loc, derivative([&](double l) { return st::log_ovr_complement(l, scale); }, loc)));
    CHECK(close(gq.d_scale, derivative([&](double s) { return st::log_ovr_complement(loc, s); }, scale)));
    const auto gb = st::ovr_binary_cross_entropy_gradient(loc, scale, label);
    CHECK(close(gb.d_loc, derivative([&](double l) { return st::ovr_binary_cross_entropy(l, scale, label); }, loc)));
    CHECK(close(gb.d_scale, derivative([&](double s) { return st::ovr_binary_cross_entropy(loc, s, label); }, scale)));

    const auto gn = st::cauchy_nll_gradient(y, loc, scale);
    CHECK(close(gn.d_loc, derivative([&](double l) { return st::cauchy_nll(y, l, scale); }, loc)));
    CHECK(close(gn.d_scale, derivative([&](double s) { return st::cauchy_nll(y, loc, s); }, scale)));

    const auto gk = st::kl_divergence_gradient(loc, scale, loc2, scale2);
    CHECK(close(gk.d_loc_a, derivative([&](double v) { return st::kl_divergence(v, scale, loc2, scale2); }, loc)));
    CHECK(close(gk.d_scale_a, derivative([&](double v) { return st::kl_divergence(loc, v, loc2, scale2); }, scale)));
    CHECK(close(gk.d_loc_b, derivative([&](double v) { return st::kl_divergence(loc, scale, v, scale2); }, loc2)));
    CHECK(close(gk.d_scale_b, derivative([&](double v) { return st::kl_divergence(loc, scale, loc2, v); }, scale2)));
  }
}

TEST_CASE("gradients stay accurate in the tails") {
  // Confidently wrong: y = 1 far on the negative side; d BCE / d scale -> -1/scale.
  const auto g = st::ovr_binary_cross_entropy_gradient(-1e8, 1.0, 1.0);
  CHECK(g.d_scale == doctest::Approx(-1.0).epsilon(1e-6));
  CHECK(std::isfinite(g.d_loc));
  const auto n = st::cauchy_nll_gradient(1e12, 0.0, 1.0);
  CHECK(n.d_loc == doctest::Approx(-2e-12).epsilon(1e-12));
  CHECK(n.d_scale == doctest::Approx(-1.0).epsilon(1e-12));
}

}  // namespace causalqwen_tests_cauchy_stable
