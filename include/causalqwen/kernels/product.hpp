#pragma once
// Products of dense matrices held as activations (the small parameters of heads and encodings,
// and every gradient product of a linear layer): out = op(a) op(b), or out += op(a) op(b).
// The output's columns are split over the caller's threads; each chunk is one Eigen GEMM that
// stays on its thread (see parallel.hpp), so no product forks threads the caller did not give.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/output_buffer.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cstdint>

namespace causalqwen::kernels {

/// Whether a product operand is used as stored or transposed.
enum class Op { none, transpose };

/// out = op_a(a) op_b(b) (accumulate: out += ...; out must then have the product's shape).
template <Real T>
void multiply(const RowMatrix<T>& a, Op op_a, const RowMatrix<T>& b, Op op_b, RowMatrix<T>& out, bool accumulate,
              int threads) {
  const std::int64_t rows = op_a == Op::none ? a.rows() : a.cols();
  const std::int64_t inner = op_a == Op::none ? a.cols() : a.rows();
  const std::int64_t inner_b = op_b == Op::none ? b.rows() : b.cols();
  const std::int64_t cols = op_b == Op::none ? b.cols() : b.rows();
  require(inner == inner_b, "multiply: inner sizes ", inner, " and ", inner_b, " differ");
  if (accumulate)
    require(out.rows() == rows && out.cols() == cols, "multiply: accumulating a ", rows, " x ", cols,
            " product into a ", out.rows(), " x ", out.cols(), " matrix");
  else
    resize_output(out, rows, cols);
  if (inner == 0) {
    if (!accumulate) out.setZero();
    return;
  }
  parallel_chunks(threads, cols, 16, rows * inner, [&](std::int64_t begin, std::int64_t end) {
    auto target = out.middleCols(begin, end - begin);
    const auto apply = [&](const auto& lhs, const auto& rhs) {
      if (accumulate) target.noalias() += lhs * rhs;
      else target.noalias() = lhs * rhs;
    };
    const std::int64_t count = end - begin;
    if (op_a == Op::none && op_b == Op::none) apply(a, b.middleCols(begin, count));
    else if (op_a == Op::none) apply(a, b.middleRows(begin, count).transpose());
    else if (op_b == Op::none) apply(a.transpose(), b.middleCols(begin, count));
    else apply(a.transpose(), b.middleRows(begin, count).transpose());
  });
}

}  // namespace causalqwen::kernels
