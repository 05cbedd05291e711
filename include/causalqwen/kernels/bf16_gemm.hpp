#pragma once
// out = x W^T with x rounded to bfloat16 and bfloat16 weights, on the AVX512-BF16 dot-product
// instruction (vdpbf16ps: two bfloat16 products per float lane per instruction, accumulated in
// float). This is the arithmetic llama.cpp uses for bf16 models: about twice the float FMA rate
// and no widening of the weights, at the price of rounding the activations to 8 significant bits.
//
// Layout: a panel of 32 weight rows is repacked so that one 512-bit load holds, for each of 16
// rows, the pair of weights that multiplies one pair of activations; a broadcast of that
// activation pair then feeds 16 outputs at once, and a block of 8 positions x 32 rows keeps 16
// accumulators in registers with no horizontal sums.

#include <causalqwen/core/matrix.hpp>
#include <causalqwen/io/dtype.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__AVX512BF16__)
#include <immintrin.h>
#endif

namespace causalqwen::kernels {

/// Whether this build has the bfloat16 dot-product kernel (compiled with AVX512-BF16).
inline constexpr bool has_bf16_dot_kernel =
#if defined(__AVX512BF16__)
    true;
#else
    false;
#endif

#if defined(__AVX512BF16__)
namespace detail {

inline constexpr std::int64_t bf16_panel = 32;  // weight rows per packed panel
inline constexpr std::int64_t bf16_block = 8;   // positions per register block

/// Activations rounded to bfloat16, row-major [rows x pairs] of 32-bit words that each hold the
/// two activations of one pair (an odd width is padded with a zero).
inline std::vector<std::uint32_t> pack_activation_pairs(const RowMatrix<float>& x, std::int64_t pairs) {
  std::vector<std::uint32_t> packed(static_cast<std::size_t>(x.rows() * pairs), 0);
  for (std::int64_t r = 0; r < x.rows(); ++r)
    for (std::int64_t c = 0; c < x.cols(); ++c) {
      const std::uint32_t bits = io::float_to_bf16(x(r, c));
      packed[static_cast<std::size_t>(r * pairs + c / 2)] |= bits << (16 * (c % 2));
    }
  return packed;
}

/// Which values of a bfloat16 weight a GEMM multiplies: the weight or its magnitude |W| (the
/// scale product of the Cauchy linear map). |w| of a bfloat16 pair word clears both sign bits.
enum class WeightSign : std::uint32_t { as_is = 0xFFFFFFFFu, magnitude = 0x7FFF7FFFu };

/// x [n] as a sum of `pieces` bfloat16 vectors, written as activation pairs: out[q * pairs + p]
/// holds piece q of x[2p] and x[2p + 1] (pairs = (n + 1) / 2). Piece q is what pieces 0..q-1 leave
/// of x, rounded to nearest; each rounding keeps 8 significant bits, so three pieces hold every
/// float exactly and two leave at most 2^-16 |x|. Products of bfloat16 numbers are exact in float,
/// which makes vdpbf16ps over the pieces a float dot product with exact inputs. (The instruction
/// flushes subnormals: pieces below 2^-126, i.e. of |x| < 2^-110, are lost.) A non-finite x is
/// its first piece alone; a finite x that would round to infinity is truncated instead.
inline void split_bf16_pairs(const float* x, std::int64_t n, int pieces, std::uint32_t* out) {
  const std::int64_t pairs = (n + 1) / 2;
  std::fill(out, out + pieces * pairs, 0u);
  for (std::int64_t i = 0; i < n; ++i) {
    float rest = x[i];
    for (int q = 0; q < pieces; ++q) {
      const bool finite = std::isfinite(rest);
      std::uint16_t bits = io::float_to_bf16(rest);
      if (finite && !std::isfinite(io::bf16_to_float(bits)))
        bits = static_cast<std::uint16_t>(std::bit_cast<std::uint32_t>(rest) >> 16);
      out[q * pairs + i / 2] |= std::uint32_t{bits} << (16 * (i % 2));
      rest = finite ? rest - io::bf16_to_float(bits) : 0.0f;
    }
  }
}

/// Packs weight rows [begin, begin + 32) (zero beyond `rows`) as [pairs][32] words. A pair of
/// adjacent bfloat16 values is already one little-endian word: packing is a transpose of words.
inline void pack_weight_panel(const std::uint16_t* w, std::int64_t rows, std::int64_t in, std::int64_t begin,
                              std::int64_t pairs, WeightSign sign, std::vector<std::uint32_t>& panel) {
  const auto mask = static_cast<std::uint32_t>(sign);
  panel.assign(static_cast<std::size_t>(pairs * bf16_panel), 0);
  for (std::int64_t j = 0; j < bf16_panel && begin + j < rows; ++j) {
    const std::uint16_t* row = w + (begin + j) * in;
    std::uint32_t* column = panel.data() + j;
    for (std::int64_t p = 0; p < in / 2; ++p) {
      std::uint32_t word;
      std::memcpy(&word, row + 2 * p, sizeof word);
      column[p * bf16_panel] = word & mask;
    }
    if (in % 2 != 0) column[(pairs - 1) * bf16_panel] = row[in - 1] & mask;
  }
}

/// out rows [t0, t0 + Block) x columns [col, col + valid) of one packed panel.
template <int Block>
inline void bf16_block_kernel(const std::uint32_t* x, const std::uint32_t* panel, std::int64_t pairs, float* out,
                              std::int64_t out_stride, std::int64_t valid) {
  __m512 acc[Block][2];
  for (int m = 0; m < Block; ++m) acc[m][0] = acc[m][1] = _mm512_setzero_ps();
  for (std::int64_t p = 0; p < pairs; ++p) {
    const __m512bh w0 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + p * bf16_panel));
    const __m512bh w1 = reinterpret_cast<__m512bh>(_mm512_loadu_si512(panel + p * bf16_panel + 16));
    for (int m = 0; m < Block; ++m) {
      const __m512bh xv = reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(x[m * pairs + p])));
      acc[m][0] = _mm512_dpbf16_ps(acc[m][0], w0, xv);
      acc[m][1] = _mm512_dpbf16_ps(acc[m][1], w1, xv);
    }
  }
  const auto low = static_cast<__mmask16>(valid >= 16 ? 0xFFFF : (1u << valid) - 1);
  const auto high = static_cast<__mmask16>(valid >= 32 ? 0xFFFF : valid <= 16 ? 0 : (1u << (valid - 16)) - 1);
  for (int m = 0; m < Block; ++m) {
    _mm512_mask_storeu_ps(out + m * out_stride, low, acc[m][0]);
    _mm512_mask_storeu_ps(out + m * out_stride + 16, high, acc[m][1]);
  }
}

/// Output columns [begin, end) of out = bf16(x) W^T (or bf16(x) |W|^T), x given as packed
/// activation pairs.
inline void bf16_gemm_columns(const std::vector<std::uint32_t>& x, std::int64_t positions, const std::uint16_t* w,
                              std::int64_t rows, std::int64_t in, std::int64_t begin, std::int64_t end,
                              RowMatrix<float>& out, WeightSign sign = WeightSign::as_is) {
  const std::int64_t pairs = (in + 1) / 2;
  std::vector<std::uint32_t> panel;
  for (std::int64_t col = begin; col < end; col += bf16_panel) {
    pack_weight_panel(w, rows, in, col, pairs, sign, panel);
    const std::int64_t valid = std::min(bf16_panel, end - col);
    std::int64_t t = 0;
    for (; t + bf16_block <= positions; t += bf16_block)
      bf16_block_kernel<bf16_block>(x.data() + t * pairs, panel.data(), pairs, out.data() + t * out.cols() + col,
                                    out.cols(), valid);
    for (; t < positions; ++t)
      bf16_block_kernel<1>(x.data() + t * pairs, panel.data(), pairs, out.data() + t * out.cols() + col, out.cols(), valid);
  }
}

}  // namespace detail
#endif

}  // namespace causalqwen::kernels
