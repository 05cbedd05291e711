// The block-vectorised one-vs-rest loss against the scalar kernels of cauchy/stable.hpp evaluated
// in double, element by element in units in the last place, over magnitudes from 1e-30 to 1e30,
// and its fall-back to the scalar kernels at the edges (subnormal scales, huge margins, zero and NaN scales).
#include <causalqwen/kernels/ovr_loss.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_kernels_ovr_loss {

using namespace causalqwen;

namespace {

/// |got - exact| in units of the last place of T at exact.
template <class T>
double ulp_distance(T got, double exact) {
  if (got == exact) return 0;
  const T rounded = static_cast<T>(exact);
  const double ulp = std::abs(static_cast<double>(std::nextafter(rounded, std::numeric_limits<T>::infinity())) - rounded);
  return std::abs(static_cast<double>(got) - exact) / ulp;
}

template <class T>
struct Case {
  RowMatrix<T> loc, scale;
  Vector<T> threshold;
  std::vector<std::int32_t> targets;
};

/// Margins and scales log-uniform in [10^-e, 10^e], margins of both signs; 37 classes (two blocks
/// and a remainder), targets everywhere including inside blocks.
template <class T>
Case<T> random_case(std::int64_t rows, double decades, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(-decades, decades);
  std::bernoulli_distribution negative(0.5);
  constexpr std::int64_t classes = 37;
  Case<T> c{RowMatrix<T>(rows, classes), RowMatrix<T>(rows, classes), Vector<T>::Zero(classes), {}};
  for (std::int64_t i = 0; i < rows; ++i) {
    for (std::int64_t k = 0; k < classes; ++k) {
      const double m = std::pow(10.0, exponent(rng));
      c.loc(i, k) = static_cast<T>(negative(rng) ? -m : m);
      c.scale(i, k) = static_cast<T>(std::pow(10.0, exponent(rng)));
    }
    c.targets.push_back(static_cast<std::int32_t>(i % classes));
  }
  return c;
}

struct Worst {
  double loss = 0, gradient = 0;
};

/// Runs the kernel with 1 and 2 threads, checks they agree bit for bit, and returns the largest
/// ulp distances of the row sums and of every gradient element from the scalar kernels in double.
template <class T>
Worst compare(const Case<T>& c) {
  RowMatrix<T> d_loc, d_scale, d_loc2, d_scale2;
  const auto sums = kernels::ovr_cross_entropy_rows<T>(c.loc, c.scale, c.threshold, c.targets, T(1), &d_loc, &d_scale, 1);
  const auto sums2 = kernels::ovr_cross_entropy_rows<T>(c.loc, c.scale, c.threshold, c.targets, T(1), &d_loc2, &d_scale2, 2);
  CHECK(sums == sums2);
  CHECK(d_loc == d_loc2);
  CHECK(d_scale == d_scale2);
  const auto loss_only = kernels::ovr_cross_entropy_rows<T>(c.loc, c.scale, c.threshold, c.targets, T(1), nullptr, nullptr, 1);
  CHECK(loss_only == sums);
  Worst worst;
  for (Eigen::Index i = 0; i < c.loc.rows(); ++i) {
    double exact_sum = 0;
    for (Eigen::Index k = 0; k < c.loc.cols(); ++k) {
      const double margin = static_cast<T>(c.loc(i, k) - c.threshold(k));
      const double s = c.scale(i, k);
      const double label = k == c.targets[static_cast<std::size_t>(i)] ? 1.0 : 0.0;
      exact_sum += stable::ovr_binary_cross_entropy(margin, s, label);
      const auto g = stable::ovr_binary_cross_entropy_gradient(margin, s, label);
      worst.gradient = std::max({worst.gradient, ulp_distance(d_loc(i, k), g.d_loc), ulp_distance(d_scale(i, k), g.d_scale)});
    }
    worst.loss = std::max(worst.loss, ulp_distance(sums[static_cast<std::size_t>(i)], exact_sum));
  }
  return worst;
}

}  // namespace

TEST_CASE_TEMPLATE("ovr_cross_entropy_rows: within the stated ulp bound of the scalar kernels in double", T, float, double) {
  MESSAGE("vector math: ", std::string(kernels::vector_math::implementation));
  for (double decades : {1.0, 6.0, 30.0}) {
    const Worst worst = compare(random_case<T>(200, decades, 7));
    MESSAGE(decades, " decades: row sums within ", worst.loss, " ulp, gradients within ", worst.gradient, " ulp");
    CHECK(worst.loss <= kernels::ovr_loss_max_ulp);
    CHECK(worst.gradient <= kernels::ovr_loss_max_ulp);
  }
}

TEST_CASE("ovr_cross_entropy_rows: edge lanes take the scalar kernels; a non-positive or NaN scale makes the row NaN") {
  Case<float> c = random_case<float>(6, 3.0, 11);
  c.scale(0, 3) = std::numeric_limits<float>::denorm_min();  // subnormal scale: scalar block
  c.loc(1, 20) = -1e38f;                                     // beyond the vector forms' range
  c.loc(2, 5) = 1e-30f;                                      // tiny margin with a large scale
  c.scale(2, 5) = 1e30f;
  c.loc(3, 2) = 3e38f;                                       // near-overflowing margin
  const Worst worst = compare(c);
  CHECK(worst.gradient <= kernels::ovr_loss_max_ulp);
  CHECK(worst.loss <= kernels::ovr_loss_max_ulp);

  c.scale(4, 17) = 0;
  c.scale(5, 36) = std::numeric_limits<float>::quiet_NaN();  // in the scalar remainder
  const auto sums = kernels::ovr_cross_entropy_rows<float>(c.loc, c.scale, c.threshold, c.targets, 1.0f, nullptr, nullptr, 1);
  CHECK(std::isnan(sums[4]));
  CHECK(std::isnan(sums[5]));
  CHECK(std::isfinite(sums[3]));
}

TEST_CASE("ovr_cross_entropy_rows: reused gradient buffers are overwritten, ignored rows zeroed") {
  Case<float> c = random_case<float>(6, 3.0, 12);
  c.targets[2] = -1;
  RowMatrix<float> fresh_loc, fresh_scale;
  const auto sums = kernels::ovr_cross_entropy_rows<float>(c.loc, c.scale, c.threshold, c.targets, 0.5f, &fresh_loc,
                                                           &fresh_scale, 2);
  CHECK(fresh_loc.row(2).isZero(0));
  CHECK(fresh_scale.row(2).isZero(0));
  RowMatrix<float> reused_loc = RowMatrix<float>::Constant(6, 37, std::numeric_limits<float>::quiet_NaN());
  RowMatrix<float> reused_scale = reused_loc;
  const auto again = kernels::ovr_cross_entropy_rows<float>(c.loc, c.scale, c.threshold, c.targets, 0.5f, &reused_loc,
                                                            &reused_scale, 2);
  for (std::size_t i = 0; i < sums.size(); ++i) {
    if (i == 2) CHECK((std::isnan(sums[i]) && std::isnan(again[i])));  // ignored: no sum
    else CHECK(again[i] == sums[i]);
  }
  CHECK(reused_loc == fresh_loc);
  CHECK(reused_scale == fresh_scale);
}

}  // namespace causalqwen_tests_kernels_ovr_loss
