#pragma once
// The gated MLP activation of Qwen2: gate <- silu(gate) * up, with silu(g) = g / (1 + e^-g).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cstdint>

namespace causalqwen::kernels {

template <Real T>
void swiglu(RowMatrix<T>& gate, const RowMatrix<T>& up, int threads) {
  require(gate.rows() == up.rows() && gate.cols() == up.cols(), "swiglu: gate [", gate.rows(), " x ", gate.cols(),
          "] and up [", up.rows(), " x ", up.cols(), "] differ");
  parallel_chunks(threads, gate.rows(), 1, 16 * gate.cols(), [&](std::int64_t begin, std::int64_t end) {
    auto g = gate.middleRows(begin, end - begin).array();
    g = g / (T(1) + (-g).exp()) * up.middleRows(begin, end - begin).array();
  });
}

}  // namespace causalqwen::kernels
