#pragma once
// The one-vs-rest binary cross-entropy of every class score of a batch, the elementwise part of
// the causal head's loss: [N x K] evaluations of the stable kernels of cauchy/stable.hpp (and as
// many gradients), which at the lm_head shape cost as much as the action's products. Rows are
// shared over the caller's threads; each row's sum is formed in a fixed order, so the result does
// not depend on the thread count.

#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

namespace causalqwen::kernels {

/// Per row: sum_k BCE(P(S_k > C_k), 1[k = target]); NaN for an ignored row (target < 0) and for a
/// row with a non-positive scale. With `d_loc`/`d_scale` (resized to [N x K], ignored rows zero)
/// also `gradient_weight` times the gradient of each term w.r.t. its loc and scale.
template <Real T>
std::vector<T> ovr_cross_entropy_rows(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold,
                                      std::span<const std::int32_t> targets, T gradient_weight, RowMatrix<T>* d_loc,
                                      RowMatrix<T>* d_scale, int threads) {
  const std::int64_t n = loc.rows(), k = loc.cols();
  require(scale.rows() == n && scale.cols() == k && threshold.size() == k && static_cast<std::int64_t>(targets.size()) == n,
          "ovr_cross_entropy_rows: ", n, " x ", k, " locations, ", scale.rows(), " x ", scale.cols(), " scales, ",
          threshold.size(), " thresholds and ", targets.size(), " targets do not match");
  const bool with_gradient = d_loc != nullptr && d_scale != nullptr;
  if (with_gradient) {
    d_loc->setZero(n, k);
    d_scale->setZero(n, k);
  }
  std::vector<T> sums(static_cast<std::size_t>(n), std::numeric_limits<T>::quiet_NaN());
  parallel_for(threads, n, 64 * k, [&](std::int64_t i) {
    const std::int32_t target = targets[static_cast<std::size_t>(i)];
    if (target < 0) return;
    T sum = 0;
    for (std::int64_t c = 0; c < k; ++c) {
      const T margin = loc(i, c) - threshold(c);
      const T s = scale(i, c);
      if (!(s > 0)) return;  // the row keeps NaN: the caller names it
      const T label = c == target ? T(1) : T(0);
      sum += stable::ovr_binary_cross_entropy(margin, s, label);
      if (with_gradient) {
        const auto g = stable::ovr_binary_cross_entropy_gradient(margin, s, label);
        (*d_loc)(i, c) = gradient_weight * g.d_loc;
        (*d_scale)(i, c) = gradient_weight * g.d_scale;
      }
    }
    sums[static_cast<std::size_t>(i)] = sum;
  });
  return sums;
}

}  // namespace causalqwen::kernels
