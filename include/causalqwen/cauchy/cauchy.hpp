#pragma once
// The univariate Cauchy law Cauchy(loc, scale), density scale / (pi (scale^2 + (x - loc)^2)).
// In the style of Boost.Math distributions: a small validated value type, and the mathematics
// in free functions. Tails are computed directly (survival is not 1 - cdf).

#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <cmath>
#include <complex>
#include <limits>
#include <numbers>

namespace causalqwen {

template <Real T = double>
class Cauchy {
 public:
  using value_type = T;

  /// Throws causalqwen::error unless loc is finite and scale is finite and > 0.
  Cauchy(T loc, T scale) : loc_(loc), scale_(scale) {
    require(std::isfinite(loc), "Cauchy: location must be finite, got ", loc);
    require(std::isfinite(scale) && scale > 0, "Cauchy: scale must be finite and > 0, got ", scale);
  }

  T loc() const noexcept { return loc_; }
  T scale() const noexcept { return scale_; }

  friend bool operator==(const Cauchy&, const Cauchy&) = default;

 private:
  T loc_;
  T scale_;
};

namespace detail {
template <Real T>
void require_argument(T x, const char* function) {
  require(!std::isnan(x), function, ": argument is NaN");
}
template <Real T>
void require_probability(T p, const char* function) {
  require(p >= 0 && p <= 1, function, ": probability must lie in [0, 1], got ", p);
}

/// scale / tan(pi p) for p in (0, 1/4], times 2^exponent. On (0, 1/4] tan(pi p) is well
/// conditioned, so the result keeps p's digits; a subnormal p is first moved into the normal range
/// (exactly, by a power of two), where pi p would otherwise round away its digits.
template <Real T>
T scale_over_tan_pi(T scale, T p, int exponent) {
  const T pi = std::numbers::pi_v<T>;
  if (p >= std::numeric_limits<T>::min()) return std::ldexp(scale, exponent) / std::tan(pi * p);
  constexpr int shift = std::numeric_limits<T>::digits;
  return std::ldexp(scale / (pi * std::ldexp(p, shift)), exponent + shift);
}

/// loc + scale tan(pi (p - 1/2)), the quantile at p in (0, 1) (scale may be negative: the
/// quantile of the survival). Each range is computed from the distance that is exact there: p - 1/2
/// near the centre, p or 1 - p in the tails (Sterbenz' lemma makes both subtractions exact), so
/// the result is accurate to a few ulp for every p instead of losing the digits of p - 1/2.
template <Real T>
T location_plus_quantile(T loc, T scale, T p) {
  if (p >= T(0.25) && p <= T(0.75)) return loc + scale * std::tan(std::numbers::pi_v<T> * (p - T(0.5)));
  // tan(pi (p - 1/2)) = -1 / tan(pi p) = 1 / tan(pi (1 - p)).
  const bool lower = p < T(0.5);
  const T tail = lower ? p : T(1) - p;
  const T sign = lower ? T(-1) : T(1);
  const T offset = sign * scale_over_tan_pi(scale, tail, 0);
  if (std::isfinite(offset)) return loc + offset;
  // The offset alone overflows, but a location of the other sign may bring the sum back in range.
  return 2 * (loc / 2 + sign * scale_over_tan_pi(scale, tail, -1));
}

/// tan(pi (p - 1/2)), the standard Cauchy quantile, for p in (0, 1).
template <Real T>
T standard_quantile(T p) {
  return location_plus_quantile(T(0), T(1), p);
}

/// P(S > 0) for S ~ Cauchy(a - b, scale), without forming a - b when it overflows. The
/// probabilities depend on the ratio (a - b) / scale alone, so both are halved then; halving is
/// exact unless scale < 2 min_normal, and there |a - b| / scale > 2^(2 max_exponent - 3), where
/// the probability is 0 or 1 to the last bit either way.
template <Real T>
T ovr_probability_of_difference(T a, T b, T scale) {
  const T difference = a - b;
  if (std::isfinite(difference)) return stable::ovr_probability(difference, scale);
  return stable::ovr_probability(a / 2 - b / 2, scale / 2);
}

/// log P(S > 0) for S ~ Cauchy(a - b, scale), overflow-free as above. Only the far tail needs
/// the unhalved scale: log P = log scale - log |a - b| - log pi, which keeps its digits even for
/// a subnormal scale.
template <Real T>
T log_ovr_probability_of_difference(T a, T b, T scale) {
  const T difference = a - b;
  if (std::isfinite(difference)) return stable::log_ovr_probability(difference, scale);
  const T half = a / 2 - b / 2;
  if (half > 0 || scale >= 2 * std::numeric_limits<T>::min()) return stable::log_ovr_probability(half, scale / 2);
  return std::log(scale) - std::log(-half) - std::numbers::ln2_v<T> - std::log(std::numbers::pi_v<T>);
}
}  // namespace detail

template <Real T>
T log_pdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "log_pdf(Cauchy)");
  return -stable::cauchy_nll(x, d.loc(), d.scale());
}

template <Real T>
T pdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "pdf(Cauchy)");
  const T g = d.scale();
  const T inv_pi = std::numbers::inv_pi_v<T>;
  T e = x - d.loc();
  // When x - loc overflows, work with its half h = e / 2: g / (pi e^2) = (g / 2h) / (pi h) / 2.
  const bool halved = !std::isfinite(e);
  if (halved) e = x / 2 - d.loc() / 2;
  if (!halved && std::abs(e) <= g) {
    const T r = e / g;
    // 1 / pi first: pi g overflows for g > max / pi.
    return inv_pi / g / (T(1) + r * r);
  }
  // g / (pi e^2) arranged so that neither e^2 nor 1/g nor pi e overflows.
  const T q = halved ? g / e / 2 : g / e;
  const T density = std::abs(q * inv_pi / e) / (T(1) + q * q);
  return halved ? density / 2 : density;
}

template <Real T>
T cdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "cdf(Cauchy)");
  return detail::ovr_probability_of_difference(x, d.loc(), d.scale());
}

/// P(X > x), computed directly so that the upper tail keeps its relative accuracy.
template <Real T>
T survival(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "survival(Cauchy)");
  return detail::ovr_probability_of_difference(d.loc(), x, d.scale());
}

template <Real T>
T log_cdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "log_cdf(Cauchy)");
  return detail::log_ovr_probability_of_difference(x, d.loc(), d.scale());
}

template <Real T>
T log_survival(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "log_survival(Cauchy)");
  return detail::log_ovr_probability_of_difference(d.loc(), x, d.scale());
}

/// The x with cdf(x) = p; -inf at p = 0 and +inf at p = 1.
template <Real T>
T quantile(const Cauchy<T>& d, T p) {
  detail::require_probability(p, "quantile(Cauchy)");
  if (p == 0) return -std::numeric_limits<T>::infinity();
  if (p == 1) return std::numeric_limits<T>::infinity();
  return detail::location_plus_quantile(d.loc(), d.scale(), p);
}

/// The x with survival(x) = q, without forming 1 - q.
template <Real T>
T quantile_survival(const Cauchy<T>& d, T q) {
  detail::require_probability(q, "quantile_survival(Cauchy)");
  if (q == 0) return std::numeric_limits<T>::infinity();
  if (q == 1) return -std::numeric_limits<T>::infinity();
  // The standard quantile is odd around 1/2: survival(x) = q at x = loc - scale * Q(q).
  return detail::location_plus_quantile(d.loc(), -d.scale(), q);
}

template <Real T>
T median(const Cauchy<T>& d) {
  return d.loc();
}

template <Real T>
T mode(const Cauchy<T>& d) {
  return d.loc();
}

/// Differential entropy log(4 pi scale), as a sum of logs so that large scales cannot overflow.
template <Real T>
T entropy(const Cauchy<T>& d) {
  return std::log(4 * std::numbers::pi_v<T>) + std::log(d.scale());
}

/// E exp(i t X) = exp(i loc t - scale |t|).
template <Real T>
std::complex<T> characteristic_function(const Cauchy<T>& d, T t) {
  detail::require_argument(t, "characteristic_function(Cauchy)");
  return std::exp(std::complex<T>(-d.scale() * std::abs(t), d.loc() * t));
}

/// Exact KL(p || q) (symmetric for the Cauchy family), accurate down to KL ~ 1e-300.
template <Real T>
T kl_divergence(const Cauchy<T>& p, const Cauchy<T>& q) {
  return stable::kl_divergence(p.loc(), p.scale(), q.loc(), q.scale());
}

}  // namespace causalqwen
