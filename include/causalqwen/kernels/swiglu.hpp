#pragma once
// The gated MLP activation of Qwen2 on the fused gate/up projection [T x 2I] (gate in the first
// I columns, up in the last I): out = silu(gate) * up, with silu(g) = g / (1 + e^-g).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cstdint>

namespace causalqwen::kernels {

template <Real T>
void swiglu(const RowMatrix<T>& gate_up, RowMatrix<T>& out, int threads) {
  require(gate_up.cols() % 2 == 0, "swiglu: the fused gate/up projection has an odd width ", gate_up.cols());
  const std::int64_t width = gate_up.cols() / 2;
  out.resize(gate_up.rows(), width);
  parallel_chunks(threads, gate_up.rows(), 1, 16 * width, [&](std::int64_t begin, std::int64_t end) {
    const auto rows = gate_up.middleRows(begin, end - begin);
    const auto g = rows.leftCols(width).array();
    out.middleRows(begin, end - begin).array() = g / (T(1) + (-g).exp()) * rows.rightCols(width).array();
  });
}

}  // namespace causalqwen::kernels
