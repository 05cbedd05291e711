// Metrics and the loss on small hand-computed cases; bad targets and options.
#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/metrics.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <random>

namespace causalqwen_tests_head_metrics_loss {

using namespace causalqwen;
using namespace causalqwen::head;

TEST_CASE("metrics on a hand-computed batch (3 classes, <NUM> = 2, one ignored position)") {
  Targets<double> t;
  t.classes = {0, 1, 2, 2, 0};
  t.values = Vector<double>(5);
  t.values << 0, 0, 1.0, 4.0, 0;
  t.ignore = {0, 0, 0, 0, 1};
  const std::vector<std::int32_t> predicted = {0, 2, 2, 2, 1};
  Vector<double> confidence(5), loc(5), scale(5);
  confidence << 0.9, 0.6, 0.8, 0.3, 0.99;
  loc << 0, 0, 1.5, 2.0, 0;
  scale << 1, 1, 0.1, 0.2, 1;
  const auto m = evaluate(predicted, confidence, loc, scale, t, 3);
  CHECK(m.positions == 4);
  CHECK(m.num_positions == 2);
  CHECK(m.accuracy == doctest::Approx(0.75));
  // class 0: P = R = F1 = 1 (support 1); class 1: never predicted, P = R = F1 = 0 (support 1);
  // class 2: P = 2/3, R = 1, F1 = 0.8 (support 2).
  CHECK(m.weighted_precision == doctest::Approx((1.0 + 0.0 + 2.0 * 2.0 / 3.0) / 4.0));
  CHECK(m.weighted_recall == doctest::Approx(0.75));
  CHECK(m.weighted_f1 == doctest::Approx((1.0 + 0.0 + 2.0 * 0.8) / 4.0));
  CHECK(m.num_precision == doctest::Approx(2.0 / 3.0));
  CHECK(m.num_recall == doctest::Approx(1.0));
  CHECK(m.num_f1 == doctest::Approx(0.8));
  // errors -0.5 and 2.0
  CHECK(m.value_mse == doctest::Approx(2.125));
  CHECK(m.value_mae == doctest::Approx(1.25));
  CHECK(m.value_median_ae == doctest::Approx(1.25));
  // 95 %: 0.5 <= 12.706 * 0.1 is covered, 2.0 > 12.706 * 0.2 = 2.54... is covered too;
  // 90 %: 2.0 > 6.3138 * 0.2; 50 %: 0.5 > 1 * 0.1.
  CHECK(m.coverage_at(0.95) == doctest::Approx(1.0));
  CHECK(m.coverage_at(0.9) == doctest::Approx(0.5));
  CHECK(m.coverage_at(0.5) == doctest::Approx(0.0));
  CHECK_THROWS_AS(m.coverage_at(0.8), causalqwen::error);
  // one position per bin: |1-0.9|, |0-0.6|, |1-0.8|, |1-0.3|
  CHECK(m.ece == doctest::Approx((0.1 + 0.6 + 0.2 + 0.7) / 4.0));
  // tan(0.475 pi), tan(0.45 pi), tan(0.25 pi)
  CHECK(central_interval_half_width(0.95) == doctest::Approx(12.706204736174707).epsilon(1e-14));
  CHECK(central_interval_half_width(0.9) == doctest::Approx(6.313751514675043).epsilon(1e-14));
  CHECK(central_interval_half_width(0.5) == doctest::Approx(1.0).epsilon(1e-15));
}

TEST_CASE("metrics: undefined averages are NaN; bad input is an error") {
  Targets<double> t;
  t.classes = {0, 1};
  t.values = Vector<double>::Zero(2);
  const Vector<double> c = Vector<double>::Constant(2, 0.5), z = Vector<double>::Zero(2);
  const auto m = evaluate({0, 0}, c, z, z, t, 3);
  CHECK(std::isnan(m.value_mse));
  CHECK(std::isnan(m.coverage_at(0.95)));
  CHECK(m.num_f1 == 0.0);
  CHECK(m.accuracy == 0.5);
  CHECK_THROWS_AS(evaluate({0, 3}, c, z, z, t, 3), causalqwen::error);
  CHECK_THROWS_AS(evaluate({0}, c, z, z, t, 3), causalqwen::error);
  const Vector<double> bad = Vector<double>::Constant(2, 1.5);
  CHECK_THROWS_AS(evaluate({0, 0}, bad, z, z, t, 3), causalqwen::error);
}

TEST_CASE("coverage on values drawn from the predicted law comes out at the level (within 3 binomial sigma)") {
  const std::size_t n = 40000;
  std::mt19937_64 rng(2024);
  std::uniform_real_distribution<double> loc_of(-5, 5), log_scale_of(-3, 3);
  Targets<double> t;
  t.classes.assign(n, 2);
  t.values = Vector<double>(static_cast<Eigen::Index>(n));
  Vector<double> loc(t.values.size()), scale(t.values.size());
  for (Eigen::Index i = 0; i < t.values.size(); ++i) {
    loc(i) = loc_of(rng);
    scale(i) = std::exp(log_scale_of(rng));
    t.values(i) = sample(Cauchy<double>(loc(i), scale(i)), rng).value;
  }
  const Vector<double> confidence = Vector<double>::Constant(t.values.size(), 0.5);
  const auto m = evaluate(std::vector<std::int32_t>(n, 2), confidence, loc, scale,
                          t, 3);
  for (const double level : {0.5, 0.9, 0.95}) {
    const double sigma = std::sqrt(level * (1 - level) / double(n));
    CAPTURE(level);
    CHECK(std::abs(m.coverage_at(level) - level) <= 3 * sigma);
  }
}

namespace {
ActionOutput<double> one_position() {
  ActionOutput<double> out;
  out.class_loc = RowMatrix<double>(2, 2);
  out.class_scale = RowMatrix<double>(2, 2);
  out.class_loc << 1, -1, 7, 7;
  out.class_scale << 1, 2, 1, 1;
  out.value_loc = Vector<double>(2);
  out.value_scale = Vector<double>(2);
  out.value_loc << 1, 0;
  out.value_scale << 2, 1;
  return out;
}
}  // namespace

TEST_CASE("loss on a hand-computed position: BCE sum/mean, gated NLL, ignore mask") {
  const auto out = one_position();
  Targets<double> t;
  t.classes = {1, 99};  // the second position is padding: its class is never read
  t.values = Vector<double>(2);
  t.values << 3.0, std::numeric_limits<double>::quiet_NaN();
  t.ignore = {0, 1};
  const Vector<double> c = Vector<double>::Zero(2);
  const double pi = std::numbers::pi;
  const double p0 = 0.5 + std::atan(1.0) / pi, p1 = 0.5 + std::atan(-0.5) / pi;
  const double bce = -std::log(1 - p0) - std::log(p1);
  const double nll = std::log(2 * pi) + std::log(2.0);
  LossOptions<double> o;
  o.lambda = 2;
  o.gate_alpha = 0.5;
  const auto sum = causal_loss(out, c, t, o);
  CHECK(sum.value.positions == 1);
  CHECK(sum.value.classification == doctest::Approx(bce).epsilon(1e-14));
  CHECK(sum.value.regression == doctest::Approx(2 * (0.5 + 0.5 * p1) * nll).epsilon(1e-14));
  CHECK(sum.value.total == doctest::Approx(sum.value.classification + sum.value.regression));
  CHECK(sum.gradient.class_loc.row(1).isZero(0));  // ignored
  o.class_reduction = ClassReduction::mean;
  CHECK(causal_loss(out, c, t, o).value.classification == doctest::Approx(bce / 2).epsilon(1e-14));
  o.gate_alpha = 1;
  CHECK(causal_loss(out, c, t, o).value.regression == doctest::Approx(2 * nll).epsilon(1e-14));
  o.lambda = 0;
  CHECK(causal_loss(out, c, t, o).value.regression == 0.0);
}

TEST_CASE("loss: bad targets and options are errors") {
  const auto out = one_position();
  const Vector<double> c = Vector<double>::Zero(2);
  Targets<double> t;
  t.classes = {0, 2};
  t.values = Vector<double>::Zero(2);
  CHECK_THROWS_WITH_AS(causal_loss(out, c, t, {}), doctest::Contains("position 1"), causalqwen::error);
  t.classes = {1, 0};
  t.values(0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(causal_loss(out, c, t, {}), causalqwen::error);
  t.values(0) = 1;
  LossOptions<double> o;
  o.gate_alpha = 1.5;
  CHECK_THROWS_AS(causal_loss(out, c, t, o), causalqwen::error);
  o.gate_alpha = 0;
  o.lambda = -1;
  CHECK_THROWS_AS(causal_loss(out, c, t, o), causalqwen::error);
  t.classes = {1};
  CHECK_THROWS_AS(causal_loss(out, c, t, {}), causalqwen::error);
  CHECK_THROWS_AS(causal_loss(out, Vector<double>(Vector<double>::Zero(3)), Targets<double>{{1, 0}, Vector<double>::Zero(2), {}}, {}),
                  causalqwen::error);
}

}  // namespace causalqwen_tests_head_metrics_loss
