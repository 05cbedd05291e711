#pragma once
// The linear map of an independent Cauchy vector through a weight W [out x in] (Cauchy linear
// closure): for U ~ Cauchy(loc, scale) row by row,
//   W U ~ Cauchy(loc W^T, scale |W|^T)
// and its backward. This is the causal head's action at the lm_head shape, where W is the largest
// array of the model: both products are computed in ONE pass over W, |W| is formed per tile only
// (never for the whole matrix), and bfloat16 weights are widened tile by tile as in matmul.hpp.
// Decoding (a few rows) streams W through a dot-product kernel that reads every weight once and
// accumulates both sums; prompt and training batches use Eigen's packed GEMM on cache-sized tiles.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/bf16_gemm.hpp>
#include <causalqwen/kernels/matmul.hpp>
#include <causalqwen/kernels/output_buffer.hpp>
#include <causalqwen/kernels/parallel.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace causalqwen::kernels {

namespace detail {

/// loc_out[r] = dot(w_r, loc), scale_out[r] = dot(|w_r|, scale) for the four rows at w.
template <class W>
inline void cauchy_dot4(const W* w, [[maybe_unused]] const W* ahead, std::int64_t in, const float* loc,
                        const float* scale, float loc_out[4], float scale_out[4]) {
  std::int64_t i = 0;
  float sum_loc[4] = {0, 0, 0, 0}, sum_scale[4] = {0, 0, 0, 0};
#if defined(__AVX512F__)
  constexpr std::int64_t per_line = 64 / sizeof(W);
  __m512 acc_loc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  __m512 acc_scale[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (; i + 16 <= in; i += 16) {
    const __m512 l = _mm512_loadu_ps(loc + i), s = _mm512_loadu_ps(scale + i);
    for (int r = 0; r < 4; ++r) {
      if (i % per_line == 0) prefetch_stream(ahead + r * in + i);
      const __m512 v = load16(w + r * in + i);
      acc_loc[r] = _mm512_fmadd_ps(v, l, acc_loc[r]);
      acc_scale[r] = _mm512_fmadd_ps(_mm512_abs_ps(v), s, acc_scale[r]);
    }
  }
  for (int r = 0; r < 4; ++r) {
    sum_loc[r] = horizontal_sum(acc_loc[r]);
    sum_scale[r] = horizontal_sum(acc_scale[r]);
  }
#endif
  for (; i < in; ++i)
    for (int r = 0; r < 4; ++r) {
      const float v = widen(w[r * in + i]);
      sum_loc[r] += v * loc[i];
      sum_scale[r] += (v < 0 ? -v : v) * scale[i];
    }
  for (int r = 0; r < 4; ++r) {
    loc_out[r] = sum_loc[r];
    scale_out[r] = sum_scale[r];
  }
}

#if defined(__AVX512BF16__)
/// Pieces of each input for the bfloat16 dot-product GEMV (split_bf16_pairs): loc in three, which
/// is exact; scale in two, which leaves at most 2^-16 of each term. The scale sum has only
/// positive terms, so that is also its relative error: below the float rounding of the sum itself
/// for inputs wider than 2^16 / 2^8 = 256.
inline constexpr int loc_pieces = 3;
inline constexpr int scale_pieces = 2;

/// cauchy_dot4 for bfloat16 weights on vdpbf16ps: a weight pair word multiplies an input pair
/// word as it is, with no widening, and |w| is one mask for both weights of a pair. Per 32 weights
/// that is 5 dot-product instructions and one mask against 4 FMAs and 6 conversions, which
/// leaves a decoding core more time to wait on memory.
inline void cauchy_dot4_bf16(const std::uint16_t* w, const std::uint16_t* ahead, std::int64_t in,
                             const std::uint32_t* loc_split, const std::uint32_t* scale_split, const float* loc,
                             const float* scale, float loc_out[4], float scale_out[4]) {
  const std::int64_t pairs = (in + 1) / 2;
  const __m512i magnitude = _mm512_set1_epi32(static_cast<int>(WeightSign::magnitude));
  __m512 acc_loc[4], acc_loc2[4], acc_scale[4], acc_scale2[4];
  for (int r = 0; r < 4; ++r) acc_loc[r] = acc_loc2[r] = acc_scale[r] = acc_scale2[r] = _mm512_setzero_ps();
  std::int64_t i = 0;
  for (; i + 32 <= in; i += 32) {
    const std::uint32_t* l = loc_split + i / 2;
    const std::uint32_t* s = scale_split + i / 2;
    const auto l0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(l));
    const auto l1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(l + pairs));
    const auto l2 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(l + 2 * pairs));
    const auto s0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(s));
    const auto s1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(s + pairs));
    for (int r = 0; r < 4; ++r) {
      prefetch_stream(ahead + r * in + i);
      const __m512i v = _mm512_loadu_si512(w + r * in + i);
      const auto wv = reinterpret_cast<__m512bh>(v);
      const auto wa = reinterpret_cast<__m512bh>(_mm512_and_si512(v, magnitude));
      acc_loc[r] = _mm512_dpbf16_ps(acc_loc[r], wv, l0);
      acc_loc2[r] = _mm512_dpbf16_ps(acc_loc2[r], wv, l1);
      acc_loc[r] = _mm512_dpbf16_ps(acc_loc[r], wv, l2);
      acc_scale[r] = _mm512_dpbf16_ps(acc_scale[r], wa, s0);
      acc_scale2[r] = _mm512_dpbf16_ps(acc_scale2[r], wa, s1);
    }
  }
  for (int r = 0; r < 4; ++r) {
    float sum_loc = horizontal_sum(_mm512_add_ps(acc_loc[r], acc_loc2[r]));
    float sum_scale = horizontal_sum(_mm512_add_ps(acc_scale[r], acc_scale2[r]));
    for (std::int64_t k = i; k < in; ++k) {
      const float v = io::bf16_to_float(w[r * in + k]);
      sum_loc += v * loc[k];
      sum_scale += std::abs(v) * scale[k];
    }
    loc_out[r] = sum_loc;
    scale_out[r] = sum_scale;
  }
}
#endif

template <Real T, class W>
void cauchy_gemv_rows(const T* loc, const T* scale, const W* weights, std::int64_t in, std::int64_t begin,
                      std::int64_t end, T* loc_out, T* scale_out) {
  std::int64_t row = begin;
  if constexpr (std::is_same_v<T, float>) {
#if defined(__AVX512BF16__)
    if constexpr (std::is_same_v<W, std::uint16_t>) {
      const std::int64_t pairs = (in + 1) / 2;
      std::vector<std::uint32_t> loc_split(static_cast<std::size_t>(loc_pieces * pairs));
      std::vector<std::uint32_t> scale_split(static_cast<std::size_t>(scale_pieces * pairs));
      split_bf16_pairs(loc, in, loc_pieces, loc_split.data());
      split_bf16_pairs(scale, in, scale_pieces, scale_split.data());
      for (; row + 4 <= end; row += 4) {
        const std::int64_t next = row + 8 <= end ? row + 4 : row;  // never prefetch outside the matrix
        cauchy_dot4_bf16(weights + row * in, weights + next * in, in, loc_split.data(), scale_split.data(), loc, scale,
                         loc_out + row, scale_out + row);
      }
    }
#endif
    for (; row + 4 <= end; row += 4) {
      const std::int64_t next = row + 8 <= end ? row + 4 : row;
      cauchy_dot4(weights + row * in, weights + next * in, in, loc, scale, loc_out + row, scale_out + row);
    }
  }
  for (; row < end; ++row) {
    T sum_loc = 0, sum_scale = 0;
    const W* w = weights + row * in;
    for (std::int64_t i = 0; i < in; ++i) {
      const T v = static_cast<T>(widen(w[i]));
      sum_loc += v * loc[i];
      sum_scale += (v < 0 ? -v : v) * scale[i];
    }
    loc_out[row] = sum_loc;
    scale_out[row] = sum_scale;
  }
}

/// out += sign(w) * v over n contiguous values (sign(0) = 0): the scale term of dW. Eigen's
/// sign() is evaluated one element at a time; this loop vectorises (about 8x faster on an
/// L2-resident tile, 0.15-0.2 s of a training step at the lm_head shape).
template <Real T>
void add_signed(const T* w, const T* v, T* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] += w[i] > 0 ? v[i] : (w[i] < 0 ? -v[i] : T(0));
}

}  // namespace detail

/// loc_out = loc W^T + bias and scale_out = scale |W|^T ([N x out] each) for loc, scale [N x in];
/// an empty `bias` adds nothing. `precision` is that of matmul: with bf16_activations, batches
/// on a bfloat16 W round loc and scale to bfloat16 and multiply on vdpbf16ps.
template <Real T>
void cauchy_linear(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Weight<T>& w, std::span<const T> bias,
                   RowMatrix<T>& loc_out, RowMatrix<T>& scale_out, int threads,
                   [[maybe_unused]] MatmulPrecision precision = MatmulPrecision::exact) {
  require(loc.cols() == w.cols() && scale.rows() == loc.rows() && scale.cols() == loc.cols(), "cauchy_linear: loc ",
          loc.rows(), " x ", loc.cols(), " and scale ", scale.rows(), " x ", scale.cols(), " for a weight of width ",
          w.cols());
  require(bias.empty() || static_cast<std::int64_t>(bias.size()) == w.rows(), "cauchy_linear: ", bias.size(),
          " biases for ", w.rows(), " outputs");
  const std::int64_t rows = loc.rows(), in = w.cols(), outs = w.rows();
  resize_output(loc_out, rows, outs);
  resize_output(scale_out, rows, outs);
  if (rows == 0 || outs == 0) return;

  const auto add_bias = [&](std::int64_t begin, std::int64_t count) {
    if (!bias.empty()) loc_out.middleCols(begin, count).rowwise() += Eigen::Map<const RowVector<T>>(bias.data() + begin, count);
  };
  if (rows < gemm_min_rows) {
    parallel_chunks(threads, outs, 16, 2 * in * rows, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t t = 0; t < rows; ++t) {
        T* lo = loc_out.row(t).data();
        T* so = scale_out.row(t).data();
        if (w.is_bf16()) detail::cauchy_gemv_rows(loc.row(t).data(), scale.row(t).data(), w.bf16_row(0), in, begin, end, lo, so);
        else detail::cauchy_gemv_rows(loc.row(t).data(), scale.row(t).data(), w.dense().data(), in, begin, end, lo, so);
      }
      add_bias(begin, end - begin);
    });
    return;
  }
#if defined(__AVX512BF16__)
  if constexpr (std::is_same_v<T, float>) {
    if (w.is_bf16() && precision == MatmulPrecision::bf16_activations) {
      const std::int64_t pairs = (in + 1) / 2;
      const std::vector<std::uint32_t> loc_pairs = detail::pack_activation_pairs(loc, pairs);
      const std::vector<std::uint32_t> scale_pairs = detail::pack_activation_pairs(scale, pairs);
      parallel_chunks(threads, outs, detail::bf16_panel, 2 * in * rows, [&](std::int64_t begin, std::int64_t end) {
        detail::bf16_gemm_columns(loc_pairs, rows, w.bf16_row(0), outs, in, begin, end, loc_out);
        detail::bf16_gemm_columns(scale_pairs, rows, w.bf16_row(0), outs, in, begin, end, scale_out,
                                  detail::WeightSign::magnitude);
        add_bias(begin, end - begin);
      });
      return;
    }
  }
#endif
  const std::int64_t tile = detail::gemm_tile_rows(in);
  parallel_chunks(threads, outs, 16, 2 * in * rows, [&](std::int64_t begin, std::int64_t end) {
    detail::WeightTile<T> source;
    RowMatrix<T> magnitude;
    for (std::int64_t t0 = begin; t0 < end; t0 += tile) {
      const std::int64_t t1 = std::min(end, t0 + tile);
      source.visit(w, t0, t1, [&](const auto& block) {
        magnitude = block.cwiseAbs();
        loc_out.middleCols(t0, t1 - t0).noalias() = loc * block.transpose();
        add_bias(t0, t1 - t0);
        scale_out.middleCols(t0, t1 - t0).noalias() = scale * magnitude.transpose();
      });
    }
  });
}

/// Backward of cauchy_linear given dL/dloc_out and dL/dscale_out [N x out]:
///   d_weight = d_loc_out^T loc + sign(W) o (d_scale_out^T scale)   [out x in] (sign(0) = 0)
///   d_bias = column sums of d_loc_out                              [out] (when not empty)
///   d_loc = d_loc_out W,  d_scale = d_scale_out |W|                [N x in]
/// Each thread sums its rows of W into its own d_loc/d_scale, added in thread order afterwards:
/// the result is deterministic for a given thread count.
template <Real T>
void cauchy_linear_backward(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Weight<T>& w,
                            const RowMatrix<T>& d_loc_out, const RowMatrix<T>& d_scale_out, RowMatrix<T>& d_weight,
                            std::span<T> d_bias, RowMatrix<T>& d_loc, RowMatrix<T>& d_scale, int threads) {
  const std::int64_t rows = loc.rows(), in = w.cols(), outs = w.rows();
  require(loc.cols() == in && scale.rows() == rows && scale.cols() == in && d_loc_out.rows() == rows &&
              d_loc_out.cols() == outs && d_scale_out.rows() == rows && d_scale_out.cols() == outs,
          "cauchy_linear_backward: shapes do not match a ", outs, " x ", in, " weight and ", rows, " rows");
  require(d_bias.empty() || static_cast<std::int64_t>(d_bias.size()) == outs, "cauchy_linear_backward: ",
          d_bias.size(), " bias gradients for ", outs, " outputs");
  resize_output(d_weight, outs, in);
  const std::int64_t tile = detail::gemm_tile_rows(in);
  const std::int64_t units = (outs + 15) / 16;
  const int workers = worker_count(threads, units, 16 * 4 * in * std::max<std::int64_t>(rows, 1));
  std::vector<RowMatrix<T>> part_loc(static_cast<std::size_t>(workers), RowMatrix<T>::Zero(rows, in));
  std::vector<RowMatrix<T>> part_scale(static_cast<std::size_t>(workers), RowMatrix<T>::Zero(rows, in));
  parallel_workers(workers, outs, 16, [&](int worker, std::int64_t begin, std::int64_t end) {
    detail::WeightTile<T> source;
    RowMatrix<T> magnitude, scale_part;
    auto& own_loc = part_loc[static_cast<std::size_t>(worker)];
    auto& own_scale = part_scale[static_cast<std::size_t>(worker)];
    for (std::int64_t t0 = begin; t0 < end; t0 += tile) {
      const std::int64_t count = std::min(end, t0 + tile) - t0;
      source.visit(w, t0, t0 + count, [&](const auto& block) {
        magnitude = block.cwiseAbs();
        const auto up_loc = d_loc_out.middleCols(t0, count);
        const auto up_scale = d_scale_out.middleCols(t0, count);
        auto grad = d_weight.middleRows(t0, count);
        grad.noalias() = up_loc.transpose() * loc;
        scale_part.noalias() = up_scale.transpose() * scale;
        detail::add_signed(block.data(), scale_part.data(), grad.data(), count * in);  // all three row-major, full rows
        if (!d_bias.empty())
          Eigen::Map<RowVector<T>>(d_bias.data() + t0, count) = up_loc.colwise().sum();
        own_loc.noalias() += up_loc * block;
        own_scale.noalias() += up_scale * magnitude;
      });
    }
  });
  d_loc = std::move(part_loc[0]);
  d_scale = std::move(part_scale[0]);
  for (std::size_t t = 1; t < part_loc.size(); ++t) {
    d_loc += part_loc[t];
    d_scale += part_scale[t];
  }
}

}  // namespace causalqwen::kernels
