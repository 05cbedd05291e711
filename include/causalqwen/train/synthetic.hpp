#pragma once
// Synthetic data from a known ground-truth causal head (the design's first validation stage):
// h ~ N(0, I_H); the hidden head abducts U ~ Cauchy(loc(h), scale(h)); one individual
// u = loc + scale * tan(pi (eps - 1/2)) is drawn; the target class is argmax_k (A u + B)_k and
// the <NUM> value is W u + b. The Cauchy noise in u makes classes and values genuinely
// uncertain given h, so the ground truth's own accuracy and error are the reference a trained
// head is measured against. The <NUM> share is set by shifting B_<NUM> to the matching quantile
// of a calibration sample.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/dataset.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct SyntheticConfig {
  std::size_t hidden = 64;    ///< H
  std::size_t latent = 16;    ///< D
  std::size_t classes = 51;   ///< K+1 (the last is <NUM>)
  double num_share = 0.2;     ///< share of <NUM> targets, in (0, 1)
  T loc_gain = 2;             ///< std of each loc_U coordinate
  T action_gain = 3;          ///< std of A entries times sqrt(D)
  T noise_scale = T(0.2);     ///< typical scale_U
  std::uint64_t seed = 1;     ///< draws the ground-truth head
};

template <Real T>
class SyntheticTask {
 public:
  using Head = head::CausalHead<T>;

  explicit SyntheticTask(const SyntheticConfig<T>& config) : config_(config), truth_(make_truth(config)) {
    require(config.num_share > 0 && config.num_share < 1, "SyntheticTask: <NUM> share must be in (0, 1), got ",
            config.num_share);
    calibrate_num_share();
  }

  const SyntheticConfig<T>& config() const { return config_; }
  /// The ground-truth head (endogenous mode: U's own noise only).
  const Head& ground_truth() const { return truth_; }

  /// The same task (action, <NUM> calibration, hidden-state law) with another ground-truth
  /// abduction: a domain whose individuals are abducted differently from the same hidden states.
  SyntheticTask with_abduction(head::AbductionParams<T> abduction) const {
    SyntheticTask out = *this;
    out.truth_.abduction().set_params(std::move(abduction));
    return out;
  }

  /// n positions, deterministic for `seed`.
  Dataset<T> sample(std::size_t n, std::uint64_t seed) const {
    std::mt19937_64 rng(seed);
    RowMatrix<T> hidden = gaussian(n, rng);
    return draw_targets(std::move(hidden), rng);
  }

  /// Targets drawn by the ground truth for given hidden states (e.g. a domain's own feature
  /// distribution), deterministic for `seed`.
  Dataset<T> label(RowMatrix<T> hidden, std::uint64_t seed) const {
    require(static_cast<std::size_t>(hidden.cols()) == config_.hidden, "SyntheticTask::label: hidden states have ",
            hidden.cols(), " features, the task has H = ", config_.hidden);
    std::mt19937_64 rng(seed);
    return draw_targets(std::move(hidden), rng);
  }

 private:
  static Head make_truth(const SyntheticConfig<T>& c) {
    require(c.hidden > 0 && c.latent > 0 && c.classes >= 2, "SyntheticTask: bad sizes");
    std::mt19937_64 rng(c.seed);
    head::HeadInit<T> init;
    init.abduction.weight_std = c.loc_gain / std::sqrt(T(c.hidden));
    init.abduction.scale_weight_std = T(0.3) / std::sqrt(T(c.hidden));
    init.abduction.scale = c.noise_scale;
    init.action.weight_std = c.action_gain / std::sqrt(T(c.latent));
    init.b_noise = 0;
    Head truth = Head::random(c.hidden, c.latent, c.classes, rng, init, {head::InferenceMode::endogenous, T(0)});
    truth.update_params([](head::HeadParams<T>& p) { p.action.value_bias(0) = T(1); });
    return truth;
  }

  Dataset<T> draw_targets(RowMatrix<T> hidden, std::mt19937_64& rng) const {
    const std::size_t n = static_cast<std::size_t>(hidden.rows());
    Dataset<T> data;
    data.hidden = std::move(hidden);
    const auto u = draw_individuals(data.hidden, rng);
    const auto& p = truth_.action().params();
    const RowMatrix<T> scores = (u * p.class_weight.transpose()).rowwise() + p.class_bias.transpose();
    data.targets.classes.resize(n);
    data.targets.values = (u * p.value_weight).array() + p.value_bias(0);
    for (std::size_t i = 0; i < n; ++i) {
      Eigen::Index best = 0;
      scores.row(static_cast<Eigen::Index>(i)).maxCoeff(&best);
      data.targets.classes[i] = static_cast<std::int32_t>(best);
    }
    return data;
  }

  RowMatrix<T> gaussian(std::size_t n, std::mt19937_64& rng) const {
    std::normal_distribution<T> normal(0, 1);
    RowMatrix<T> h(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(config_.hidden));
    for (Eigen::Index i = 0; i < h.size(); ++i) h.data()[i] = normal(rng);
    return h;
  }

  RowMatrix<T> draw_individuals(const RowMatrix<T>& h, std::mt19937_64& rng) const {
    const auto a = truth_.abduction().forward(h);
    RowMatrix<T> u(a.loc.rows(), a.loc.cols());
    for (Eigen::Index i = 0; i < u.size(); ++i)
      u.data()[i] = causalqwen::sample(Cauchy<T>(a.loc.data()[i], a.scale.data()[i]), rng).value;
    return u;
  }

  /// Shifts B_<NUM> so that <NUM> wins argmax in `num_share` of a large calibration sample.
  void calibrate_num_share() {
    std::mt19937_64 rng(config_.seed ^ 0x5eed'ca11'b4a7'e000ULL);
    const RowMatrix<T> h = gaussian(8192, rng);
    const auto u = draw_individuals(h, rng);
    const auto& p = truth_.action().params();
    const RowMatrix<T> scores = (u * p.class_weight.transpose()).rowwise() + p.class_bias.transpose();
    const auto num = scores.cols() - 1;
    std::vector<T> margin(static_cast<std::size_t>(scores.rows()));
    for (Eigen::Index i = 0; i < scores.rows(); ++i)
      margin[static_cast<std::size_t>(i)] = scores(i, num) - scores.row(i).head(num).maxCoeff();
    // <NUM> wins iff margin + shift > 0; the (1 - share) quantile of the margin must map to 0.
    const auto q = static_cast<std::size_t>((1 - config_.num_share) * double(margin.size()));
    std::nth_element(margin.begin(), margin.begin() + static_cast<std::ptrdiff_t>(q), margin.end());
    const T shift = -margin[q];
    truth_.update_params([&](head::HeadParams<T>& params) { params.action.class_bias(num) += shift; });
  }

  SyntheticConfig<T> config_;
  Head truth_;
};

}  // namespace causalqwen::train
