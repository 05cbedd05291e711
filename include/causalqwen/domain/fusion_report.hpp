#pragma once
// What a fusion W_base + sum_j alpha_j delta_j does to the latent law, position by position, over
// a set of hidden states [N x H]: the exact KL(P_base || P_fused), each domain's own
// KL(P_base || P_j) (its budget at that position), the design's estimate (sum_j |alpha_j| sqrt eps_j)^2
// (a leading-order estimate, not a bound), and the certified bound of cauchy/fusion_bounds.hpp with
// those per-position budgets. Positions where a law does not exist (identity link: a scale <= 0)
// are flagged and carry the reason instead of a number.
//
// Displacements are computed from the deltas (delta_j h), not by re-subtracting fused outputs, and
// the exact KL and the bound come from the same per-position laws, so the bound is checked against
// exactly the quantity it certifies. A position whose exact KL exceeds its certified bound, or
// whose fused law fails to exist although a bound was certified, counts as a violation; there
// should never be one.

#include <causalqwen/cauchy/fusion_bounds.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/domain/fusion.hpp>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/scale_link.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace causalqwen::domain {

template <Real T>
struct PositionFusion {
  FusionResult<T> exact_kl;                ///< KL(P_base || P_fused)
  std::vector<FusionResult<T>> domain_kl;  ///< KL(P_base || P_j) per delta
  FusionResult<T> design_estimate;         ///< (sum |alpha_j| sqrt eps_j)^2 with eps_j = domain_kl[j]
  FusionResult<CertifiedBound<T>> bound;   ///< certified upper bound on exact_kl
  bool fused_scale_not_positive = false;   ///< identity link: some fused scale <= 0 (no fused law)
  bool bound_violated = false;
};

template <Real T>
struct FusionSummary {
  std::size_t positions = 0;
  std::size_t with_exact_kl = 0;          ///< positions where the fused law exists
  std::size_t with_bound = 0;             ///< positions with a certified bound
  std::size_t scale_not_positive = 0;     ///< flagged positions
  std::size_t violations = 0;             ///< certified bound below the exact KL (must be 0)
  std::size_t estimate_exceeded = 0;      ///< exact KL above the design estimate (expected to happen)
  T mean_exact_kl = std::numeric_limits<T>::quiet_NaN();
  T max_exact_kl = std::numeric_limits<T>::quiet_NaN();
  T mean_design_estimate = std::numeric_limits<T>::quiet_NaN();
  T mean_bound = std::numeric_limits<T>::quiet_NaN();
  T max_bound_ratio = std::numeric_limits<T>::quiet_NaN();  ///< max exact / bound (<= 1 when certified)
  std::vector<T> mean_domain_kl;
  std::vector<T> max_domain_kl;
};

template <Real T>
struct FusionReport {
  std::string scale_link;
  std::vector<std::string> domains;
  Vector<T> alpha;
  std::vector<PositionFusion<T>> positions;
  FusionSummary<T> summary;

  bool certified() const { return summary.violations == 0; }
};

namespace detail {
/// The link applied without throwing: NaN where the scale would not be a finite positive number.
template <head::ScaleLinkPolicy Link, Real T>
T scale_or_nan(T raw) {
  if constexpr (Link::coordinate == ScaleCoordinate::scale) {
    if (!(raw > 0)) return std::numeric_limits<T>::quiet_NaN();
  }
  const T g = Link::apply(raw);
  return std::isfinite(g) && g > 0 ? g : std::numeric_limits<T>::quiet_NaN();
}

template <Real T>
struct RawOutputs {
  RowMatrix<T> loc;
  RowMatrix<T> raw;
};

template <Real T>
RawOutputs<T> raw_outputs(const head::AbductionParams<T>& w, const RowMatrix<T>& h, bool with_bias) {
  RawOutputs<T> out{h * w.loc_weight.transpose(), h * w.scale_weight.transpose()};
  if (with_bias) {
    out.loc.rowwise() += w.loc_bias.transpose();
    out.raw.rowwise() += w.scale_bias.transpose();
  }
  return out;
}

template <Real T>
T kl_sum(const Vector<T>& la, const Vector<T>& ga, const Vector<T>& lb, const Vector<T>& gb) {
  T s = 0;
  for (Eigen::Index i = 0; i < la.size(); ++i) s += stable::kl_divergence(la(i), ga(i), lb(i), gb(i));
  return s;
}
}  // namespace detail

template <head::ScaleLinkPolicy Link, Real T>
FusionReport<T> fusion_report(const head::AbductionParams<T>& base, std::span<const KnowledgeDelta<T>> deltas,
                              const std::type_identity_t<Vector<T>>& alpha,
                              const std::type_identity_t<RowMatrix<T>>& hidden) {
  require(!deltas.empty(), "fusion_report: at least one delta is needed");
  fuse_abduction<Link>(base, deltas, alpha);  // validates checksums, links, shapes and weights
  require(hidden.cols() == static_cast<Eigen::Index>(base.hidden_size()), "fusion_report: hidden states have ",
          hidden.cols(), " features, the abduction expects H = ", base.hidden_size());
  require(hidden.allFinite(), "fusion_report: hidden states contain NaN or infinity");
  using Result = FusionResult<T>;
  using Bound = FusionResult<CertifiedBound<T>>;
  const auto link = fusion_link<Link>();
  const std::size_t k = deltas.size();
  const Eigen::Index n = hidden.rows();
  const auto d = static_cast<Eigen::Index>(base.latent_size());

  const auto b = detail::raw_outputs(base, hidden, true);
  std::vector<detail::RawOutputs<T>> disp;
  for (const auto& delta : deltas) disp.push_back(detail::raw_outputs(delta.weights, hidden, true));

  FusionReport<T> report;
  report.scale_link = std::string(Link::name());
  for (const auto& delta : deltas) report.domains.push_back(delta.domain);
  report.alpha = alpha;
  auto& s = report.summary;
  s.mean_domain_kl.assign(k, T(0));
  s.max_domain_kl.assign(k, T(0));
  std::vector<std::size_t> domain_count(k, 0);
  T sum_exact = 0, sum_bound = 0, sum_estimate = 0;
  std::size_t with_estimate = 0;

  for (Eigen::Index r = 0; r < n; ++r) {
    const Vector<T> loc0 = b.loc.row(r).transpose();
    const Vector<T> raw0 = b.raw.row(r).transpose();
    const Vector<T> g0 = raw0.unaryExpr([](T x) { return detail::scale_or_nan<Link>(x); });
    const bool base_ok = !g0.hasNaN();
    std::vector<Vector<T>> loc_j(k), g_j(k);
    std::vector<Result> domain_kl;
    bool domains_ok = true;
    Vector<T> dloc = Vector<T>::Zero(d), draw = Vector<T>::Zero(d);
    for (std::size_t j = 0; j < k; ++j) {
      const T a = alpha(static_cast<Eigen::Index>(j));
      loc_j[j] = loc0 + disp[j].loc.row(r).transpose();
      const Vector<T> raw_j = raw0 + disp[j].raw.row(r).transpose();
      g_j[j] = raw_j.unaryExpr([](T x) { return detail::scale_or_nan<Link>(x); });
      dloc += a * disp[j].loc.row(r).transpose();
      draw += a * disp[j].raw.row(r).transpose();
      if (!base_ok || g_j[j].hasNaN()) {
        domains_ok = false;
        domain_kl.push_back(Result::without_value(base_ok ? "domain '" + deltas[j].domain +
                                                                "' has no law here (a scale is not positive)"
                                                          : "the base has no law here (a scale is not positive)"));
      } else {
        domain_kl.push_back(Result::with_value(detail::kl_sum(loc0, g0, loc_j[j], g_j[j])));
      }
    }
    const Vector<T> fused_g = (raw0 + draw).unaryExpr([](T x) { return detail::scale_or_nan<Link>(x); });
    PositionFusion<T> p{Result::without_value("the base has no law here (a scale is not positive)"), domain_kl,
                        Result::without_value("a domain's KL is unknown here"),
                        Bound::without_value(link ? "a law does not exist here" : link.reason()), fused_g.hasNaN(),
                        false};
    if (link && domains_ok) {
      std::vector<IndependentCauchy<T>> laws;
      for (std::size_t j = 0; j < k; ++j) laws.emplace_back(loc_j[j], g_j[j]);
      auto cert = certify_fusion(link.value(), IndependentCauchy<T>(loc0, g0), laws, alpha);
      for (std::size_t j = 0; j < k; ++j) p.domain_kl[j] = Result::with_value(cert.budgets(static_cast<Eigen::Index>(j)));
      p.exact_kl = std::move(cert.exact_kl);
      p.design_estimate = Result::with_value(cert.design_estimate);
      p.bound = std::move(cert.bound);
    } else {
      if (base_ok && !fused_g.hasNaN()) p.exact_kl = Result::with_value(detail::kl_sum(loc0, g0, Vector<T>(loc0 + dloc), fused_g));
      else if (base_ok) p.exact_kl = Result::without_value("the fused law does not exist here (a fused scale is not positive)");
      if (domains_ok) {
        Vector<T> eps(static_cast<Eigen::Index>(k));
        for (std::size_t j = 0; j < k; ++j) eps(static_cast<Eigen::Index>(j)) = domain_kl[j].value();
        p.design_estimate = Result::with_value(design_estimate(eps, alpha));
      }
    }
    p.bound_violated = p.bound.has_value() && (!p.exact_kl.has_value() || p.exact_kl.value() > p.bound.value().value);

    ++s.positions;
    s.scale_not_positive += p.fused_scale_not_positive ? 1 : 0;
    s.violations += p.bound_violated ? 1 : 0;
    if (p.exact_kl) {
      ++s.with_exact_kl;
      sum_exact += p.exact_kl.value();
      s.max_exact_kl = std::isnan(s.max_exact_kl) ? p.exact_kl.value() : std::max(s.max_exact_kl, p.exact_kl.value());
      if (p.design_estimate && p.exact_kl.value() > p.design_estimate.value()) ++s.estimate_exceeded;
    }
    if (p.design_estimate) {
      ++with_estimate;
      sum_estimate += p.design_estimate.value();
    }
    if (p.bound) {
      ++s.with_bound;
      sum_bound += p.bound.value().value;
      if (p.exact_kl && p.bound.value().value > 0) {
        const T ratio = p.exact_kl.value() / p.bound.value().value;
        s.max_bound_ratio = std::isnan(s.max_bound_ratio) ? ratio : std::max(s.max_bound_ratio, ratio);
      }
    }
    for (std::size_t j = 0; j < k; ++j) {
      if (!p.domain_kl[j]) continue;
      ++domain_count[j];
      s.mean_domain_kl[j] += p.domain_kl[j].value();
      s.max_domain_kl[j] = std::max(s.max_domain_kl[j], p.domain_kl[j].value());
    }
    report.positions.push_back(std::move(p));
  }
  if (s.with_exact_kl) s.mean_exact_kl = sum_exact / T(s.with_exact_kl);
  if (s.with_bound) s.mean_bound = sum_bound / T(s.with_bound);
  if (with_estimate) s.mean_design_estimate = sum_estimate / T(with_estimate);
  for (std::size_t j = 0; j < k; ++j)
    s.mean_domain_kl[j] = domain_count[j] ? s.mean_domain_kl[j] / T(domain_count[j]) : std::numeric_limits<T>::quiet_NaN();
  return report;
}

}  // namespace causalqwen::domain
