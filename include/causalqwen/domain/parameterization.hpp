#pragma once
// How an adapted abduction W' is parameterised during domain adaptation. The adaptation loop only
// ever sees the abduction's gradient dL/dW'; a parameterisation maps its own trainable parameters
// to W' (materialize) and pulls dL/dW' back to them (pullback). FullDelta trains W' itself
// (W' = W_base + delta, every entry free), the design's choice; restricted forms (a low-rank delta,
// an adapter on the latent) plug into the same loop, which is how they are compared fairly.

#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/parameters.hpp>

#include <concepts>

namespace causalqwen::domain {

template <class P>
concept AbductionParameterization = requires(const P& p, const typename P::params_type& theta,
                                             const head::AbductionParams<typename P::scalar_type>& w) {
  typename P::scalar_type;
  requires head::ParameterSet<typename P::params_type>;
  /// Trainable parameters at the start (W' = W_base).
  { p.initial(w) } -> std::same_as<typename P::params_type>;
  /// W' for the base `w` and trainable parameters `theta`.
  { p.materialize(w, theta) } -> std::same_as<head::AbductionParams<typename P::scalar_type>>;
  /// dL/dtheta from dL/dW' (last argument).
  { p.pullback(w, theta, w) } -> std::same_as<typename P::params_type>;
};

/// Every entry of W' is trained: theta is W' itself.
template <Real T>
struct FullDelta {
  using scalar_type = T;
  using params_type = head::AbductionParams<T>;

  params_type initial(const head::AbductionParams<T>& base) const { return base; }
  head::AbductionParams<T> materialize(const head::AbductionParams<T>&, const params_type& theta) const {
    return theta;
  }
  params_type pullback(const head::AbductionParams<T>&, const params_type&,
                       const head::AbductionParams<T>& grad) const {
    return grad;
  }
};

static_assert(AbductionParameterization<FullDelta<double>>);

}  // namespace causalqwen::domain
