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

/// tan(pi (p - 1/2)), the standard Cauchy quantile, for p in (0, 1). tan(pi (p - 1/2)) =
/// -1/tan(pi p): evaluating at the nearer tail keeps p's digits (1 - p is exact for p >= 1/2).
template <Real T>
T standard_quantile(T p) {
  const T pi = std::numbers::pi_v<T>;
  if (p < T(0.5)) return -T(1) / std::tan(pi * p);
  if (p > T(0.5)) return T(1) / std::tan(pi * (T(1) - p));
  return T(0);
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
  const T e = x - d.loc();
  const T g = d.scale();
  if (std::abs(e) <= g) {
    const T r = e / g;
    return T(1) / (std::numbers::pi_v<T> * g * (T(1) + r * r));
  }
  // g / (pi e^2) arranged so that neither e^2 nor 1/g overflows.
  const T q = g / e;
  return std::abs(q / (std::numbers::pi_v<T> * e)) / (T(1) + q * q);
}

template <Real T>
T cdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "cdf(Cauchy)");
  return stable::ovr_probability(x - d.loc(), d.scale());
}

/// P(X > x), computed directly so that the upper tail keeps its relative accuracy.
template <Real T>
T survival(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "survival(Cauchy)");
  return stable::ovr_complement(x - d.loc(), d.scale());
}

template <Real T>
T log_cdf(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "log_cdf(Cauchy)");
  return stable::log_ovr_probability(x - d.loc(), d.scale());
}

template <Real T>
T log_survival(const Cauchy<T>& d, T x) {
  detail::require_argument(x, "log_survival(Cauchy)");
  return stable::log_ovr_complement(x - d.loc(), d.scale());
}

/// The x with cdf(x) = p; -inf at p = 0 and +inf at p = 1.
template <Real T>
T quantile(const Cauchy<T>& d, T p) {
  detail::require_probability(p, "quantile(Cauchy)");
  if (p == 0) return -std::numeric_limits<T>::infinity();
  if (p == 1) return std::numeric_limits<T>::infinity();
  return d.loc() + d.scale() * detail::standard_quantile(p);
}

/// The x with survival(x) = q, without forming 1 - q.
template <Real T>
T quantile_survival(const Cauchy<T>& d, T q) {
  detail::require_probability(q, "quantile_survival(Cauchy)");
  if (q == 0) return std::numeric_limits<T>::infinity();
  if (q == 1) return -std::numeric_limits<T>::infinity();
  // The standard quantile is odd around 1/2: survival(x) = q at x = loc - scale * Q(q).
  return d.loc() - d.scale() * detail::standard_quantile(q);
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
