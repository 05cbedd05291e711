#pragma once
// KL-anchored adaptation of the abduction to a domain, with the backbone (the hidden states are
// given) and the action network frozen:
//
//   minimise  task_loss(W') + lambda * mean_positions KL(P(U|h; W_base) || P(U|h; W'))
//
// starting at W' = W_base. The task loss and its gradient are the head's own (causal_loss and
// CausalHead::backward); the anchor's exact KL and its analytic gradient (kl_anchor.hpp) go back
// through the abduction. The steps run on the library's one training loop (train/loop.hpp), so
// lambda = 0 is plain fine-tuning of the abduction: same minibatches, same random draws and the
// same AdamW steps as train::train_head with "action." and "noise." frozen.
//
// Budget mode (kl_budget = eps): lambda follows dual ascent on the equivalent constraint
// log KL <= log eps: log lambda += dual_step * log(batch mean KL / eps) (clipped to +-2) after every
// step, so it grows while the constraint is violated and decays while there is slack, at the same
// pace in both directions. A stochastic dual ascent only hovers around the budget, so the run ends
// with a line search along the learned delta (reported as `delta_scale` t: W_base + t (W' - W_base)).
// If the mean KL over the training data exceeds eps, t < 1 is the bisected point where it meets
// eps (feasibility). If it is below 0.95 eps, the boundary point t > 1 is taken when its training
// task loss is lower (the constraint is active along that line), else t = 1. A scaled delta stays
// inside every parameterisation used here (full, low rank, latent adapter).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/domain/kl_anchor.hpp>
#include <causalqwen/domain/parameterization.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/dataset.hpp>
#include <causalqwen/train/loop.hpp>
#include <causalqwen/train/training_log.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

namespace causalqwen::domain {

template <Real T>
struct AdaptationOptions {
  std::size_t epochs = 20;     ///< the run is epochs * ceil(N / batch_size) steps (per-step seeded batches)
  std::size_t batch_size = 64;
  train::AdamWOptions<T> optimizer;
  head::LossOptions<T> loss;
  T kl_weight = 0;             ///< lambda; in budget mode its starting value (0 starts at 1e-3)
  std::optional<T> kl_budget;  ///< eps: budget mode
  T dual_step = T(0.2);        ///< step of log lambda per optimiser step, times log(KL / eps)
  T max_kl_weight = T(1e8);    ///< dual ascent keeps lambda in [1e-8, max_kl_weight]
  std::uint64_t seed = 0;

  void validate() const {
    require(epochs > 0 && batch_size > 0, "adapt_abduction: epochs and batch size must be > 0");
    require(std::isfinite(kl_weight) && kl_weight >= 0, "adapt_abduction: KL weight must be finite and >= 0, got ",
            kl_weight);
    if (kl_budget)
      require(std::isfinite(*kl_budget) && *kl_budget > 0, "adapt_abduction: KL budget must be finite and > 0, got ",
              *kl_budget);
    require(std::isfinite(dual_step) && dual_step > 0, "adapt_abduction: dual step must be > 0, got ", dual_step);
    require(max_kl_weight > T(1e-8), "adapt_abduction: max KL weight must exceed 1e-8");
    optimizer.validate();
  }
};

template <Real T>
struct AdaptationResult {
  head::AbductionParams<T> adapted;  ///< W'
  T kl_weight = 0;                   ///< final lambda
  T mean_kl = 0;                     ///< mean KL(P_base || P_adapted) over the training data
  T max_kl = 0;                      ///< largest per-position KL over the training data
  T task_loss = 0;                   ///< mean task loss over the training data (W', no anchor)
  T delta_scale = 1;                 ///< budget mode: t of the final line search W_base + t (W' - W_base)
  std::size_t steps = 0;
};

namespace detail {
template <class Head>
head::Latent<typename Head::scalar_type> latent_of(const Head& h, const RowMatrix<typename Head::scalar_type>& x) {
  return h.abduction().forward(x).latent();
}

template <Real T>
head::AbductionParams<T> along_delta(const head::AbductionParams<T>& base, const head::AbductionParams<T>& adapted,
                                     T t) {
  return base + t * (adapted - base);
}
}  // namespace detail

/// Adapts the abduction of `base` to `data` (hidden states and targets of the domain) through the
/// parameterisation `param`. `base` is not modified.
template <class Head, AbductionParameterization Param = FullDelta<typename Head::scalar_type>>
AdaptationResult<typename Head::scalar_type> adapt_abduction(const Head& base,
                                                             const train::Dataset<typename Head::scalar_type>& data,
                                                             const AdaptationOptions<typename Head::scalar_type>& options,
                                                             const Param& param = {}) {
  using T = typename Head::scalar_type;
  static_assert(std::same_as<typename Param::scalar_type, T>, "parameterisation and head must share the scalar type");
  options.validate();
  require(data.size() > 0, "adapt_abduction: empty data set");
  require(static_cast<std::size_t>(data.hidden.cols()) == base.hidden_size(), "adapt_abduction: data has H = ",
          data.hidden.cols(), " but the head expects H = ", base.hidden_size());
  data.targets.validate(data.size(), base.classes(), "adapt_abduction");

  const head::AbductionParams<T> base_params = base.abduction().params();
  const head::Latent<T> base_latent = detail::latent_of(base, data.hidden);
  Head work = base;
  auto theta = param.initial(base_params);
  train::AdamW<typename Param::params_type> optimizer(theta, options.optimizer);
  const bool budget = options.kl_budget.has_value();
  T lambda = budget && options.kl_weight == 0 ? T(1e-3) : options.kl_weight;
  head::HeadWorkspace<T> workspace;

  // The step of the one training loop: the task gradient through the head, plus the anchor's
  // through the abduction, pulled back to theta; then the dual update of lambda.
  const auto step = [&](const train::Minibatch<train::Dataset<T>>& batch, train::StepGenerator& rng) {
    const auto& hidden = batch.data.hidden;
    work.abduction().set_params(param.materialize(base_params, theta));
    const auto loss = work.loss_and_gradient(hidden, batch.data.targets, options.loss, workspace, &rng);
    const auto& forward = workspace.forward;
    auto grad = workspace.gradient.params.abduction;
    if (lambda > 0 || budget) {
      const auto rows = static_cast<Eigen::Index>(batch.index.size());
      head::Latent<T> base_batch{RowMatrix<T>(rows, base_latent.loc.cols()), RowMatrix<T>(rows, base_latent.loc.cols())};
      for (Eigen::Index j = 0; j < rows; ++j) {
        const auto i = static_cast<Eigen::Index>(batch.index[static_cast<std::size_t>(j)]);
        base_batch.loc.row(j) = base_latent.loc.row(i);
        base_batch.scale.row(j) = base_latent.scale.row(i);
      }
      const auto anchor = kl_anchor(base_batch, forward.abduction.latent(), lambda);
      if (lambda > 0) grad += work.abduction().backward(hidden, forward.abduction, anchor.d_loc, anchor.d_scale).params;
      if (budget)
        lambda = std::clamp(lambda * std::exp(options.dual_step *
                                              std::clamp(std::log(std::max(anchor.mean, T(1e-300)) / *options.kl_budget),
                                                         T(-2), T(2))),
                            T(1e-8), options.max_kl_weight);
    }
    const auto info = optimizer.step(theta, param.pullback(base_params, theta, grad));
    train::TrainingRecord r;
    r.loss = double(loss.total);
    r.classification = double(loss.classification);
    r.regression = double(loss.regression);
    r.gradient_norm = double(info.gradient_norm);
    r.learning_rate = double(info.learning_rate);
    r.positions = loss.positions;
    return r;
  };
  train::LoopOptions loop;
  loop.steps = train::steps_for_epochs(options.epochs, data.size(), options.batch_size);
  loop.batch_size = options.batch_size;
  loop.seed = options.seed;
  AdaptationResult<T> result;
  result.steps = train::run(data, loop, step).steps;

  result.adapted = param.materialize(base_params, theta);
  const auto mean_kl_at = [&](const head::AbductionParams<T>& w) {
    work.abduction().set_params(w);
    return kl_anchor(base_latent, detail::latent_of(work, data.hidden));
  };
  auto anchor = mean_kl_at(result.adapted);
  if (budget) {
    const T eps = *options.kl_budget;
    const std::mt19937_64 loss_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
    const auto task_loss_at = [&](T t) {
      work.abduction().set_params(detail::along_delta(base_params, result.adapted, t));
      auto r = loss_rng;  // the same draws for every t
      return work.loss(data.hidden, data.targets, options.loss, &r).total;
    };
    const auto kl_at = [&](T t) { return mean_kl_at(detail::along_delta(base_params, result.adapted, t)).mean; };
    // Bisection for the boundary KL(t) = eps on [lo, hi] with KL(lo) <= eps < KL(hi); KL(t) is
    // continuous and KL(0) = 0, so a crossing exists, and the feasible end is kept.
    const auto boundary = [&](T lo, T hi) {
      for (int i = 0; i < 60 && hi - lo > T(1e-12) * hi; ++i) {
        const T mid = (lo + hi) / 2;
        const T kl = kl_at(mid);
        (kl <= eps ? lo : hi) = mid;
        if (kl <= eps && kl >= T(0.99) * eps) break;
      }
      return lo;
    };
    T t = 1;
    if (anchor.mean > eps) {
      t = boundary(0, 1);
    } else if (anchor.mean < T(0.95) * eps) {
      T hi = 2;
      while (hi < 64 && kl_at(hi) <= eps) hi *= 2;
      if (kl_at(hi) > eps) {
        const T tb = boundary(hi / 2, hi);
        if (task_loss_at(tb) < task_loss_at(1)) t = tb;
      }
    }
    if (t != 1) {
      result.adapted = detail::along_delta(base_params, result.adapted, t);
      anchor = mean_kl_at(result.adapted);
    }
    result.delta_scale = t;
  }
  result.mean_kl = anchor.mean;
  result.max_kl = anchor.max;
  result.kl_weight = lambda;
  work.abduction().set_params(result.adapted);
  std::mt19937_64 eval_rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  result.task_loss = work.loss(data.hidden, data.targets, options.loss, &eval_rng).total;
  return result;
}

}  // namespace causalqwen::domain
