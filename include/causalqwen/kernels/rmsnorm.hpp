#pragma once
// RMSNorm as Qwen2 defines it: y = x / sqrt(mean(x^2) + eps) * weight, per row.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cmath>
#include <cstdint>

namespace causalqwen::kernels {

template <Real T>
void rms_norm(const RowMatrix<T>& x, const RowVector<T>& weight, T eps, RowMatrix<T>& out, int threads) {
  require(weight.size() == x.cols(), "rms_norm: weight has ", weight.size(), " entries for rows of ", x.cols());
  out.resize(x.rows(), x.cols());
  const T inverse_width = T(1) / static_cast<T>(x.cols());
  parallel_chunks(threads, x.rows(), 1, x.cols(), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T scale = T(1) / std::sqrt(x.row(r).squaredNorm() * inverse_width + eps);
      out.row(r) = (x.row(r).array() * scale * weight.array()).matrix();
    }
  });
}

/// Backward of rms_norm: dx = r (w * dy) - x r^3 mean(w * dy * x) per row (r = 1 / rms(x)), and
/// d_weight += sum over rows of dy * x r. The row scales are recomputed from x (one pass, cheaper
/// than keeping them).
template <Real T>
void rms_norm_backward(const RowMatrix<T>& x, const RowVector<T>& weight, T eps, const RowMatrix<T>& d_out,
                       RowMatrix<T>& d_x, RowVector<T>& d_weight, int threads) {
  require(weight.size() == x.cols() && d_out.rows() == x.rows() && d_out.cols() == x.cols() &&
              d_weight.size() == x.cols(),
          "rms_norm_backward: input [", x.rows(), " x ", x.cols(), "], upstream [", d_out.rows(), " x ", d_out.cols(),
          "], weight ", weight.size(), " and its gradient ", d_weight.size(), " do not match");
  d_x.resize(x.rows(), x.cols());
  Vector<T> scales(x.rows());
  const T inverse_width = T(1) / static_cast<T>(x.cols());
  parallel_chunks(threads, x.rows(), 1, 3 * x.cols(), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const T scale = T(1) / std::sqrt(x.row(r).squaredNorm() * inverse_width + eps);
      scales(r) = scale;
      const auto weighted = (d_out.row(r).array() * weight.array()).eval();
      const T projection = (weighted * x.row(r).array()).sum() * inverse_width;
      d_x.row(r) = (weighted * scale - x.row(r).array() * (scale * scale * scale * projection)).matrix();
    }
  });
  d_weight += (d_out.array() * (x.array().colwise() * scales.array())).colwise().sum().matrix();
}

}  // namespace causalqwen::kernels
