#pragma once
// The whole causal head: hidden states -> abduction -> exogenous noise (mode, temperature) ->
// action -> one-vs-rest decisions and the <NUM> value, with the loss and its analytic gradient
// w.r.t. every parameter and w.r.t. the hidden states.

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/action.hpp>
#include <causalqwen/head/inference.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/ovr.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/head/scale_link.hpp>
#include <causalqwen/head/targets.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace causalqwen::head {

/// Every parameter of the head; also the type of its gradient. Block names are prefixed with the
/// layer ("abduction.loc_weight", "action.class_weight", "noise.b_noise"), which is how the
/// optimiser freezes a layer and how checkpoints name tensors.
template <Real T>
struct HeadParams {
  using scalar_type = T;
  AbductionParams<T> abduction;
  ActionParams<T> action;
  Vector<T> b_noise;  ///< [D]

  auto blocks() { return std::tuple_cat(abduction.blocks(), action.blocks(), std::tie(b_noise)); }
  auto blocks() const { return std::tuple_cat(abduction.blocks(), action.blocks(), std::tie(b_noise)); }
  static std::vector<std::string> block_names() {
    std::vector<std::string> names;
    for (const auto& n : AbductionParams<T>::block_names()) names.push_back("abduction." + n);
    for (const auto& n : ActionParams<T>::block_names()) names.push_back("action." + n);
    names.push_back("noise.b_noise");
    return names;
  }
};

/// Everything the forward pass computed (backward needs all of it).
template <Real T>
struct HeadForward {
  AbductionOutput<T> abduction;
  PerturbedLatent<T> perturbed;
  ActionOutput<T> action;
};

template <Real T>
struct HeadGradient {
  HeadParams<T> params;
  RowMatrix<T> hidden;  ///< dL/dh [N x H]
};

/// What a training loop keeps from one step to the next: the forward's laws, dL/d(action
/// outputs) and the gradient. At the lm_head shape each of the first two holds two [N x (K+1)]
/// matrices and the gradient one dA the size of A; reused, they are not allocated (and their
/// pages not faulted in and zeroed by the kernel) at every step.
template <Real T>
struct HeadWorkspace {
  HeadForward<T> forward;
  ActionUpstream<T> upstream;
  HeadGradient<T> gradient;
};

template <Real T>
struct Prediction {
  std::vector<std::int32_t> classes;  ///< the decision per position
  Vector<T> confidence;               ///< P_k of the decision
  Vector<T> value_loc;                ///< the <NUM> value (loc_Y)
  Vector<T> value_scale;              ///< its Cauchy scale
};

template <Real T>
struct HeadInit {
  AbductionInit<T> abduction;
  ActionInit<T> action;
  T b_noise = T(0.1);  ///< initial |b_noise| in every dimension
};

/// One decision for one hidden state (generation's step).
template <Real T>
struct NextDecision {
  std::int32_t class_id = 0;
  T probability = 0;   ///< P_k of the chosen class under the head's standard law
  T value_loc = 0;     ///< the <NUM> value (the individual's when sampling)
  T value_scale = 0;   ///< its Cauchy scale (0 when sampling: one individual has one value)
};

/// Abduction and action share the backend `B`, which runs every product over H, D and K+1.
template <Real T, ScaleLinkPolicy Link = ExpLink, ThresholdPolicy Thresholds = LearnedThresholds,
          Backend B = CpuBackend<T>>
class CausalHead {
 public:
  using scalar_type = T;
  using link_type = Link;
  using threshold_policy = Thresholds;
  using backend_type = B;
  using params_type = HeadParams<T>;
  using abduction_type = AbductionNetwork<T, Link, B>;
  using action_type = ActionNetwork<T, Thresholds, B>;

  CausalHead(abduction_type abduction, action_type action, Vector<T> b_noise, NoiseSettings<T> settings = {})
      : abduction_(std::move(abduction)), action_(std::move(action)) {
    require(abduction_.latent_size() == action_.latent_size(), "CausalHead: abduction has D = ",
            abduction_.latent_size(), " but action expects D = ", action_.latent_size());
    set_b_noise(std::move(b_noise));
    set_noise_settings(settings);
  }

  template <class Rng>
  static CausalHead random(std::size_t hidden, std::size_t latent, std::size_t classes, Rng& rng,
                           HeadInit<T> init = {}, NoiseSettings<T> settings = {}, const B& backend = B{}) {
    auto abduction = abduction_type::random(hidden, latent, rng, init.abduction, backend);
    auto action = action_type::random(classes, latent, rng, init.action, backend);
    return CausalHead(std::move(abduction), std::move(action),
                      Vector<T>::Constant(static_cast<Eigen::Index>(latent), init.b_noise), settings);
  }

  std::size_t hidden_size() const { return abduction_.hidden_size(); }
  std::size_t latent_size() const { return abduction_.latent_size(); }
  std::size_t classes() const { return action_.classes(); }
  std::size_t num_class() const { return action_.num_class(); }

  const abduction_type& abduction() const { return abduction_; }
  const action_type& action() const { return action_; }
  abduction_type& abduction() { return abduction_; }
  action_type& action() { return action_; }
  const B& backend() const { return action_.backend(); }
  const Vector<T>& b_noise() const { return b_noise_; }
  void set_b_noise(Vector<T> b_noise) {
    require(static_cast<std::size_t>(b_noise.size()) == latent_size(), "CausalHead: b_noise has ", b_noise.size(),
            " entries, expected D = ", latent_size());
    require(b_noise.allFinite(), "CausalHead: b_noise contains NaN or infinity");
    b_noise_ = std::move(b_noise);
  }
  const NoiseSettings<T>& noise_settings() const { return settings_; }
  void set_noise_settings(NoiseSettings<T> settings) {
    require(std::isfinite(settings.temperature) && settings.temperature >= 0,
            "CausalHead: temperature must be finite and >= 0, got ", settings.temperature);
    settings_ = settings;
  }

  HeadParams<T> params() const { return {abduction_.params(), action_.params(), b_noise_}; }
  /// Replaces every parameter; shapes must match this head's H, D, K+1.
  void set_params(HeadParams<T> p) { assign(std::move(p), hidden_size(), latent_size(), classes()); }

  /// Edits every parameter in place without copying them (the optimiser's path: A is the size of
  /// an lm_head); shapes are checked afterwards, finiteness is the editor's duty (AdamW applies
  /// finite steps only). If `edit` throws, the head is left empty and must be given parameters
  /// again with set_params(). A held in bfloat16 is widened once and trained in T from then on.
  template <class Edit>
  void update_params(Edit&& edit) {
    const std::size_t h = hidden_size(), d = latent_size(), k = classes();
    HeadParams<T> p{abduction_.release_params(), action_.release_params(), std::move(b_noise_)};
    edit(p);
    abduction_.restore_params(std::move(p.abduction), h, d);
    action_.restore_params(std::move(p.action), k, d);
    require(static_cast<std::size_t>(p.b_noise.size()) == d, "CausalHead: updated b_noise has ", p.b_noise.size(),
            " entries, expected D = ", d);
    b_noise_ = std::move(p.b_noise);
  }

  /// h [N x H] -> every intermediate law. Random modes draw from `rng`.
  template <class Rng = std::mt19937_64>
  HeadForward<T> forward(const RowMatrix<T>& h, Rng* rng = nullptr) const {
    HeadForward<T> f;
    forward(h, f, rng);
    return f;
  }

  /// The same into `f`, whose action outputs reuse their buffers when they have the shape.
  template <class Rng = std::mt19937_64>
  void forward(const RowMatrix<T>& h, HeadForward<T>& f, Rng* rng = nullptr) const {
    f.abduction = abduction_.forward(h);
    f.perturbed = perturb(f.abduction.latent(), b_noise_, settings_, rng);
    action_.forward(f.perturbed.latent, f.action);
  }

  /// Decisions: argmax_k P(S_k > C_k) (in point modes argmax of the margin, see inference.hpp)
  /// and the value loc_Y.
  template <class Rng = std::mt19937_64>
  Prediction<T> predict(const RowMatrix<T>& h, Rng* rng = nullptr) const {
    return decide(forward(h, rng).action);
  }

  Prediction<T> decide(const ActionOutput<T>& out) const { return decide(out, settings_.mode); }
  /// Decisions of an action output computed in `mode`. No P_k but the winner's is evaluated.
  Prediction<T> decide(const ActionOutput<T>& out, InferenceMode mode) const {
    const auto& c = action_.threshold();
    Prediction<T> pred;
    if (has_point_scale(mode)) {
      const auto n = out.class_loc.rows();
      pred.classes.resize(static_cast<std::size_t>(n));
      pred.confidence.resize(n);
      for (Eigen::Index i = 0; i < n; ++i) {
        Eigen::Index best = 0;
        (out.class_loc.row(i) - c.transpose()).maxCoeff(&best);
        pred.classes[static_cast<std::size_t>(i)] = static_cast<std::int32_t>(best);
        pred.confidence(i) = stable::ovr_probability(out.class_loc(i, best) - c(best), out.class_scale(i, best));
      }
    } else {
      auto d = ovr_decide(out.class_loc, out.class_scale, c);
      pred.classes = std::move(d.classes);
      pred.confidence = std::move(d.confidence);
    }
    pred.value_loc = out.value_loc;
    pred.value_scale = out.value_scale;
    return pred;
  }

  /// The next decision for one hidden state h [1 x H] (generation): deterministic, the argmax of
  /// P_k under the standard law; sampling, one individual u ~ P(U | h) drawn from `rng` (the
  /// causal-sample mode) and the argmax of its scores. Either way the action runs once, and the
  /// reported probability is the chosen class's P_k under the standard law (one row of A).
  template <class Rng>
  NextDecision<T> decide_next(const RowMatrix<T>& h, bool sample, Rng& rng) const {
    require(h.rows() == 1, "CausalHead::decide_next: one hidden state expected, got ", h.rows());
    const auto u = abduction_.forward(h).latent();
    const NoiseSettings<T> standard{InferenceMode::standard, settings_.temperature};
    const auto law = perturb(u, b_noise_, standard);
    NextDecision<T> d;
    if (!sample) {
      const auto out = action_.forward(law.latent);
      const auto pred = decide(out, InferenceMode::standard);
      d = {pred.classes[0], pred.confidence(0), out.value_loc(0), out.value_scale(0)};
      return d;
    }
    const NoiseSettings<T> individual{InferenceMode::causal_sample, settings_.temperature};
    const auto drawn = action_.forward(perturb(u, b_noise_, individual, &rng).latent);
    const auto pred = decide(drawn, InferenceMode::causal_sample);
    const std::int32_t k = pred.classes[0];
    const RowVector<T> a_k = action_.class_weight_row(k);
    const T loc = a_k.dot(law.latent.loc.row(0)) + action_.class_bias()(k) - action_.threshold()(k);
    const T scale = a_k.cwiseAbs().dot(law.latent.scale.row(0));
    d = {k, stable::ovr_probability(loc, scale), drawn.value_loc(0), T(0)};
    return d;
  }

  template <class Rng = std::mt19937_64>
  LossValue<T> loss(const RowMatrix<T>& h, const Targets<T>& targets, const LossOptions<T>& options,
                    Rng* rng = nullptr) const {
    const auto f = forward(h, rng);
    return causal_loss(f.action, action_.threshold(), targets, options, false, backend()).value;
  }

  /// Loss and its gradient w.r.t. every parameter and w.r.t. h.
  template <class Rng = std::mt19937_64>
  std::pair<LossValue<T>, HeadGradient<T>> loss_and_gradient(const RowMatrix<T>& h, const Targets<T>& targets,
                                                             const LossOptions<T>& options, Rng* rng = nullptr) const {
    HeadWorkspace<T> workspace;
    const auto value = loss_and_gradient(h, targets, options, workspace, rng);
    return {value, std::move(workspace.gradient)};
  }

  /// The same for a training loop's step: the gradient is left in workspace.gradient (and the
  /// forward's laws in workspace.forward), the buffers of the previous step reused.
  template <class Rng = std::mt19937_64>
  LossValue<T> loss_and_gradient(const RowMatrix<T>& h, const Targets<T>& targets, const LossOptions<T>& options,
                                 HeadWorkspace<T>& workspace, Rng* rng = nullptr) const {
    forward(h, workspace.forward, rng);
    const auto value = causal_loss(workspace.forward.action, action_.threshold(), targets, options, workspace.upstream,
                                   backend());
    backward(h, workspace.forward, workspace.upstream, workspace.gradient);
    return value;
  }

  /// Chain rule from dL/d(action outputs) back through action, noise and abduction.
  HeadGradient<T> backward(const RowMatrix<T>& h, const HeadForward<T>& f, const ActionUpstream<T>& upstream) const {
    HeadGradient<T> g;
    backward(h, f, upstream, g);
    return g;
  }

  /// The same into `g`, whose dA reuses its buffer when it has the shape.
  void backward(const RowMatrix<T>& h, const HeadForward<T>& f, const ActionUpstream<T>& upstream,
                HeadGradient<T>& g) const {
    Latent<T> d_latent;
    action_.backward(f.perturbed.latent, upstream, g.params.action, d_latent);
    auto noise_grad = perturb_backward(f.abduction.latent(), b_noise_, settings_, f.perturbed, d_latent);
    auto abduction_grad = abduction_.backward(h, f.abduction, noise_grad.latent.loc, noise_grad.latent.scale);
    g.params.abduction = std::move(abduction_grad.params);
    g.params.b_noise = std::move(noise_grad.b_noise);
    g.hidden = std::move(abduction_grad.hidden);
  }

 private:
  void assign(HeadParams<T> p, std::size_t hidden, std::size_t latent, std::size_t class_count) {
    require(p.abduction.hidden_size() == hidden && p.abduction.latent_size() == latent &&
                p.action.classes() == class_count && p.action.latent_size() == latent,
            "CausalHead::set_params: parameters are for H = ", p.abduction.hidden_size(), ", D = ",
            p.abduction.latent_size(), ", K+1 = ", p.action.classes(), "; this head has H = ", hidden, ", D = ", latent,
            ", K+1 = ", class_count);
    abduction_.set_params(std::move(p.abduction));
    action_.set_params(std::move(p.action));
    set_b_noise(std::move(p.b_noise));
  }

  abduction_type abduction_;
  action_type action_;
  Vector<T> b_noise_;
  NoiseSettings<T> settings_;
};

}  // namespace causalqwen::head
