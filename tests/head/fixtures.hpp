#pragma once
// Small random heads and batches shared by the head tests.

#include <causalqwen/head/causal_head.hpp>

#include <cmath>
#include <cstdint>
#include <random>

namespace causalqwen::head::testing {

template <Real T>
RowMatrix<T> random_hidden(Eigen::Index n, Eigen::Index h, std::mt19937_64& rng) {
  std::normal_distribution<T> normal(0, 1);
  RowMatrix<T> x(n, h);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
  return x;
}

/// Targets over `classes` classes with roughly a third <NUM> positions and `ignore_every`-th ignored.
template <Real T>
Targets<T> random_targets(std::size_t n, std::size_t classes, std::mt19937_64& rng, std::size_t ignore_every = 0) {
  Targets<T> t;
  std::uniform_int_distribution<std::int32_t> cls(0, static_cast<std::int32_t>(classes) - 1);
  std::normal_distribution<T> normal(0, 2);
  t.values.resize(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    t.classes.push_back(i % 3 == 0 ? static_cast<std::int32_t>(classes) - 1 : cls(rng));
    t.values(static_cast<Eigen::Index>(i)) = normal(rng);
  }
  if (ignore_every > 0) {
    t.ignore.assign(n, 0);
    for (std::size_t i = ignore_every - 1; i < n; i += ignore_every) t.ignore[i] = 1;
  }
  return t;
}

/// A head with every parameter non-trivial (biases, thresholds, scale weights all non-zero), and
/// raw scales bounded away from 0 so that the identity link stays valid under small perturbations.
template <Real T, ScaleLinkPolicy Link, ThresholdPolicy Th>
CausalHead<T, Link, Th> random_head(std::size_t hidden, std::size_t latent, std::size_t classes, std::mt19937_64& rng,
                                    NoiseSettings<T> settings = {}) {
  HeadInit<T> init;
  init.abduction.scale_weight_std = T(0.1);
  init.abduction.scale = T(1.5);
  auto head = CausalHead<T, Link, Th>::random(hidden, latent, classes, rng, init, settings);
  auto p = head.params();
  std::normal_distribution<T> normal(0, 1);
  for (Eigen::Index i = 0; i < p.abduction.loc_bias.size(); ++i) p.abduction.loc_bias(i) = T(0.3) * normal(rng);
  for (Eigen::Index i = 0; i < p.action.class_bias.size(); ++i) p.action.class_bias(i) = T(0.5) * normal(rng);
  if constexpr (Th::learnable)
    for (Eigen::Index i = 0; i < p.action.threshold.size(); ++i) p.action.threshold(i) = T(0.3) * normal(rng);
  p.action.value_bias(0) = T(0.7);
  for (Eigen::Index i = 0; i < p.b_noise.size(); ++i) p.b_noise(i) = (i % 2 ? T(-1) : T(1)) * (T(0.2) + T(0.1) * T(i));
  head.set_params(std::move(p));
  return head;
}

}  // namespace causalqwen::head::testing
