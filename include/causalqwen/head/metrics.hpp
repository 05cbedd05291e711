#pragma once
// Evaluation of a batch of decisions against targets (ignored positions excluded everywhere):
//   accuracy; precision/recall/F1 per class averaged with weights = class support (the
//   "weighted" average; a class never predicted has precision 0); precision/recall/F1 of <NUM>;
//   MSE / MAE / median absolute error of loc_Y on positions whose target is <NUM>;
//   expected calibration error of the chosen decision: positions binned by their confidence
//   P_chosen into `bins` equal-width bins of [0, 1], ECE = sum_b (n_b / n) |accuracy_b - mean P_b|;
//   coverage at level q (q in kCoverageLevels = 0.5, 0.9, 0.95): share of <NUM> targets inside the
//   central interval of the predicted law holding probability q, loc_Y +- tan(q pi / 2) scale_Y.
// A metric with nothing to average over (no <NUM> target, no position) is NaN, not 0.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/core/sample_median.hpp>
#include <causalqwen/head/targets.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <utility>
#include <vector>

namespace causalqwen::head {

/// The levels of the central intervals whose coverage evaluate() reports.
inline constexpr std::array<double, 3> kCoverageLevels{0.5, 0.9, 0.95};

struct Metrics {
  std::size_t positions = 0;      ///< non-ignored positions
  std::size_t num_positions = 0;  ///< non-ignored positions whose target is <NUM>
  double accuracy = 0;
  double weighted_precision = 0;
  double weighted_recall = 0;
  double weighted_f1 = 0;
  double num_precision = 0;
  double num_recall = 0;
  double num_f1 = 0;
  double value_mse = 0;
  double value_mae = 0;
  double value_median_ae = 0;
  double ece = 0;
  std::array<double, kCoverageLevels.size()> coverage{};  ///< coverage at kCoverageLevels[i]

  /// Coverage of the central interval at `level`, one of kCoverageLevels.
  double coverage_at(double level) const;
};

inline double Metrics::coverage_at(double level) const {
  for (std::size_t i = 0; i < kCoverageLevels.size(); ++i)
    if (kCoverageLevels[i] == level) return coverage[i];
  fail("Metrics::coverage_at: no coverage at level ", level, " (available: 0.5, 0.9, 0.95)");
}

/// Half-width of the central interval of Cauchy(0, 1) holding probability `level` in (0, 1):
/// tan(level pi / 2), evaluated as 1 / tan((1 - level) pi / 2) so that levels near 1 keep their digits.
template <Real T>
T central_interval_half_width(T level) {
  require(level > 0 && level < 1, "central_interval_half_width: level must lie in (0, 1), got ", level);
  return T(1) / std::tan((T(1) - level) * std::numbers::pi_v<T> / 2);
}

namespace detail {
struct PrecisionRecall {
  double precision, recall, f1;
};
inline PrecisionRecall precision_recall(std::size_t true_positive, std::size_t predicted, std::size_t actual) {
  const double p = predicted ? double(true_positive) / double(predicted) : 0.0;
  const double r = actual ? double(true_positive) / double(actual) : 0.0;
  return {p, r, p + r > 0 ? 2 * p * r / (p + r) : 0.0};
}
}  // namespace detail

/// `predicted` / `confidence`: the decision and its P_k per position; `value_loc` / `value_scale`:
/// the <NUM> value's law per position.
template <Real T>
Metrics evaluate(const std::vector<std::int32_t>& predicted, const Vector<T>& confidence, const Vector<T>& value_loc,
                 const Vector<T>& value_scale, const Targets<T>& targets, std::size_t class_count,
                 std::size_t bins = 10) {
  const std::size_t n = predicted.size();
  require(class_count >= 2, "evaluate: need at least 2 classes");
  require(bins > 0, "evaluate: need at least one calibration bin");
  targets.validate(n, class_count, "evaluate");
  require(static_cast<std::size_t>(confidence.size()) == n && static_cast<std::size_t>(value_loc.size()) == n &&
              static_cast<std::size_t>(value_scale.size()) == n,
          "evaluate: confidence/value_loc/value_scale must have one entry per position (", n, ")");
  const auto num = static_cast<std::int32_t>(class_count - 1);

  std::vector<std::size_t> true_positive(class_count, 0), predicted_count(class_count, 0), support(class_count, 0);
  std::vector<double> bin_count(bins, 0), bin_correct(bins, 0), bin_confidence(bins, 0);
  std::vector<double> abs_errors;
  Metrics m;
  double squared_error = 0;
  std::array<std::size_t, kCoverageLevels.size()> covered{};
  std::array<T, kCoverageLevels.size()> half_width{};
  for (std::size_t l = 0; l < kCoverageLevels.size(); ++l) half_width[l] = central_interval_half_width(T(kCoverageLevels[l]));
  for (std::size_t i = 0; i < n; ++i) {
    if (targets.ignored(i)) continue;
    const auto idx = static_cast<Eigen::Index>(i);
    const auto p = predicted[i];
    const auto t = targets.classes[i];
    require(p >= 0 && p <= num, "evaluate: predicted class ", p, " at position ", i, " outside [0, ", num, "]");
    const double c = static_cast<double>(confidence(idx));
    require(c >= 0 && c <= 1, "evaluate: confidence ", c, " at position ", i, " outside [0, 1]");
    ++m.positions;
    ++support[static_cast<std::size_t>(t)];
    ++predicted_count[static_cast<std::size_t>(p)];
    const bool correct = p == t;
    if (correct) ++true_positive[static_cast<std::size_t>(t)];
    const std::size_t b = std::min(bins - 1, static_cast<std::size_t>(c * double(bins)));
    bin_count[b] += 1;
    bin_correct[b] += correct ? 1 : 0;
    bin_confidence[b] += c;
    if (t == num) {
      ++m.num_positions;
      const double e = static_cast<double>(targets.values(idx)) - static_cast<double>(value_loc(idx));
      squared_error += e * e;
      abs_errors.push_back(std::abs(e));
      for (std::size_t l = 0; l < kCoverageLevels.size(); ++l)
        if (std::abs(e) <= static_cast<double>(half_width[l] * value_scale(idx))) ++covered[l];
    }
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (m.positions == 0) {
    m.accuracy = m.weighted_precision = m.weighted_recall = m.weighted_f1 = m.ece = nan;
  } else {
    std::size_t correct = 0;
    for (std::size_t k = 0; k < class_count; ++k) {
      correct += true_positive[k];
      const auto pr = detail::precision_recall(true_positive[k], predicted_count[k], support[k]);
      const double w = double(support[k]) / double(m.positions);
      m.weighted_precision += w * pr.precision;
      m.weighted_recall += w * pr.recall;
      m.weighted_f1 += w * pr.f1;
    }
    m.accuracy = double(correct) / double(m.positions);
    for (std::size_t b = 0; b < bins; ++b)
      if (bin_count[b] > 0)
        m.ece += bin_count[b] / double(m.positions) * std::abs(bin_correct[b] / bin_count[b] - bin_confidence[b] / bin_count[b]);
  }
  const auto nk = static_cast<std::size_t>(num);
  const auto num_pr = detail::precision_recall(true_positive[nk], predicted_count[nk], support[nk]);
  m.num_precision = num_pr.precision;
  m.num_recall = num_pr.recall;
  m.num_f1 = num_pr.f1;
  if (m.num_positions == 0) {
    m.value_mse = m.value_mae = m.value_median_ae = nan;
    m.coverage.fill(nan);
  } else {
    const double count = double(m.num_positions);
    m.value_mse = squared_error / count;
    double sum = 0;
    for (double e : abs_errors) sum += e;
    m.value_mae = sum / count;
    m.value_median_ae = sample_median(std::move(abs_errors));
    for (std::size_t l = 0; l < kCoverageLevels.size(); ++l) m.coverage[l] = double(covered[l]) / count;
  }
  return m;
}

}  // namespace causalqwen::head
