#pragma once
// A small base task and a domain that abducts differently, shared by the domain tests.

#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/synthetic.hpp>

#include <cstdint>
#include <random>

namespace causalqwen::domain::testing {

inline train::SyntheticConfig<double> small_task() {
  train::SyntheticConfig<double> c;
  c.hidden = 10;
  c.latent = 4;
  c.classes = 6;
  c.num_share = 0.25;
  c.seed = 7;
  return c;
}

/// The base task's ground truth with its loc weights shifted along a random direction and its
/// scales doubled: a domain whose individuals differ from the base's.
inline train::SyntheticTask<double> shifted_domain(const train::SyntheticTask<double>& base, std::uint64_t seed) {
  auto w = base.ground_truth().abduction().params();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0, 1);
  for (Eigen::Index i = 0; i < w.loc_weight.size(); ++i) w.loc_weight.data()[i] += 0.4 * normal(rng);
  w.loc_bias.array() += 0.5;
  w.scale_bias.array() += std::log(2.0);
  return base.with_abduction(w);
}

/// A head to adapt: the base task's ground truth, in the standard inference mode.
inline head::CausalHead<double> base_head(const train::SyntheticTask<double>& task) {
  auto h = task.ground_truth();
  h.set_noise_settings({head::InferenceMode::standard, 1.0});
  return h;
}

}  // namespace causalqwen::domain::testing
