#pragma once
// Row-wise softmax, shifted by the row maximum so large scores cannot overflow.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <span>

namespace causalqwen::kernels {

/// Normalises the first `width` entries of a row in place.
template <class Row>
void softmax_prefix(Row&& row, Eigen::Index width) {
  auto head = row.head(width).array();
  head = (head - head.maxCoeff()).exp();
  head /= head.sum();
}

template <Real T>
void softmax_rows(RowMatrix<T>& x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) softmax_prefix(x.row(r), x.cols());
}

/// Mean next-token cross-entropy of logits [N x V] against `targets` (one class per row), and its
/// gradient d_logits = (softmax(logits) - onehot(target)) / N.
template <Real T>
T softmax_cross_entropy(const RowMatrix<T>& logits, std::span<const std::int32_t> targets, RowMatrix<T>& d_logits) {
  require(static_cast<std::size_t>(logits.rows()) == targets.size() && logits.rows() > 0,
          "softmax_cross_entropy: ", targets.size(), " targets for ", logits.rows(), " rows of logits");
  d_logits = logits;
  double loss = 0;
  const T inverse_rows = T(1) / static_cast<T>(logits.rows());
  for (Eigen::Index r = 0; r < logits.rows(); ++r) {
    const std::int32_t target = targets[static_cast<std::size_t>(r)];
    require(target >= 0 && target < logits.cols(), "softmax_cross_entropy: target ", target, " at row ", r,
            " is outside [0, ", logits.cols(), ")");
    const T top = logits.row(r).maxCoeff();
    const T log_sum = top + std::log((logits.row(r).array() - top).exp().sum());
    loss += static_cast<double>(log_sum - logits(r, target));
    softmax_prefix(d_logits.row(r), logits.cols());
    d_logits(r, target) -= T(1);
  }
  d_logits *= inverse_rows;
  return static_cast<T>(loss / static_cast<double>(logits.rows()));
}

}  // namespace causalqwen::kernels
