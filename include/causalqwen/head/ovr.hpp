#pragma once
// One-vs-rest decisions over the class scores: P_k = P(S_k > C_k) = 1/2 + atan((loc_k - C_k)/scale_k)/pi
// for every position and class, and its logs, through the stable scalar kernels (exact in both
// tails, no loc/scale ratio formed). Each P_k is the exact marginal of S_k; the P_k of one position
// do not sum to one and are not independent (docs/math.md (c)).

#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace causalqwen::head {

namespace detail {
template <Real T, class Kernel>
RowMatrix<T> ovr_map(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold, Kernel kernel,
                     const char* what) {
  require(loc.rows() == scale.rows() && loc.cols() == scale.cols(), what, ": loc is ", loc.rows(), "x", loc.cols(),
          " but scale is ", scale.rows(), "x", scale.cols());
  require(threshold.size() == loc.cols(), what, ": ", threshold.size(), " thresholds for ", loc.cols(), " classes");
  RowMatrix<T> out(loc.rows(), loc.cols());
  for (Eigen::Index i = 0; i < loc.rows(); ++i)
    for (Eigen::Index k = 0; k < loc.cols(); ++k) out(i, k) = kernel(loc(i, k) - threshold(k), scale(i, k));
  return out;
}
}  // namespace detail

/// P_k = P(S_k > C_k), [N x (K+1)].
template <Real T>
RowMatrix<T> ovr_probabilities(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold) {
  return detail::ovr_map(loc, scale, threshold, [](T m, T s) { return stable::ovr_probability(m, s); },
                         "ovr_probabilities");
}

/// log P_k, accurate where P_k underflows in the naive form.
template <Real T>
RowMatrix<T> log_ovr_probabilities(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold) {
  return detail::ovr_map(loc, scale, threshold, [](T m, T s) { return stable::log_ovr_probability(m, s); },
                         "log_ovr_probabilities");
}

/// log(1 - P_k), computed directly (no 1 - P cancellation).
template <Real T>
RowMatrix<T> log_ovr_complements(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold) {
  return detail::ovr_map(loc, scale, threshold, [](T m, T s) { return stable::log_ovr_complement(m, s); },
                         "log_ovr_complements");
}

/// The decision of each position: argmax_k P_k (first index on ties), and its P_k.
template <Real T>
struct OvrDecisions {
  std::vector<std::int32_t> classes;
  Vector<T> confidence;
};

template <Real T>
OvrDecisions<T> ovr_decide(const RowMatrix<T>& probabilities) {
  require(probabilities.cols() > 0, "ovr_decide: no classes");
  OvrDecisions<T> d;
  d.classes.resize(static_cast<std::size_t>(probabilities.rows()));
  d.confidence.resize(probabilities.rows());
  for (Eigen::Index i = 0; i < probabilities.rows(); ++i) {
    Eigen::Index best = 0;
    d.confidence(i) = probabilities.row(i).maxCoeff(&best);
    d.classes[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
  }
  return d;
}

/// argmax_k P_k of every row straight from the laws of the scores, without forming P: P_k is
/// increasing in (loc_k - C_k) / scale_k, so no arctangent is evaluated but the winner's. A zero
/// scale orders its class by the step P_k (1 above the threshold, 0 below), as the P matrix would.
template <Real T>
OvrDecisions<T> ovr_decide(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold) {
  require(loc.rows() == scale.rows() && loc.cols() == scale.cols() && threshold.size() == loc.cols() && loc.cols() > 0,
          "ovr_decide: ", loc.rows(), "x", loc.cols(), " locations, ", scale.rows(), "x", scale.cols(), " scales and ",
          threshold.size(), " thresholds");
  const T infinity = std::numeric_limits<T>::infinity();
  OvrDecisions<T> d;
  d.classes.resize(static_cast<std::size_t>(loc.rows()));
  d.confidence.resize(loc.rows());
  for (Eigen::Index i = 0; i < loc.rows(); ++i) {
    Eigen::Index best = 0;
    T best_key = -infinity;
    for (Eigen::Index k = 0; k < loc.cols(); ++k) {
      const T margin = loc(i, k) - threshold(k);
      const T s = scale(i, k);
      const T key = s > 0 ? margin / s : (stable::ovr_probability(margin, s) > T(0.5) ? infinity : -infinity);
      if (key > best_key || k == 0) {
        best_key = key;
        best = k;
      }
    }
    d.classes[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
    d.confidence(i) = stable::ovr_probability(loc(i, best) - threshold(best), scale(i, best));
  }
  return d;
}

}  // namespace causalqwen::head
