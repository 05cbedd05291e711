#pragma once
// Scalar kernels of the Cauchy law that everything else is built on: the one-vs-rest
// probability P(S > 0) and its logs, the Cauchy negative log-likelihood and the 1-D KL
// divergence, each with its analytic gradient. The naive textbook forms lose all accuracy in
// the tails (0.5 + atan(z)/pi is 0 for z < -1e17, log(((gA+gB)^2+dmu^2)/(4gAgB)) has absolute
// error 1e-16 so KL ~ 1e-20 comes out as noise); the forms here keep relative accuracy near
// machine epsilon over the whole range. Derivations: docs/math.md.

#include <causalqwen/core/real.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace causalqwen::stable {

template <Real T>
struct LocScaleGradient {
  T d_loc;
  T d_scale;
};

template <Real T>
struct PairGradient {
  T d_loc_a;
  T d_scale_a;
  T d_loc_b;
  T d_scale_b;
};

// ---- one-vs-rest probability P = P(S > 0) for S ~ Cauchy(loc, scale) -------------------------

/// P = 1/2 + atan(loc/scale)/pi, written as atan2(scale, -loc)/pi: exact in both tails and
/// never forms loc/scale, so tiny scales cannot overflow it.
template <Real T>
T ovr_probability(T loc, T scale) {
  return std::atan2(scale, -loc) / std::numbers::pi_v<T>;
}

/// 1 - P, computed directly (not as 1 - P, which cancels when P -> 1).
template <Real T>
T ovr_complement(T loc, T scale) {
  return std::atan2(scale, loc) / std::numbers::pi_v<T>;
}

/// log P without cancellation for every loc/scale ratio.
template <Real T>
T log_ovr_probability(T loc, T scale) {
  const T log_pi = std::log(std::numbers::pi_v<T>);
  if (loc > 0) return std::log1p(-ovr_complement(loc, scale));
  const T x = -loc;
  if (x >= scale) {
    const T w = scale / x;
    // Below the normal range atan(w) = w but w itself has lost digits: use logs instead.
    if (w >= std::numeric_limits<T>::min()) return std::log(std::atan(w)) - log_pi;
    return std::log(scale) - std::log(x) - log_pi;
  }
  return std::log(std::atan2(scale, x)) - log_pi;
}

/// log(1 - P) = log P(S <= 0) = log_ovr_probability(-loc, scale).
template <Real T>
T log_ovr_complement(T loc, T scale) {
  return log_ovr_probability(-loc, scale);
}

namespace detail {
/// Gradient of log(atan2(y, x)) for y > 0, as {d/dx, d/dy}; stable when the angle is tiny.
template <Real T>
LocScaleGradient<T> log_atan2_gradient(T y, T x) {
  if (x >= y) {
    const T w = y / x;
    const T c = w < std::sqrt(std::numeric_limits<T>::epsilon()) ? T(1) - w * w / 3 : std::atan(w) / w;
    const T denominator = (T(1) + w * w) * c;
    return {-T(1) / (x * denominator), T(1) / (y * denominator)};
  }
  const T h = std::hypot(x, y);
  const T angle = std::atan2(y, x);
  return {-(y / h) / h / angle, (x / h) / h / angle};
}
}  // namespace detail

/// d log P / d loc and d log P / d scale.
template <Real T>
LocScaleGradient<T> log_ovr_probability_gradient(T loc, T scale) {
  // log P = log atan2(scale, -loc) - log pi.
  const auto g = detail::log_atan2_gradient(scale, -loc);
  return {-g.d_loc, g.d_scale};
}

/// d log(1-P) / d loc and d log(1-P) / d scale.
template <Real T>
LocScaleGradient<T> log_ovr_complement_gradient(T loc, T scale) {
  // log(1-P) = log atan2(scale, loc) - log pi.
  return detail::log_atan2_gradient(scale, loc);
}

/// Binary cross-entropy of the OvR probability against a (possibly soft) label y in [0, 1].
template <Real T>
T ovr_binary_cross_entropy(T loc, T scale, T label) {
  T loss = 0;
  if (label != 0) loss -= label * log_ovr_probability(loc, scale);
  if (label != 1) loss -= (T(1) - label) * log_ovr_complement(loc, scale);
  return loss;
}

template <Real T>
LocScaleGradient<T> ovr_binary_cross_entropy_gradient(T loc, T scale, T label) {
  LocScaleGradient<T> g{0, 0};
  if (label != 0) {
    const auto p = log_ovr_probability_gradient(loc, scale);
    g.d_loc -= label * p.d_loc;
    g.d_scale -= label * p.d_scale;
  }
  if (label != 1) {
    const auto q = log_ovr_complement_gradient(loc, scale);
    g.d_loc -= (T(1) - label) * q.d_loc;
    g.d_scale -= (T(1) - label) * q.d_scale;
  }
  return g;
}

// ---- Cauchy negative log-likelihood -log p(y | loc, scale) ------------------------------------

template <Real T>
T cauchy_nll(T y, T loc, T scale) {
  const T log_pi = std::log(std::numbers::pi_v<T>);
  const T e = y - loc;
  const T abs_e = std::abs(e);
  if (abs_e <= scale) {
    const T r = e / scale;
    return log_pi + std::log(scale) + std::log1p(r * r);
  }
  // 2 log|e| - log g rather than 2 log|r| + log g: r itself may overflow when g is tiny. When
  // y - loc itself overflows, both come from its half h = (y - loc) / 2, which is finite.
  const bool overflow = !std::isfinite(e);
  const T h = overflow ? y / 2 - loc / 2 : e;
  const T log_abs_e = overflow ? std::log(std::abs(h)) + std::numbers::ln2_v<T> : std::log(abs_e);
  const T q = overflow ? scale / h / 2 : scale / e;
  return log_pi + 2 * log_abs_e - std::log(scale) + std::log1p(q * q);
}

/// d NLL / d loc and d NLL / d scale (d NLL / d y = -d_loc). |d_loc| <= 1/scale: a redescending loss.
template <Real T>
LocScaleGradient<T> cauchy_nll_gradient(T y, T loc, T scale) {
  const T e = y - loc;
  if (std::abs(e) <= scale) {
    const T r = e / scale;
    const T one_plus = T(1) + r * r;
    return {-2 * r / (scale * one_plus), (T(1) - r * r) / (scale * one_plus)};
  }
  const T q = scale / e;
  const T one_plus = T(1) + q * q;
  return {-2 / (e * one_plus), (q * q - T(1)) / (scale * one_plus)};
}

// ---- KL divergence between two 1-D Cauchy laws (symmetric) ------------------------------------
// The KL is the sum of a scale part and a location part, each >= 0; the fusion bounds
// (fusion_bounds.hpp) evaluate the parts from displacements they know more accurately.

/// Scale part 2 log cosh(log(hi/lo)/2) of the KL, >= 0, given lo <= hi and their difference
/// hi - lo. Callers that know the difference more accurately than hi - lo (a fused displacement)
/// pass it directly; that keeps the relative accuracy of tiny KL values.
template <Real T>
T kl_scale_part_from_difference(T lo, T hi, T difference) {
  if (hi <= 4 * lo) return std::log1p((difference / lo) * (difference / hi) / 4);
  const T ratio = hi / lo;
  const T a = std::isfinite(ratio) ? std::log(ratio) : std::log(hi) - std::log(lo);
  return a + 2 * std::log1p(std::exp(-a)) - 2 * std::numbers::ln2_v<T>;
}

/// Scale part of KL(Cauchy(., scale_a) || Cauchy(., scale_b)).
template <Real T>
T kl_scale_part(T scale_a, T scale_b) {
  const T lo = std::min(scale_a, scale_b);
  const T hi = std::max(scale_a, scale_b);
  // hi - lo is a single correctly rounded subtraction (exact by Sterbenz' lemma when hi <= 2 lo).
  return kl_scale_part_from_difference(lo, hi, hi - lo);
}

/// Location part log1p(w^2), w = |dmu| / (gA + gB), >= 0. A difference or sum that overflows
/// is carried as its (finite) half, and w as dmu / s times 2^shift; halving the sum is exact (it
/// only overflows for huge scales), and halving the difference never touches the scales, so
/// subnormal scales keep their digits.
template <Real T>
T kl_location_part(T loc_a, T loc_b, T scale_a, T scale_b) {
  T dmu = std::abs(loc_a - loc_b);
  T s = scale_a + scale_b;
  int shift = 0;
  if (!std::isfinite(dmu)) {
    dmu = std::abs(loc_a / 2 - loc_b / 2);
    ++shift;
  }
  if (!std::isfinite(s)) {
    s = scale_a / 2 + scale_b / 2;
    --shift;
  }
  const T w = std::ldexp(dmu / s, shift);
  if (w <= 1) return std::log1p(w * w);
  const T lw = std::isfinite(w) ? std::log(w) : std::log(dmu) - std::log(s) + T(shift) * std::numbers::ln2_v<T>;
  return 2 * lw + std::log1p(std::exp(-2 * lw));
}

/// KL(A || B) = log(((gA+gB)^2 + dmu^2) / (4 gA gB)), as a sum of two non-negative parts.
template <Real T>
T kl_divergence(T loc_a, T scale_a, T loc_b, T scale_b) {
  return kl_scale_part(scale_a, scale_b) + kl_location_part(loc_a, loc_b, scale_a, scale_b);
}

/// Gradient of KL(A || B) with respect to all four parameters.
template <Real T>
PairGradient<T> kl_divergence_gradient(T loc_a, T scale_a, T loc_b, T scale_b) {
  const T s = scale_a + scale_b;
  const T w = (loc_a - loc_b) / s;
  const T t = (scale_a - scale_b) / s;
  T d_loc_a;
  T d_scale_a;
  T d_scale_b;
  if (std::abs(w) <= 1) {
    const T one_plus = T(1) + w * w;
    d_loc_a = 2 * w / (s * one_plus);
    d_scale_a = (t - w * w) / (scale_a * one_plus);
    d_scale_b = (-t - w * w) / (scale_b * one_plus);
  } else {
    const T inv_w2 = T(1) / (w * w);
    d_loc_a = 2 / (s * (w + T(1) / w));
    d_scale_a = (t * inv_w2 - T(1)) / (scale_a * (inv_w2 + T(1)));
    d_scale_b = (-t * inv_w2 - T(1)) / (scale_b * (inv_w2 + T(1)));
  }
  return {d_loc_a, d_scale_a, -d_loc_a, d_scale_b};
}

}  // namespace causalqwen::stable
