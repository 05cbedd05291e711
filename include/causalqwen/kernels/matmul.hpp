#pragma once
// out = x W^T for activations x [T x in] and a weight W [out x in] (dense or bfloat16).
//
// Two regimes. Decoding (a few rows of x) streams every weight once and is bound by memory
// bandwidth, so it is a dot-product kernel that reads 4 weight rows at a time and converts
// bfloat16 in registers. Prompt processing (many rows) is bound by arithmetic, so it is a
// packed GEMM (Eigen's) on cache-sized tiles of W within one slice per thread; bfloat16 tiles are
// widened into a buffer first. Both keep float32 activations and
// accumulate in the scalar type, so bfloat16 weights give the same numbers as their float copy.
// With MatmulPrecision::bf16_activations (the backend's default) GEMMs with bfloat16 weights
// instead round the activations to bfloat16 and multiply on the AVX512-BF16 dot-product
// instruction (bf16_gemm.hpp), twice the multiply-adds per instruction of a float FMA.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/kernels/bf16_gemm.hpp>
#include <causalqwen/kernels/output_buffer.hpp>
#include <causalqwen/kernels/parallel.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace causalqwen::kernels {

/// Below this many rows of x the matmul streams weights (GEMV); from it on it packs (GEMM).
inline constexpr std::int64_t gemm_min_rows = 4;

/// The arithmetic of matmuls with bfloat16 weights.
enum class MatmulPrecision {
  exact,             ///< float activations times the exact weights, float sums (the reference)
  bf16_activations,  ///< GEMMs round activations to bfloat16 and use vdpbf16ps (AVX512-BF16
                     ///< builds only; elsewhere it is `exact`): 2x faster prompts, ~1e-2 on logits,
                     ///< the arithmetic of bfloat16 inference in PyTorch and llama.cpp
};

namespace detail {

#if defined(__AVX512F__)
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const std::uint16_t* p) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(bits), 16));
}
#endif

#if defined(__AVX512F__)
/// Sum of the 16 lanes, through memory: GCC 12 warns that its own _mm512_reduce_add_ps and
/// 256-bit extracts read an uninitialized register (bug 105593).
inline float horizontal_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0;
  for (float lane : lanes) sum += lane;
  return sum;
}
#endif

/// bfloat16 bits become float; every other weight type is returned as is (a double weight must
/// not pass through float: the double backend is the precision reference).
template <class W>
inline auto widen(W value) {
  if constexpr (std::is_same_v<W, std::uint16_t>) return io::bf16_to_float(value);
  else return value;
}

#if defined(__AVX512F__)
/// Asks for the cache line at p in L2, ahead of its use by a streaming kernel. Into L2, not L1:
/// a core has few L1 miss buffers and more L2 ones, so L1 prefetches (T0) cap
/// how many lines one core has in flight, and with it one core's share of memory bandwidth. On
/// the 2-core Zen 4 VM the bf16 GEMV streamed 11-12 GB/s per core with T0 and 21-23 GB/s with T1.
inline void prefetch_stream(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
#endif

/// out[r] = dot(w + r * in, x) for the four consecutive rows at w (float activations).
/// `ahead` points at the rows the caller reads next: touching them now with software prefetches
/// is what lets one core stream weights near memory bandwidth (with the hardware prefetchers
/// alone the bf16 GEMV reached about two thirds of it, the float one about 90 %).
template <class W>
inline void dot4(const W* w, [[maybe_unused]] const W* ahead, std::int64_t in, const float* x, float out[4]) {
  std::int64_t i = 0;
  float sum[4] = {0, 0, 0, 0};
#if defined(__AVX512F__)
  constexpr std::int64_t per_line = 64 / sizeof(W);  // weights per cache line
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  __m512 acc2[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (; i + 32 <= in; i += 32) {
    const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
    for (int r = 0; r < 4; ++r) {
      for (std::int64_t line = 0; line < 32; line += per_line)
        prefetch_stream(ahead + r * in + i + line);
      acc[r] = _mm512_fmadd_ps(load16(w + r * in + i), x0, acc[r]);
      acc2[r] = _mm512_fmadd_ps(load16(w + r * in + i + 16), x1, acc2[r]);
    }
  }
  for (; i + 16 <= in; i += 16) {
    const __m512 xv = _mm512_loadu_ps(x + i);
    for (int r = 0; r < 4; ++r) acc[r] = _mm512_fmadd_ps(load16(w + r * in + i), xv, acc[r]);
  }
  for (int r = 0; r < 4; ++r) sum[r] = horizontal_sum(_mm512_add_ps(acc[r], acc2[r]));
#endif
  for (; i < in; ++i)
    for (int r = 0; r < 4; ++r) sum[r] += widen(w[r * in + i]) * x[i];
  for (int r = 0; r < 4; ++r) out[r] = sum[r];
}

/// Generic scalar type: one weight row at a time, converted to T.
template <Real T, class W>
inline T dot(const W* w, const T* x, std::int64_t n) {
  T sum = 0;
  for (std::int64_t i = 0; i < n; ++i) sum += static_cast<T>(widen(w[i])) * x[i];
  return sum;
}

template <Real T, class W>
void gemv_rows(const T* x, const W* weights, std::int64_t in, std::int64_t begin, std::int64_t end, T* out) {
  std::int64_t row = begin;
  if constexpr (std::is_same_v<T, float>) {
    for (; row + 4 <= end; row += 4) {
      const std::int64_t next = row + 8 <= end ? row + 4 : row;  // never prefetch outside the matrix
      dot4(weights + row * in, weights + next * in, in, x, out + row);
    }
  }
  for (; row < end; ++row) out[row] = dot(weights + row * in, x, in);
}

}  // namespace detail

namespace detail {

/// Rows of W per GEMM tile: about 256 KiB of float weights (plus a |W| copy in cauchy_linear),
/// which stay in L2 while Eigen streams the activations past them. One GEMM over a whole slice
/// of a vocabulary-sized W instead runs at a third of the speed: its result rows are 600 KB
/// apart, so every micro-kernel store lands on another page.
inline std::int64_t gemm_tile_rows(std::int64_t in) { return std::max<std::int64_t>(16, (65536 / in) / 16 * 16); }

/// Rows [begin, end) of W in T: a view of a dense weight, a widened copy of a bf16 one.
template <Real T>
struct WeightTile {
  RowMatrix<T> widened;
  template <class F>
  void visit(const Weight<T>& w, std::int64_t begin, std::int64_t end, F&& f) {
    if (w.is_bf16()) {
      w.rows_to(begin, end, widened);
      f(widened);
    } else {
      f(w.dense().middleRows(begin, end - begin));
    }
  }
};

}  // namespace detail

/// out = x W^T; out is resized to [x.rows() x W.rows()].
template <Real T>
void matmul(const RowMatrix<T>& x, const Weight<T>& w, RowMatrix<T>& out, int threads,
            [[maybe_unused]] MatmulPrecision precision = MatmulPrecision::exact) {
  require(x.cols() == w.cols(), "matmul: activations have ", x.cols(), " columns, the weight expects ", w.cols());
  const std::int64_t rows = x.rows(), in = w.cols(), outs = w.rows();
  resize_output(out, rows, outs);
  if (rows == 0 || outs == 0) return;

  if (rows < gemm_min_rows) {
    parallel_chunks(threads, outs, 16, in * rows, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t t = 0; t < rows; ++t) {
        if (w.is_bf16()) detail::gemv_rows(x.row(t).data(), w.bf16_row(0), in, begin, end, out.row(t).data());
        else detail::gemv_rows(x.row(t).data(), w.dense().data(), in, begin, end, out.row(t).data());
      }
    });
    return;
  }

#if defined(__AVX512BF16__)
  if constexpr (std::is_same_v<T, float>) {
    if (w.is_bf16() && precision == MatmulPrecision::bf16_activations) {
      const std::vector<std::uint32_t> pairs = detail::pack_activation_pairs(x, (in + 1) / 2);
      parallel_chunks(threads, outs, detail::bf16_panel, in * rows, [&](std::int64_t begin, std::int64_t end) {
        detail::bf16_gemm_columns(pairs, rows, w.bf16_row(0), outs, in, begin, end, out);
      });
      return;
    }
  }
#endif
  const std::int64_t tile = detail::gemm_tile_rows(in);
  parallel_chunks(threads, outs, 16, in * rows, [&](std::int64_t begin, std::int64_t end) {
    detail::WeightTile<T> weights;
    for (std::int64_t t0 = begin; t0 < end; t0 += tile) {
      const std::int64_t t1 = std::min(end, t0 + tile);
      weights.visit(w, t0, t1, [&](const auto& rows_of_w) { out.middleCols(t0, t1 - t0).noalias() = x * rows_of_w.transpose(); });
    }
  });
}

/// Backward of matmul w.r.t. its input: d_x = d_out W, [T x in]. Training runs on dense master
/// weights; a bfloat16 weight is refused rather than widened on every step.
template <Real T>
void matmul_backward_input(const RowMatrix<T>& d_out, const Weight<T>& w, RowMatrix<T>& d_x, int threads) {
  require(!w.is_bf16(), "matmul_backward_input: the weight is bfloat16; gradients need dense (master) weights");
  require(d_out.cols() == w.rows(), "matmul_backward_input: upstream has ", d_out.cols(), " columns, the weight has ",
          w.rows(), " rows");
  d_x.resize(d_out.rows(), w.cols());
  if (d_out.rows() == 0) return;
  parallel_chunks(threads, w.cols(), 16, d_out.rows() * w.rows(), [&](std::int64_t begin, std::int64_t end) {
    d_x.middleCols(begin, end - begin).noalias() = d_out * w.dense().middleCols(begin, end - begin);
  });
}

/// Backward of matmul w.r.t. the weight: d_w += d_out^T x, [out x in] (accumulates, so several
/// sequences or both uses of a tied matrix add up).
template <Real T>
void matmul_backward_weight(const RowMatrix<T>& d_out, const RowMatrix<T>& x, RowMatrix<T>& d_w, int threads) {
  require(d_out.rows() == x.rows() && d_w.rows() == d_out.cols() && d_w.cols() == x.cols(),
          "matmul_backward_weight: upstream [", d_out.rows(), " x ", d_out.cols(), "], input [", x.rows(), " x ",
          x.cols(), "] and weight gradient [", d_w.rows(), " x ", d_w.cols(), "] do not match");
  parallel_chunks(threads, d_w.rows(), 16, x.rows() * x.cols(), [&](std::int64_t begin, std::int64_t end) {
    d_w.middleRows(begin, end - begin).noalias() += d_out.middleCols(begin, end - begin).transpose() * x;
  });
}

}  // namespace causalqwen::kernels
