#pragma once
// Row-wise softmax, shifted by the row maximum so large scores cannot overflow.

#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

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

}  // namespace causalqwen::kernels
