#pragma once
// The one-vs-rest binary cross-entropy of every class score of a batch, the elementwise part of
// the causal head's loss: [N x K] evaluations (and as many gradients) that at the lm_head shape
// would cost as much as the action's products if done one std::atan2 at a time. All classes but
// a row's target have label 0, so the kernel runs them a block at a time on vectorised atan2 and
// logs (vector_math.hpp) in forms that keep the accuracy of the scalar kernels of
// cauchy/stable.hpp; the target class, and any block with a lane outside the range where those
// forms hold (non-finite or subnormal inputs, extreme magnitudes), use the scalar kernels. Rows
// are shared over the caller's threads; each row's sum is formed in a fixed order, so the result
// does not depend on the thread count.

#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>
#include <causalqwen/kernels/output_buffer.hpp>
#include <causalqwen/kernels/vector_math.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <span>
#include <vector>

namespace causalqwen::kernels {

/// Largest difference, in units in the last place, between ovr_cross_entropy_rows' per-class
/// terms and gradients and the scalar kernels of cauchy/stable.hpp (tests/kernels check it).
inline constexpr int ovr_loss_max_ulp = 8;

namespace detail {

/// One block of classes of one row: margins m = loc - C and scales s in, label-0 terms out.
template <Real T>
struct OvrBlock {
  vector_math::Block<T> margin, scale, loss, d_margin, d_scale;
};

/// The label-0 term -log(1 - P) = -log(atan2(s, m) / pi) of every lane and, if asked, its
/// gradient. With r = atan2(s, |m|) in (0, pi/2], 1 - P is r/pi for m >= 0 and 1 - r/pi for
/// m < 0, where log1p keeps the small loss exact. With big = max(|m|, s), u = s/big, v = m/big:
/// d/dm = (u/a) / (big (u^2 + v^2)), d/ds = -(v/a) / (big (u^2 + v^2)), a = atan2(s, m), which
/// neither overflows nor underflows before the result does. Returns false, computing nothing
/// reliable, when a lane is outside the range this holds for: s or max(|m|, s) not a normal
/// number below max/8, or r subnormal.
template <Real T>
bool label_zero_block(OvrBlock<T>& b, bool with_gradient) {
  constexpr int lanes = vector_math::block_lanes<T>;
  constexpr T pi = std::numbers::pi_v<T>;
  constexpr T smallest = std::numeric_limits<T>::min(), largest = std::numeric_limits<T>::max() / 8;
  vector_math::Block<T> abs_margin, angle, ratio, log_ratio{}, log1p_ratio{};
  // Flags are accumulated with & on integers, not && on bools, so that the loops vectorise.
  unsigned ordinary = 1, nonnegative = 0, negative = 0;
  for (int j = 0; j < lanes; ++j) {
    abs_margin[j] = std::abs(b.margin[j]);
    ordinary &= unsigned(b.scale[j] >= smallest) & unsigned(b.scale[j] <= largest) &
                unsigned(abs_margin[j] <= largest);  // NaN fails
  }
  if (!ordinary) return false;
  vector_math::atan2(b.scale, abs_margin, angle);
  for (int j = 0; j < lanes; ++j) {
    ordinary &= unsigned(angle[j] >= smallest);
    ratio[j] = angle[j] / pi;
    nonnegative |= unsigned(b.margin[j] >= 0);
    negative |= unsigned(b.margin[j] < 0);
  }
  if (!ordinary) return false;
  // Each lane needs one of the two logarithms; a block whose margins share a sign (most of a
  // trained model's classes lie below their thresholds) evaluates only that one.
  if (nonnegative) vector_math::log(ratio, log_ratio);
  if (negative) {
    for (int j = 0; j < lanes; ++j) ratio[j] = -ratio[j];
    vector_math::log1p(ratio, log1p_ratio);
  }
  for (int j = 0; j < lanes; ++j) b.loss[j] = -(b.margin[j] >= 0 ? log_ratio[j] : log1p_ratio[j]);
  if (!with_gradient) return true;
  for (int j = 0; j < lanes; ++j) {
    const T big = std::max(abs_margin[j], b.scale[j]);
    const T u = b.scale[j] / big, v = b.margin[j] / big;
    const T a = b.margin[j] >= 0 ? angle[j] : pi - angle[j];
    const T norm = big * (u * u + v * v);
    b.d_margin[j] = (u / a) / norm;
    b.d_scale[j] = -(v / a) / norm;
  }
  return true;
}

}  // namespace detail

/// Per row: sum_k BCE(P(S_k > C_k), 1[k = target]); NaN for an ignored row (target < 0) and for a
/// row with a non-positive scale. With `d_loc`/`d_scale` (resized to [N x K], ignored rows zero)
/// also `gradient_weight` times the gradient of each term w.r.t. its loc and scale.
template <Real T>
std::vector<T> ovr_cross_entropy_rows(const RowMatrix<T>& loc, const RowMatrix<T>& scale, const Vector<T>& threshold,
                                      std::span<const std::int32_t> targets, T gradient_weight, RowMatrix<T>* d_loc,
                                      RowMatrix<T>* d_scale, int threads) {
  const std::int64_t n = loc.rows(), k = loc.cols();
  require(scale.rows() == n && scale.cols() == k && threshold.size() == k && static_cast<std::int64_t>(targets.size()) == n,
          "ovr_cross_entropy_rows: ", n, " x ", k, " locations, ", scale.rows(), " x ", scale.cols(), " scales, ",
          threshold.size(), " thresholds and ", targets.size(), " targets do not match");
  const bool with_gradient = d_loc != nullptr && d_scale != nullptr;
  if (with_gradient) {
    resize_output(*d_loc, n, k);
    resize_output(*d_scale, n, k);
  }
  constexpr int lanes = vector_math::block_lanes<T>;
  std::vector<T> sums(static_cast<std::size_t>(n), std::numeric_limits<T>::quiet_NaN());
  // Writes row i's sum and gradient; false leaves the row's sum NaN (ignored or invalid). Only
  // such rows are zeroed afterwards: the gradient buffers are reused across a run's steps and
  // zeroing them whole would be one more pass over [N x K] values.
  const auto fill_row = [&](std::int64_t i) {
    const std::int32_t target = targets[static_cast<std::size_t>(i)];
    if (target < 0) return false;
    T* const row_d_loc = with_gradient ? d_loc->row(i).data() : nullptr;
    T* const row_d_scale = with_gradient ? d_scale->row(i).data() : nullptr;
    // One class on the scalar kernels; false for a non-positive scale (the row keeps NaN: the
    // caller names it).
    const auto scalar_term = [&](std::int64_t c, T& term) {
      const T margin = loc(i, c) - threshold(c);
      const T s = scale(i, c);
      if (!(s > 0)) return false;
      const T label = c == target ? T(1) : T(0);
      term = stable::ovr_binary_cross_entropy(margin, s, label);
      if (with_gradient) {
        const auto g = stable::ovr_binary_cross_entropy_gradient(margin, s, label);
        row_d_loc[c] = gradient_weight * g.d_loc;
        row_d_scale[c] = gradient_weight * g.d_scale;
      }
      return true;
    };
    detail::OvrBlock<T> block;
    vector_math::Block<T> partial{};
    std::int64_t c0 = 0;
    for (; c0 + lanes <= k; c0 += lanes) {
      for (int j = 0; j < lanes; ++j) {
        block.margin[j] = loc(i, c0 + j) - threshold(c0 + j);
        block.scale[j] = scale(i, c0 + j);
      }
      if (detail::label_zero_block(block, with_gradient)) {
        if (with_gradient) {
          for (int j = 0; j < lanes; ++j) {
            row_d_loc[c0 + j] = gradient_weight * block.d_margin[j];
            row_d_scale[c0 + j] = gradient_weight * block.d_scale[j];
          }
        }
        if (target >= c0 && target < c0 + lanes && !scalar_term(target, block.loss[target - c0])) return false;
      } else {
        for (int j = 0; j < lanes; ++j)
          if (!scalar_term(c0 + j, block.loss[j])) return false;
      }
      for (int j = 0; j < lanes; ++j) partial[j] += block.loss[j];
    }
    T sum = 0;
    for (; c0 < k; ++c0) {
      T term = 0;
      if (!scalar_term(c0, term)) return false;
      sum += term;
    }
    for (int j = 0; j < lanes; ++j) sum += partial[j];
    sums[static_cast<std::size_t>(i)] = sum;
    return true;
  };
  parallel_for(threads, n, 64 * k, [&](std::int64_t i) {
    if (fill_row(i) || !with_gradient) return;
    d_loc->row(i).setZero();
    d_scale->row(i).setZero();
  });
  return sums;
}

}  // namespace causalqwen::kernels
