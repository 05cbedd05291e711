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

}  // namespace causalqwen::kernels
