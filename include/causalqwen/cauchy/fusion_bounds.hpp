#pragma once
// Certified KL bounds for fusing domain deltas of the abduction.
//
// Setting (per position, i.e. per hidden state h): the base abduction gives P0 = independent
// Cauchy(mu0, g0) in d dimensions; domain k gives P_k = (mu_k, g_k), with budget
// eps_k >= KL(P0 || P_k). Fusing with weights alpha_k moves the parameters by
// sum_k alpha_k (theta_k - theta0) in the link's coordinates:
//   ScaleCoordinate::scale     (g = W_g h):  mu = mu0 + sum a_k (mu_k - mu0),  g = g0 + sum a_k (g_k - g0)
//   ScaleCoordinate::log_scale (log g = W_g h):  mu as above,                      g = g0 * exp(sum a_k log(g_k / g0))
// With the identity link the fused scale can be <= 0: then there is no fused distribution.
//
// Three numbers describe a fusion:
//   (a) exact_kl        KL(P0 || P_fused), when the displaced laws are known;
//   (b) design_estimate (sum |a_k| sqrt(eps_k))^2, the leading-order term only: it is NOT a bound
//                       (exceeded in ~11-19 % of random fusions, by up to 60x);
//   (c) certified bound identity link: min(Theorem 1 G(R) if R = sum|a_k| rho_k < 1,
//                       Theorem 1b if a_k >= 0 and sum a_k <= 1); log link: min(Theorem 2a, 2b).
// (a) and (c) are FusionResult values: either a number or the reason there is none (fused scale
// not positive, no theorem applies, bound beyond floating-point range). Bad input (NaN, negative
// budgets, mismatched sizes) throws causalqwen::error instead.
//
// Certified bounds are rounded up: the computed value is multiplied by (1 + 256 eps_machine) (and
// R is inflated likewise before the R < 1 test), which dominates the rounding of their evaluation,
// so the returned number bounds the KL of the mathematical fused law defined by the inputs.
//
// API for per-position certification over a batch (positions = rows):
//   certify_fusion_rows(link, base_rows, domain_rows, alpha)  base and each domain an
//       IndependentCauchyRows<T> [P x d]; alpha a Vector<T> [K]; budgets are the exact
//       KL(P0 || P_k) of each position; returns std::vector<FusionCertificate<T>> [P].
//   certify_fusion_rows(link, d, budgets, alpha)  budgets a RowMatrix<T> [P x K] (one row of
//       eps_k per position) when only budgets are known; exact_kl then has no value.
// Per position: certify_fusion(link, base, domains, alpha) and certify_fusion(link, d, budgets,
// alpha); the building blocks (design_estimate, identity_link_radius_bound, identity_link_convex_bound,
// log_link_bound_2a/2b, certified_kl_bound, fused_law, fused_kl) are public too.
// Theorems and proofs: docs/math.md.

#include <causalqwen/cauchy/divergence.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/cauchy/scale_coordinate.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace causalqwen {

/// Which theorem produced a certified bound.
enum class FusionBoundMethod {
  identity_radius,  // Theorem 1: G(R), R = sum |a_k| rho_k < 1, any signs of alpha
  identity_convex,  // Theorem 1b: d log(1 + sum a_k c_k / d), a_k >= 0, sum a_k <= 1
  log_2a,           // Theorem 2a: 4 d log cosh(N / sqrt(2d))
  log_2b,           // Theorem 2b: 2 d log cosh(Sig / (2 sqrt d)) + d log(1 + Z^2/d)
};

inline const char* to_string(FusionBoundMethod method) {
  switch (method) {
    case FusionBoundMethod::identity_radius: return "Theorem 1 (identity link, G(R))";
    case FusionBoundMethod::identity_convex: return "Theorem 1b (identity link, convex weights)";
    case FusionBoundMethod::log_2a: return "Theorem 2a (log link)";
    case FusionBoundMethod::log_2b: return "Theorem 2b (log link)";
  }
  return "unknown";
}

/// Either a value or the reason there is none. value() on an empty result throws
/// causalqwen::error carrying the reason, so a missing number can never be used by accident.
template <class V>
class FusionResult {
 public:
  static FusionResult with_value(V value) { return FusionResult(std::move(value), {}); }
  static FusionResult without_value(std::string reason) { return FusionResult(std::nullopt, std::move(reason)); }

  bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  const V& value() const {
    if (!value_) fail("no value: ", reason_);
    return *value_;
  }
  /// Why there is no value; empty when there is one.
  const std::string& reason() const noexcept { return reason_; }

 private:
  FusionResult(std::optional<V> value, std::string reason) : value_(std::move(value)), reason_(std::move(reason)) {}
  std::optional<V> value_;
  std::string reason_;
};

template <Real T>
struct CertifiedBound {
  T value;
  FusionBoundMethod method;
};

template <Real T>
struct FusionCertificate {
  ScaleCoordinate link;
  Eigen::Index dimension;
  Vector<T> budgets;                         // eps_k used (exact KL(P0 || P_k) when computed from laws)
  T design_estimate;                         // (sum |a_k| sqrt eps_k)^2: an estimate, not a bound
  FusionResult<T> exact_kl;                  // KL(P0 || P_fused), if the laws were given and it exists
  FusionResult<CertifiedBound<T>> bound;     // provable upper bound on KL(P0 || P_fused)

  /// True when the exact KL is known and larger than the design estimate.
  bool design_estimate_exceeded() const { return exact_kl.has_value() && exact_kl.value() > design_estimate; }
};

namespace detail {
template <Real T>
T rounding_slack() {
  return T(1) + 256 * std::numeric_limits<T>::epsilon();
}

template <Real T>
void require_budgets_and_weights(const Vector<T>& budgets, const Vector<T>& alpha, const char* what) {
  require(budgets.size() == alpha.size(), what, ": ", budgets.size(), " budgets but ", alpha.size(), " weights");
  require(alpha.size() >= 1, what, ": at least one domain is needed");
  for (Eigen::Index k = 0; k < budgets.size(); ++k) {
    require(std::isfinite(budgets(k)) && budgets(k) >= 0, what, ": budget eps_", k, " must be finite and >= 0, got ",
            budgets(k));
    require(std::isfinite(alpha(k)), what, ": weight alpha_", k, " must be finite, got ", alpha(k));
  }
}

template <Real T>
void require_dimension(Eigen::Index dimension, const char* what) {
  require(dimension >= 1, what, ": dimension must be >= 1, got ", dimension);
}

/// log cosh x for all x, without overflow and with relative accuracy near 0.
template <Real T>
T log_cosh(T x) {
  const T a = std::abs(x);
  if (a < T(0.7)) return std::log1p(std::sinh(a) * std::sinh(a)) / 2;
  return a + std::log1p(std::exp(-2 * a)) - std::numbers::ln2_v<T>;
}

/// rho_k = 2 (c + sqrt(c^2 + c)), c = expm1(eps): the largest normalised displacement norm a KL budget allows.
template <Real T>
T radius_of_budget(T eps) {
  const T c = std::expm1(eps);
  return 2 * (c + std::sqrt(c) * std::sqrt(T(1) + c));
}

/// sigma_k = 2 acosh(e^{eps/2}): the largest |d log g| a KL budget allows.
template <Real T>
T log_scale_radius_of_budget(T eps) {
  return hyperbolic_distance_from_kl(eps);
}

template <Real T>
FusionResult<T> finite_or_reason(T value, const char* theorem) {
  if (std::isfinite(value)) return FusionResult<T>::with_value(value * rounding_slack<T>());
  return FusionResult<T>::without_value(std::string(theorem) + ": the bound exceeds the floating-point range (budgets too large)");
}

template <Real T>
std::string describe(T value) {
  std::ostringstream out;
  out.precision(6);
  out << value;
  return out.str();
}
}  // namespace detail

/// The design's estimate (sum |a_k| sqrt eps_k)^2: correct to leading order, NOT an upper bound.
template <Real T>
T design_estimate(const Vector<T>& budgets, const Vector<T>& alpha) {
  detail::require_budgets_and_weights(budgets, alpha, "design_estimate");
  T sum = 0;
  for (Eigen::Index k = 0; k < alpha.size(); ++k) sum += std::abs(alpha(k)) * std::sqrt(budgets(k));
  return sum * sum;
}

/// Theorem 1 (identity link, any signs): if R = sum |a_k| rho_k < 1 then every fused scale is
/// >= (1 - R) g0 > 0 and KL(P0 || P_fused) <= G(R) = log(1 + R^2 / (4 (1 - R))). Sharp.
template <Real T>
FusionResult<T> identity_link_radius_bound(const Vector<T>& budgets, const Vector<T>& alpha) {
  detail::require_budgets_and_weights(budgets, alpha, "identity_link_radius_bound");
  T r = 0;
  for (Eigen::Index k = 0; k < alpha.size(); ++k)
    if (alpha(k) != 0) r += std::abs(alpha(k)) * detail::radius_of_budget(budgets(k));  // 0 * inf must not become NaN
  r *= detail::rounding_slack<T>();
  if (!(r < 1))
    return FusionResult<T>::without_value("Theorem 1 needs R = sum |alpha_k| rho_k < 1, but R = " + detail::describe(r));
  return detail::finite_or_reason(std::log1p(r * r / (4 * (T(1) - r))), "Theorem 1");
}

/// Theorem 1b (identity link, a_k >= 0, sum a_k <= 1, any budgets): the fused law exists and
/// KL(P0 || P_fused) <= d log(1 + sum a_k c_k / d), c_k = expm1(eps_k).
template <Real T>
FusionResult<T> identity_link_convex_bound(const Vector<T>& budgets, const Vector<T>& alpha, Eigen::Index dimension) {
  detail::require_budgets_and_weights(budgets, alpha, "identity_link_convex_bound");
  detail::require_dimension<T>(dimension, "identity_link_convex_bound");
  T weight = 0;
  T weighted_c = 0;
  for (Eigen::Index k = 0; k < alpha.size(); ++k) {
    if (alpha(k) < 0)
      return FusionResult<T>::without_value("Theorem 1b needs alpha_k >= 0, but alpha_" + std::to_string(k) + " = " +
                                            detail::describe(alpha(k)));
    if (alpha(k) == 0) continue;
    weight += alpha(k);
    weighted_c += alpha(k) * std::expm1(budgets(k));
  }
  if (!(weight <= 1))
    return FusionResult<T>::without_value("Theorem 1b needs sum alpha_k <= 1, but it is " + detail::describe(weight));
  const T d = static_cast<T>(dimension);
  return detail::finite_or_reason(d * std::log1p(weighted_c / d), "Theorem 1b");
}

namespace detail {
template <Real T>
struct LogLinkConstants {
  T sig = 0;  // sum |a_k| sigma_k
  T n = 0;    // sum |a_k| M_k sqrt(c_k)
  T x = 0;    // sum |a_k| rho_k
};

template <Real T>
LogLinkConstants<T> log_link_constants(const Vector<T>& budgets, const Vector<T>& alpha) {
  LogLinkConstants<T> out{};
  for (Eigen::Index k = 0; k < alpha.size(); ++k) out.sig += std::abs(alpha(k)) * log_scale_radius_of_budget(budgets(k));
  const T shrink = T(1) + std::exp(-out.sig);
  for (Eigen::Index k = 0; k < alpha.size(); ++k) {
    const T a = std::abs(alpha(k));
    if (a == 0) continue;  // a zero weight contributes nothing, even for a huge budget
    const T m = (T(1) + std::exp(log_scale_radius_of_budget(budgets(k)))) / shrink;
    out.n += a * m * std::sqrt(std::expm1(budgets(k)));
    out.x += a * radius_of_budget(budgets(k));
  }
  return out;
}
}  // namespace detail

/// Theorem 2a (log link, any weights and budgets): KL <= 4 d log cosh(N / sqrt(2 d)); asymptotically tight.
template <Real T>
FusionResult<T> log_link_bound_2a(const Vector<T>& budgets, const Vector<T>& alpha, Eigen::Index dimension) {
  detail::require_budgets_and_weights(budgets, alpha, "log_link_bound_2a");
  detail::require_dimension<T>(dimension, "log_link_bound_2a");
  const auto c = detail::log_link_constants(budgets, alpha);
  const T d = static_cast<T>(dimension);
  return detail::finite_or_reason(4 * d * detail::log_cosh(c.n / std::sqrt(2 * d)), "Theorem 2a");
}

/// Theorem 2b (log link): KL <= 2 d log cosh(Sig / (2 sqrt d)) + d log(1 + Z^2 / d); better for large budgets.
template <Real T>
FusionResult<T> log_link_bound_2b(const Vector<T>& budgets, const Vector<T>& alpha, Eigen::Index dimension) {
  detail::require_budgets_and_weights(budgets, alpha, "log_link_bound_2b");
  detail::require_dimension<T>(dimension, "log_link_bound_2b");
  const auto c = detail::log_link_constants(budgets, alpha);
  const T d = static_cast<T>(dimension);
  const T z = c.x / (T(1) + std::exp(-c.sig));
  const T zd = z / std::sqrt(d);  // Z^2/d formed without squaring Z first, which could overflow
  return detail::finite_or_reason(
      2 * d * detail::log_cosh(c.sig / (2 * std::sqrt(d))) + d * std::log1p(zd * zd), "Theorem 2b");
}

/// The best certified bound for the link: min over the theorems that apply.
template <Real T>
FusionResult<CertifiedBound<T>> certified_kl_bound(ScaleCoordinate link, const Vector<T>& budgets, const Vector<T>& alpha,
                                                   Eigen::Index dimension) {
  using Bound = FusionResult<CertifiedBound<T>>;
  if (link == ScaleCoordinate::softplus_inverse_scale)
    return Bound::without_value("no certified fusion bound is known in the softplus-inverse-scale coordinate "
                                "(only for scale and log-scale)");
  std::optional<CertifiedBound<T>> best;
  std::string reasons;
  const auto consider = [&](const FusionResult<T>& r, FusionBoundMethod method) {
    if (r.has_value()) {
      if (!best || r.value() < best->value) best = CertifiedBound<T>{r.value(), method};
    } else {
      reasons += reasons.empty() ? r.reason() : "; " + r.reason();
    }
  };
  if (link == ScaleCoordinate::scale) {
    consider(identity_link_radius_bound(budgets, alpha), FusionBoundMethod::identity_radius);
    consider(identity_link_convex_bound(budgets, alpha, dimension), FusionBoundMethod::identity_convex);
  } else {
    consider(log_link_bound_2a(budgets, alpha, dimension), FusionBoundMethod::log_2a);
    consider(log_link_bound_2b(budgets, alpha, dimension), FusionBoundMethod::log_2b);
  }
  if (best) return Bound::with_value(*best);
  return Bound::without_value("no certified bound applies: " + reasons);
}

namespace detail {
/// Parameters of one position: pointers to d contiguous entries each.
template <Real T>
struct FusionInputs {
  Eigen::Index dimension;
  const T* base_loc;
  const T* base_scale;
  std::vector<const T*> domain_loc;
  std::vector<const T*> domain_scale;
};

/// log(g / g0) for positive g, g0 with full relative accuracy everywhere: log1p of the exact
/// difference near 1 (Sterbenz), the log of the correctly rounded ratio elsewhere, and a
/// difference of logs when the ratio leaves the range. log1p(dg / g0) alone returns -inf once
/// g / g0 is below the rounding unit, although the log-scale displacement is a modest number.
template <Real T>
T log_scale_displacement(T g, T g0) {
  const T ratio = g / g0;
  if (ratio >= T(0.5) && ratio <= 2) return std::log1p((g - g0) / g0);
  if (std::isfinite(ratio) && ratio >= std::numeric_limits<T>::min()) return std::log(ratio);
  return std::log(g) - std::log(g0);
}

/// 2 log cosh(s/2), the KL between two laws with the same location and log-scale ratio s.
template <Real T>
T log_scale_kl(T s) {
  return 2 * log_cosh(s / 2);
}

/// Fused parameters and KL(P0 || P_fused) dimension by dimension. The displacements are summed
/// before being added to the base, and the KL is formed from them directly, so a tiny fusion keeps
/// the relative accuracy of its KL.
template <Real T>
FusionResult<std::pair<IndependentCauchy<T>, T>> fuse(ScaleCoordinate link, const FusionInputs<T>& in, const Vector<T>& alpha) {
  using Result = FusionResult<std::pair<IndependentCauchy<T>, T>>;
  if (link == ScaleCoordinate::softplus_inverse_scale)
    return Result::without_value("fusion is defined in the scale or log-scale coordinate, not softplus-inverse-scale");
  const Eigen::Index d = in.dimension;
  Vector<T> loc(d);
  Vector<T> scale(d);
  T kl = 0;
  for (Eigen::Index i = 0; i < d; ++i) {
    const T mu0 = in.base_loc[i];
    const T g0 = in.base_scale[i];
    T dmu = 0;
    T dcoord = 0;  // d g (identity) or d log g (log)
    for (Eigen::Index k = 0; k < alpha.size(); ++k) {
      const std::size_t kk = static_cast<std::size_t>(k);
      dmu += alpha(k) * (in.domain_loc[kk][i] - mu0);
      const T gk = in.domain_scale[kk][i];
      dcoord += alpha(k) * (link == ScaleCoordinate::scale ? gk - g0 : log_scale_displacement(gk, g0));
    }
    const T g = link == ScaleCoordinate::scale ? g0 + dcoord : g0 * std::exp(dcoord);
    if (link == ScaleCoordinate::scale && !(g > 0))
      return Result::without_value("fused scale is not positive in dimension " + std::to_string(i) + ": g0 = " +
                                   describe(g0) + ", fused g = " + describe(g) + "; there is no fused distribution");
    if (!std::isfinite(g) || !(g > 0) || !std::isfinite(dmu) || !std::isfinite(mu0 + dmu))
      return Result::without_value("fused parameters of dimension " + std::to_string(i) +
                                   " leave the floating-point range");
    loc(i) = mu0 + dmu;
    scale(i) = g;
    const T scale_part = link == ScaleCoordinate::scale
                             ? stable::kl_scale_part_from_difference(std::min(g0, g), std::max(g0, g), std::abs(dcoord))
                             : log_scale_kl(dcoord);
    kl += scale_part + stable::kl_location_part(dmu, T(0), g0, g);
  }
  return Result::with_value({IndependentCauchy<T>(std::move(loc), std::move(scale)), kl});
}

template <Real T>
FusionCertificate<T> certify(ScaleCoordinate link, const FusionInputs<T>& in, const Vector<T>& alpha) {
  Vector<T> budgets(alpha.size());
  for (Eigen::Index k = 0; k < alpha.size(); ++k) {
    const std::size_t kk = static_cast<std::size_t>(k);
    T eps = 0;
    for (Eigen::Index i = 0; i < in.dimension; ++i)
      eps += stable::kl_divergence(in.base_loc[i], in.base_scale[i], in.domain_loc[kk][i], in.domain_scale[kk][i]);
    budgets(k) = eps;
  }
  auto fused = fuse(link, in, alpha);
  FusionResult<T> exact = fused.has_value() ? FusionResult<T>::with_value(fused.value().second)
                                            : FusionResult<T>::without_value(fused.reason());
  const T estimate = design_estimate(budgets, alpha);
  auto bound = certified_kl_bound(link, budgets, alpha, in.dimension);
  return {link, in.dimension, std::move(budgets), estimate, std::move(exact), std::move(bound)};
}

template <Real T>
FusionInputs<T> inputs_of(const IndependentCauchy<T>& base, std::span<const IndependentCauchy<T>> domains,
                          const Vector<T>& alpha, const char* what) {
  require(domains.size() == static_cast<std::size_t>(alpha.size()), what, ": ", domains.size(), " domains but ",
          alpha.size(), " weights");
  require(!domains.empty(), what, ": at least one domain is needed");
  FusionInputs<T> in{base.dimension(), base.loc().data(), base.scale().data(), {}, {}};
  for (std::size_t k = 0; k < domains.size(); ++k) {
    require(domains[k].dimension() == base.dimension(), what, ": domain ", k, " has dimension ",
            domains[k].dimension(), ", the base has ", base.dimension());
    require(std::isfinite(alpha(static_cast<Eigen::Index>(k))), what, ": weight alpha_", k, " must be finite");
    in.domain_loc.push_back(domains[k].loc().data());
    in.domain_scale.push_back(domains[k].scale().data());
  }
  return in;
}
}  // namespace detail

/// The fused law, or the reason it does not exist (identity link: a fused scale <= 0).
template <Real T>
FusionResult<IndependentCauchy<T>> fused_law(ScaleCoordinate link, const IndependentCauchy<T>& base,
                                             std::type_identity_t<std::span<const IndependentCauchy<T>>> domains,
                                             const Vector<T>& alpha) {
  auto fused = detail::fuse(link, detail::inputs_of(base, domains, alpha, "fused_law"), alpha);
  if (!fused) return FusionResult<IndependentCauchy<T>>::without_value(fused.reason());
  return FusionResult<IndependentCauchy<T>>::with_value(fused.value().first);
}

/// KL(P0 || P_fused), or the reason the fused law does not exist.
template <Real T>
FusionResult<T> fused_kl(ScaleCoordinate link, const IndependentCauchy<T>& base,
                         std::type_identity_t<std::span<const IndependentCauchy<T>>> domains, const Vector<T>& alpha) {
  auto fused = detail::fuse(link, detail::inputs_of(base, domains, alpha, "fused_kl"), alpha);
  if (!fused) return FusionResult<T>::without_value(fused.reason());
  return FusionResult<T>::with_value(fused.value().second);
}

/// One position, displaced laws known: budgets are the exact KL(P0 || P_k).
template <Real T>
FusionCertificate<T> certify_fusion(ScaleCoordinate link, const IndependentCauchy<T>& base,
                                    std::type_identity_t<std::span<const IndependentCauchy<T>>> domains,
                                    const Vector<T>& alpha) {
  return detail::certify(link, detail::inputs_of(base, domains, alpha, "certify_fusion"), alpha);
}

/// One position (or all positions sharing budgets), only budgets known: no exact KL.
template <Real T>
FusionCertificate<T> certify_fusion(ScaleCoordinate link, Eigen::Index dimension, const Vector<T>& budgets,
                                    const Vector<T>& alpha) {
  detail::require_budgets_and_weights(budgets, alpha, "certify_fusion");
  detail::require_dimension<T>(dimension, "certify_fusion");
  return {link,
          dimension,
          budgets,
          design_estimate(budgets, alpha),
          FusionResult<T>::without_value("only budgets were given, the displaced laws are unknown"),
          certified_kl_bound(link, budgets, alpha, dimension)};
}

/// Per position over a batch: base and domain k are [P x d] rows of laws.
template <Real T>
std::vector<FusionCertificate<T>> certify_fusion_rows(
    ScaleCoordinate link, const IndependentCauchyRows<T>& base,
    std::type_identity_t<std::span<const IndependentCauchyRows<T>>> domains, const Vector<T>& alpha) {
  require(domains.size() == static_cast<std::size_t>(alpha.size()), "certify_fusion_rows: ", domains.size(),
          " domains but ", alpha.size(), " weights");
  require(!domains.empty(), "certify_fusion_rows: at least one domain is needed");
  require(base.dimension() >= 1, "certify_fusion_rows: dimension must be >= 1");
  for (Eigen::Index k = 0; k < alpha.size(); ++k) {
    const auto& dk = domains[static_cast<std::size_t>(k)];
    require(dk.rows() == base.rows() && dk.dimension() == base.dimension(), "certify_fusion_rows: domain ", k, " is ",
            dk.rows(), "x", dk.dimension(), ", the base is ", base.rows(), "x", base.dimension());
    require(std::isfinite(alpha(k)), "certify_fusion_rows: weight alpha_", k, " must be finite");
  }
  std::vector<FusionCertificate<T>> out;
  out.reserve(static_cast<std::size_t>(base.rows()));
  detail::FusionInputs<T> in{base.dimension(), nullptr, nullptr, std::vector<const T*>(domains.size()),
                             std::vector<const T*>(domains.size())};
  for (Eigen::Index r = 0; r < base.rows(); ++r) {
    in.base_loc = base.loc().row(r).data();
    in.base_scale = base.scale().row(r).data();
    for (std::size_t k = 0; k < domains.size(); ++k) {
      in.domain_loc[k] = domains[k].loc().row(r).data();
      in.domain_scale[k] = domains[k].scale().row(r).data();
    }
    out.push_back(detail::certify(link, in, alpha));
  }
  return out;
}

/// Per position over a batch from budgets only: budgets is [P x K], row r holds eps_k of position r.
template <Real T>
std::vector<FusionCertificate<T>> certify_fusion_rows(ScaleCoordinate link, Eigen::Index dimension,
                                                      const RowMatrix<T>& budgets, const Vector<T>& alpha) {
  require(budgets.cols() == alpha.size(), "certify_fusion_rows: budgets have ", budgets.cols(), " columns but there are ",
          alpha.size(), " weights");
  std::vector<FusionCertificate<T>> out;
  out.reserve(static_cast<std::size_t>(budgets.rows()));
  for (Eigen::Index r = 0; r < budgets.rows(); ++r)
    out.push_back(certify_fusion(link, dimension, Vector<T>(budgets.row(r).transpose()), alpha));
  return out;
}

}  // namespace causalqwen
