#pragma once
// Closed-form divergences and distances between Cauchy laws. Everything derives from the
// exact KL, computed by stable::kl_divergence in the robust form
//   KL = 2 log cosh(log(gB/gA)/2) + log1p((dmu/(gA+gB))^2),
// a sum of two non-negative parts, accurate to a few ulp from KL = 0 up to the largest values.
// For univariate Cauchy laws every f-divergence is a function of the chi-square divergence
// (Nielsen & Okamura, arXiv:2101.12459), and chi2 = 2 expm1(KL); the Fisher-Rao distance is a
// function of the hyperbolic distance, KL = 2 log cosh(d_FR / sqrt 2). The forms below evaluate
// those functions from KL without cancellation. Sources and derivations: docs/math.md.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>
#include <numbers>

namespace causalqwen {

// ---- KL gradients --------------------------------------------------------------------------------

/// d KL(p || q) / d (loc_p, scale_p, loc_q, scale_q).
template <Real T>
stable::PairGradient<T> kl_divergence_gradient(const Cauchy<T>& p, const Cauchy<T>& q) {
  return stable::kl_divergence_gradient(p.loc(), p.scale(), q.loc(), q.scale());
}

/// Gradient of the KL between vector laws; component i depends only on the parameters of dimension i.
template <Real T, int N>
struct KlGradient {
  Eigen::Matrix<T, N, 1> d_loc_p;
  Eigen::Matrix<T, N, 1> d_scale_p;
  Eigen::Matrix<T, N, 1> d_loc_q;
  Eigen::Matrix<T, N, 1> d_scale_q;
};

template <Real T, int N>
KlGradient<T, N> kl_divergence_gradient(const IndependentCauchy<T, N>& p, const IndependentCauchy<T, N>& q) {
  require(p.dimension() == q.dimension(), "kl_divergence_gradient(IndependentCauchy): dimensions differ, ",
          p.dimension(), " vs ", q.dimension());
  KlGradient<T, N> g{p.loc(), p.loc(), p.loc(), p.loc()};
  for (Eigen::Index i = 0; i < p.dimension(); ++i) {
    const auto gi = stable::kl_divergence_gradient(p.loc()(i), p.scale()(i), q.loc()(i), q.scale()(i));
    g.d_loc_p(i) = gi.d_loc_a;
    g.d_scale_p(i) = gi.d_scale_a;
    g.d_loc_q(i) = gi.d_loc_b;
    g.d_scale_q(i) = gi.d_scale_b;
  }
  return g;
}

// ---- functions of KL -----------------------------------------------------------------------------

namespace detail {
/// Hyperbolic distance rho in the upper half-plane with metric (dmu^2 + dg^2)/g^2, from
/// KL = 2 log cosh(rho/2): rho/2 = acosh(e^{KL/2}) = KL/2 + log(1 + sqrt(1 - e^{-KL})).
/// Every term is >= 0, so there is no cancellation for any KL.
template <Real T>
T hyperbolic_distance_from_kl(T kl) {
  return kl + 2 * std::log1p(std::sqrt(-std::expm1(-kl)));
}

/// log(1 + chi2) with chi2 = 2 expm1(KL), without overflowing for large KL.
template <Real T>
T log1p_chi_square_from_kl(T kl) {
  if (kl < 1) return std::log1p(2 * std::expm1(kl));
  return kl + std::log(2 - std::exp(-kl));  // log(2 e^KL - 1)
}
}  // namespace detail

/// Fisher-Rao (information-geometric) distance: the Fisher metric (dmu^2 + dg^2)/(2 g^2) is half
/// the hyperbolic one, so d_FR = rho / sqrt 2.
template <Real T>
T fisher_rao_distance(const Cauchy<T>& p, const Cauchy<T>& q) {
  return detail::hyperbolic_distance_from_kl(kl_divergence(p, q)) / std::numbers::sqrt2_v<T>;
}

/// For the independent product the Fisher metric is the sum of the components' metrics, so the
/// geodesic distance is the Euclidean norm of the per-component distances.
template <Real T, int N>
T fisher_rao_distance(const IndependentCauchy<T, N>& p, const IndependentCauchy<T, N>& q) {
  require(p.dimension() == q.dimension(), "fisher_rao_distance(IndependentCauchy): dimensions differ, ",
          p.dimension(), " vs ", q.dimension());
  Eigen::Matrix<T, N, 1> d(p.dimension());
  for (Eigen::Index i = 0; i < p.dimension(); ++i)
    d(i) = fisher_rao_distance(p.marginal(i), q.marginal(i));
  return d.stableNorm();
}

/// Pearson chi-square divergence int (q - p)^2 / p = (dmu^2 + (gp - gq)^2) / (2 gp gq) (symmetric),
/// evaluated as 2 expm1(KL) so that it keeps its relative accuracy when p ~ q.
template <Real T>
T chi_square_divergence(const Cauchy<T>& p, const Cauchy<T>& q) {
  return 2 * std::expm1(kl_divergence(p, q));
}

/// log(1 + chi2) for products: finite whenever the parameters are.
template <Real T, int N>
T log1p_chi_square_divergence(const IndependentCauchy<T, N>& p, const IndependentCauchy<T, N>& q) {
  require(p.dimension() == q.dimension(), "chi_square_divergence(IndependentCauchy): dimensions differ, ",
          p.dimension(), " vs ", q.dimension());
  T sum = 0;
  for (Eigen::Index i = 0; i < p.dimension(); ++i)
    sum += detail::log1p_chi_square_from_kl(
        stable::kl_divergence(p.loc()(i), p.scale()(i), q.loc()(i), q.scale()(i)));
  return sum;
}

/// For products, 1 + chi2 = prod_i (1 + chi2_i). The result is +inf when chi2 exceeds the
/// floating-point range (its logarithm, log1p_chi_square, stays finite).
template <Real T, int N>
T chi_square_divergence(const IndependentCauchy<T, N>& p, const IndependentCauchy<T, N>& q) {
  return std::expm1(log1p_chi_square_divergence(p, q));
}

/// Total variation distance sup_A |P(A) - Q(A)| = (2/pi) atan(sqrt(chi2 / 2)) = (2/pi) atan(sqrt(expm1 KL)).
/// Being an f-divergence it depends on the pair only through chi2 (Nielsen & Okamura); the value
/// is fixed by the location-only family, where {p > q} is a half-line and the formula is
/// elementary (derivation in docs/math.md; tests check it against the exact interval form).
template <Real T>
T total_variation_distance(const Cauchy<T>& p, const Cauchy<T>& q) {
  return 2 * std::atan(std::sqrt(std::expm1(kl_divergence(p, q)))) / std::numbers::pi_v<T>;
}

}  // namespace causalqwen
