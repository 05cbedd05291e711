#pragma once
// Fusion of knowledge deltas: W_fused = W_base + sum_j alpha_j delta_j, for any subset of deltas
// and any weights. Every delta must have been taken against this base and scale link.
// Because the abduction is linear in W, the fused law at a position h is the base law displaced by
// sum_j alpha_j (delta_j h) in (loc, raw scale), i.e. in the link's ScaleCoordinate: log g for
// ExpLink, g itself for IdentityLink, the two for which cauchy/fusion_bounds.hpp proves certified
// bounds. SoftplusLink has none.

#include <causalqwen/cauchy/fusion_bounds.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/scale_link.hpp>

#include <cmath>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

namespace causalqwen::domain {

/// The fusion geometry of a head's scale link (the coordinate its raw scale is in), or why no
/// certified bound applies to it.
template <head::ScaleLinkPolicy Link>
FusionResult<ScaleCoordinate> fusion_link() {
  if constexpr (Link::coordinate == ScaleCoordinate::softplus_inverse_scale) {
    // Reserved first: GCC 12 misreads appends into the short-string buffer as out of bounds.
    std::string reason;
    reason.reserve(128);
    reason.append("no certified fusion bound is known for the '").append(Link::name());
    reason.append("' scale link (only for identity and exp/log)");
    return FusionResult<ScaleCoordinate>::without_value(std::move(reason));
  } else {
    return FusionResult<ScaleCoordinate>::with_value(Link::coordinate);
  }
}

/// W_base + sum_j alpha_j delta_j.
template <head::ScaleLinkPolicy Link, Real T>
head::AbductionParams<T> fuse_abduction(const head::AbductionParams<T>& base,
                                        std::span<const KnowledgeDelta<T>> deltas,
                                        const std::type_identity_t<Vector<T>>& alpha) {
  require(deltas.size() == static_cast<std::size_t>(alpha.size()), "fuse_abduction: ", deltas.size(),
          " deltas but ", alpha.size(), " weights");
  head::AbductionParams<T> fused = base;
  for (std::size_t j = 0; j < deltas.size(); ++j) {
    const T a = alpha(static_cast<Eigen::Index>(j));
    require(std::isfinite(a), "fuse_abduction: weight of delta '", deltas[j].domain, "' is not finite");
    require_matches<Link>(deltas[j], base);
    fused += a * deltas[j].weights;
  }
  head::require_finite(fused, "fuse_abduction");
  return fused;
}

}  // namespace causalqwen::domain
