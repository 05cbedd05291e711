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

/// Backward of swiglu into the fused layout: with s = sigma(g), d_gate = d_out * up * s (1 + g (1 - s))
/// and d_up = d_out * g s; d_gate_up is resized to [T x 2I].
template <Real T>
void swiglu_backward(const RowMatrix<T>& gate_up, const RowMatrix<T>& d_out, RowMatrix<T>& d_gate_up, int threads) {
  require(gate_up.cols() % 2 == 0 && d_out.rows() == gate_up.rows() && 2 * d_out.cols() == gate_up.cols(),
          "swiglu_backward: fused input [", gate_up.rows(), " x ", gate_up.cols(), "] and upstream [", d_out.rows(),
          " x ", d_out.cols(), "] do not match");
  const std::int64_t width = gate_up.cols() / 2;
  d_gate_up.resize(gate_up.rows(), gate_up.cols());
  parallel_chunks(threads, gate_up.rows(), 1, 16 * width, [&](std::int64_t begin, std::int64_t end) {
    const auto rows = gate_up.middleRows(begin, end - begin);
    const auto g = rows.leftCols(width).array();
    const auto up = rows.rightCols(width).array();
    const auto d = d_out.middleRows(begin, end - begin).array();
    const auto s = (T(1) / (T(1) + (-g).exp())).eval();
    auto out = d_gate_up.middleRows(begin, end - begin);
    out.leftCols(width).array() = d * up * s * (T(1) + g * (T(1) - s));
    out.rightCols(width).array() = d * g * s;
  });
}

}  // namespace causalqwen::kernels
