#pragma once
// The anchor that keeps an adapted abduction close to the base: per position
// KL(P(U|h; W_base) || P(U|h; W')) = sum over the D components of the exact Cauchy KL, and its
// gradient with respect to the adapted law's loc and scale (the second argument of the KL), which
// the abduction's backward pass carries on to W'. Measured in the independent latent space, where
// the sum over components is the exact KL of the joint law (docs/math.md (c)).

#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>

#include <algorithm>
#include <cstddef>

namespace causalqwen::domain {

template <Real T>
struct KlAnchor {
  Vector<T> per_position;  ///< KL(P_base || P_adapted) of every position [N]
  T mean = 0;              ///< mean over positions
  T max = 0;               ///< max over positions
  RowMatrix<T> d_loc;      ///< d(weight * mean KL) / d loc_adapted   [N x D] (empty without gradient)
  RowMatrix<T> d_scale;    ///< d(weight * mean KL) / d scale_adapted [N x D]
};

/// KL of each position between the base latent and the adapted latent; with `weight` > 0 also the
/// gradient of weight * (mean KL) with respect to the adapted loc and scale.
template <Real T>
KlAnchor<T> kl_anchor(const head::Latent<T>& base, const head::Latent<T>& adapted, T weight = 0) {
  const auto n = base.loc.rows();
  const auto d = base.loc.cols();
  require(base.scale.rows() == n && base.scale.cols() == d && adapted.loc.rows() == n && adapted.loc.cols() == d &&
              adapted.scale.rows() == n && adapted.scale.cols() == d,
          "kl_anchor: base latent is ", n, "x", d, ", the adapted latent is ", adapted.loc.rows(), "x",
          adapted.loc.cols(), " (loc) and ", adapted.scale.rows(), "x", adapted.scale.cols(), " (scale)");
  require(n > 0, "kl_anchor: no positions");
  KlAnchor<T> out;
  out.per_position = Vector<T>::Zero(n);
  const bool gradient = weight != 0;
  if (gradient) {
    out.d_loc.resize(n, d);
    out.d_scale.resize(n, d);
  }
  const T per_position = weight / T(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    T sum = 0;
    for (Eigen::Index j = 0; j < d; ++j) {
      const T l0 = base.loc(i, j), g0 = base.scale(i, j), l1 = adapted.loc(i, j), g1 = adapted.scale(i, j);
      require(g0 > 0 && g1 > 0, "kl_anchor: position ", i, ", component ", j, " has a scale that is not > 0 (base ",
              g0, ", adapted ", g1, ")");
      sum += stable::kl_divergence(l0, g0, l1, g1);
      if (gradient) {
        const auto g = stable::kl_divergence_gradient(l0, g0, l1, g1);
        out.d_loc(i, j) = per_position * g.d_loc_b;
        out.d_scale(i, j) = per_position * g.d_scale_b;
      }
    }
    out.per_position(i) = sum;
  }
  out.mean = out.per_position.mean();
  out.max = out.per_position.maxCoeff();
  return out;
}

}  // namespace causalqwen::domain
