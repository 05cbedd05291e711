#pragma once
// Action: the exact linear maps of U ~ independent Cauchy(loc_U, scale_U) (Cauchy linear closure):
//   class scores  S_k = A_k.U + B_k  ~ Cauchy(A_k.loc_U + B_k, |A_k|.scale_U),  k = 0..K (K+1 classes,
//                 the last one is <NUM>), each compared with a threshold C_k (one-vs-rest);
//   <NUM> value   Y   = W.U + b      ~ Cauchy(W.loc_U + b, |W|.scale_U).
// The scale uses |A| (element-wise), not |A.scale|. At the lm_head shape A is the largest array of
// the model: it lives on the backend, which streams it once per pass (kernels/cauchy_linear.hpp).

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/checks.hpp>
#include <causalqwen/head/parameters.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <span>
#include <vector>

namespace causalqwen::head {

/// Threshold policies: learnable per-class C_k, or C fixed at 0 (P_k = P(S_k > 0)).
template <class P>
concept ThresholdPolicy = requires {
  { P::learnable } -> std::convertible_to<bool>;
  { P::name() } -> std::convertible_to<std::string_view>;
};
struct LearnedThresholds {
  static constexpr bool learnable = true;
  static constexpr std::string_view name() { return "learned"; }
};
struct ZeroThresholds {
  static constexpr bool learnable = false;
  static constexpr std::string_view name() { return "zero"; }
};

/// The action's parameters; also the type of their gradient.
template <Real T>
struct ActionParams {
  using scalar_type = T;
  RowMatrix<T> class_weight;  ///< A [(K+1) x D]
  Vector<T> class_bias;       ///< B [K+1]
  Vector<T> threshold;        ///< C [K+1] (all zero, and not trained, under ZeroThresholds)
  Vector<T> value_weight;     ///< W [D]
  Vector<T> value_bias;       ///< b [1]

  static ActionParams zeros(std::size_t classes, std::size_t latent) {
    const auto k = static_cast<Eigen::Index>(classes);
    const auto d = static_cast<Eigen::Index>(latent);
    return {RowMatrix<T>::Zero(k, d), Vector<T>::Zero(k), Vector<T>::Zero(k), Vector<T>::Zero(d), Vector<T>::Zero(1)};
  }
  /// The same without A (left empty), for an action whose A is already a backend weight: at the
  /// lm_head shape a zero A would be a transient vocabulary-sized float matrix.
  static ActionParams zeros_without_class_weight(std::size_t classes, std::size_t latent) {
    const auto k = static_cast<Eigen::Index>(classes);
    const auto d = static_cast<Eigen::Index>(latent);
    return {RowMatrix<T>(), Vector<T>::Zero(k), Vector<T>::Zero(k), Vector<T>::Zero(d), Vector<T>::Zero(1)};
  }
  std::size_t classes() const { return static_cast<std::size_t>(class_weight.rows()); }
  std::size_t latent_size() const { return static_cast<std::size_t>(class_weight.cols()); }

  auto blocks() { return std::tie(class_weight, class_bias, threshold, value_weight, value_bias); }
  auto blocks() const { return std::tie(class_weight, class_bias, threshold, value_weight, value_bias); }
  static std::vector<std::string> block_names() {
    return {"class_weight", "class_bias", "threshold", "value_weight", "value_bias"};
  }
};

/// Laws of the class scores [N x (K+1)] and of the <NUM> value [N].
template <Real T>
struct ActionOutput {
  RowMatrix<T> class_loc;
  RowMatrix<T> class_scale;
  Vector<T> value_loc;
  Vector<T> value_scale;
};

/// dL/d(every output of the action); the input of ActionNetwork::backward.
template <Real T>
struct ActionUpstream {
  RowMatrix<T> class_loc;
  RowMatrix<T> class_scale;
  Vector<T> value_loc;
  Vector<T> value_scale;
};

template <Real T>
struct ActionGradient {
  ActionParams<T> params;  ///< dL/dA, dL/dB, dL/dC (zero under ZeroThresholds), dL/dW, dL/db
  Latent<T> latent;        ///< dL/dloc_U, dL/dscale_U [N x D]
};

template <Real T>
struct ActionInit {
  T weight_std = -1;  ///< std of A and W entries; < 0 means 1/sqrt(D)
};

/// The action on a backend: A is a `Backend::Weight` (bfloat16 when it was made from a bfloat16
/// model's output layer), the products x A^T and x |A|^T run on the backend in one pass over A.
/// Everything else is small (D, K+1 vectors) and stays on the host.
template <Real T, ThresholdPolicy Thresholds = LearnedThresholds, Backend B = CpuBackend<T>>
  requires std::same_as<typename B::scalar_type, T>
class ActionNetwork {
 public:
  using scalar_type = T;
  using threshold_policy = Thresholds;
  using backend_type = B;
  using params_type = ActionParams<T>;

  explicit ActionNetwork(ActionParams<T> params, B backend = B{}) : backend_(std::move(backend)) {
    set_params(std::move(params));
  }

  /// A held as given (e.g. rows of a model's lm_head, in the model's format): no copy of A.
  ActionNetwork(typename B::Weight class_weight, ActionParams<T> small_params, B backend)
      : backend_(std::move(backend)), class_weight_(std::move(class_weight)) {
    small_params.class_weight.resize(0, 0);
    adopt_vectors(std::move(small_params), backend_.weight_rows(class_weight_), class_weight_cols());
  }

  /// A, W ~ N(0, weight_std^2), B = C = b = 0.
  template <class Rng>
  static ActionNetwork random(std::size_t classes, std::size_t latent, Rng& rng, ActionInit<T> init = {}, B backend = B{}) {
    require(classes >= 2 && latent > 0, "ActionNetwork::random: need >= 2 classes and D > 0");
    auto p = ActionParams<T>::zeros(classes, latent);
    const T std_w = init.weight_std < 0 ? T(1) / std::sqrt(T(latent)) : init.weight_std;
    std::normal_distribution<T> normal(0, 1);
    for (Eigen::Index i = 0; i < p.class_weight.size(); ++i) p.class_weight.data()[i] = std_w * normal(rng);
    for (Eigen::Index i = 0; i < p.value_weight.size(); ++i) p.value_weight(i) = std_w * normal(rng);
    return ActionNetwork(std::move(p), std::move(backend));
  }

  /// Starts A from an existing output layer (e.g. a language model's lm_head [vocab x D]). With
  /// `classes` rows it is copied as is; with `classes - 1` rows the missing last row (<NUM>) is
  /// drawn like random(), and so is W. B = C = b = 0.
  template <class Rng>
  static ActionNetwork from_output_layer(const RowMatrix<T>& output_weight, std::size_t classes, Rng& rng,
                                         ActionInit<T> init = {}, B backend = B{}) {
    const auto rows = static_cast<std::size_t>(output_weight.rows());
    require(rows == classes || rows + 1 == classes, "ActionNetwork::from_output_layer: output layer has ", rows,
            " rows, expected ", classes, " or ", classes - 1, " (all classes but <NUM>)");
    const auto latent = static_cast<std::size_t>(output_weight.cols());
    require(latent > 0, "ActionNetwork::from_output_layer: the output layer has no columns");
    auto p = ActionParams<T>::zeros(classes, latent);
    p.class_weight.topRows(output_weight.rows()) = output_weight;
    const T std_w = init.weight_std < 0 ? T(1) / std::sqrt(T(latent)) : init.weight_std;
    std::normal_distribution<T> normal(0, 1);
    if (rows < classes)
      for (Eigen::Index c = 0; c < p.class_weight.cols(); ++c) p.class_weight(p.class_weight.rows() - 1, c) = std_w * normal(rng);
    for (Eigen::Index i = 0; i < p.value_weight.size(); ++i) p.value_weight(i) = std_w * normal(rng);
    return ActionNetwork(std::move(p), std::move(backend));
  }

  std::size_t classes() const { return static_cast<std::size_t>(backend_.weight_rows(class_weight_)); }
  std::size_t latent_size() const { return static_cast<std::size_t>(value_weight_.size()); }
  /// Index of the <NUM> class: the last one.
  std::size_t num_class() const { return classes() - 1; }
  const B& backend() const { return backend_; }
  /// Whether A is held in bfloat16 (it becomes dense when parameters are set or trained).
  bool holds_bf16() const { return backend_.weight_is_bf16(class_weight_); }

  /// Every parameter on the host (A downloaded: a copy of the largest array of the model).
  ActionParams<T> params() const {
    return {backend_.download_weight(class_weight_), class_bias_, threshold_, value_weight_, value_bias_};
  }
  const Vector<T>& threshold() const { return threshold_; }
  const Vector<T>& class_bias() const { return class_bias_; }
  const Vector<T>& value_weight() const { return value_weight_; }
  const Vector<T>& value_bias() const { return value_bias_; }
  /// Row k of A.
  RowVector<T> class_weight_row(std::int64_t k) const { return backend_.weight_row(class_weight_, k); }

  /// Replaces every parameter, checked for shape and finiteness; A is then held densely.
  void set_params(ActionParams<T> params) {
    const auto k = params.class_weight.rows();
    const auto d = params.class_weight.cols();
    require(k >= 2 && d > 0, "ActionNetwork: A must be (K+1) x D with K+1 >= 2, got ", k, "x", d);
    require_matrix(params.class_weight, k, d, "ActionNetwork: class_weight");
    class_weight_ = backend_.upload_weight(std::move(params.class_weight), WeightFormat::dense);
    adopt_vectors(std::move(params), k, d);
  }

  /// Moves every parameter out (A without a copy when dense) for an in-place update; the network
  /// is empty until restore_params() gives them back.
  ActionParams<T> release_params() {
    ActionParams<T> p{backend_.download_weight(std::move(class_weight_)), std::move(class_bias_),
                      std::move(threshold_), std::move(value_weight_), std::move(value_bias_)};
    class_weight_ = {};
    return p;
  }
  /// Takes back released parameters after an update; shapes are checked, finiteness is not (the
  /// optimiser only applies finite steps, and checking A costs a pass over the largest array).
  void restore_params(ActionParams<T> params, std::size_t classes, std::size_t latent) {
    require(static_cast<std::size_t>(params.class_weight.rows()) == classes &&
                static_cast<std::size_t>(params.class_weight.cols()) == latent,
            "ActionNetwork: updated A has shape ", params.class_weight.rows(), "x", params.class_weight.cols(),
            ", expected ", classes, "x", latent);
    class_weight_ = backend_.upload_weight(std::move(params.class_weight), WeightFormat::dense);
    adopt_vectors(std::move(params), static_cast<Eigen::Index>(classes), static_cast<Eigen::Index>(latent), false);
  }

  /// Laws of the scores and the value given the law of U ([N x D] each). Deterministic decisions
  /// (scale 0) are allowed: scale_U may be zero, never negative.
  ActionOutput<T> forward(const Latent<T>& u) const {
    ActionOutput<T> out;
    forward(u, out);
    return out;
  }

  /// The same into `out`, whose vocabulary-sized buffers are reused when they have the shape.
  void forward(const Latent<T>& u, ActionOutput<T>& out) const {
    const auto d = static_cast<Eigen::Index>(latent_size());
    require_matrix(u.loc, -1, d, "ActionNetwork::forward: loc_U");
    require_matrix(u.scale, u.loc.rows(), d, "ActionNetwork::forward: scale_U");
    require((u.scale.array() >= 0).all(), "ActionNetwork::forward: scale_U has a negative entry");
    backend_.cauchy_linear(u.loc, u.scale, class_weight_, std::span<const T>(class_bias_.data(), class_bias_.size()),
                           out.class_loc, out.class_scale);
    out.value_loc.noalias() = u.loc * value_weight_;
    out.value_loc.array() += value_bias_(0);
    out.value_scale.noalias() = u.scale * value_weight_.cwiseAbs();
  }

  /// Gradients given dL/d(outputs) for the latent law `u` that produced them. The |.| in the
  /// scales has subgradient sign(a) (0 at a = 0).
  ActionGradient<T> backward(const Latent<T>& u, const ActionUpstream<T>& up) const {
    ActionGradient<T> g;
    backward(u, up, g.params, g.latent);
    return g;
  }

  /// The same into `d_params` and `d_latent`; dA (the size of A) reuses its buffer when it has
  /// the shape, as a training loop's steps do.
  void backward(const Latent<T>& u, const ActionUpstream<T>& up, ActionParams<T>& d_params, Latent<T>& d_latent) const {
    const auto n = u.loc.rows();
    const auto d = static_cast<Eigen::Index>(latent_size());
    const auto k = static_cast<Eigen::Index>(classes());
    require_matrix(u.loc, n, d, "ActionNetwork::backward: loc_U");
    require_matrix(u.scale, n, d, "ActionNetwork::backward: scale_U");
    require_matrix(up.class_loc, n, k, "ActionNetwork::backward: dL/dclass_loc");
    require_matrix(up.class_scale, n, k, "ActionNetwork::backward: dL/dclass_scale");
    require_matrix(up.value_loc, n, 1, "ActionNetwork::backward: dL/dvalue_loc");
    require_matrix(up.value_scale, n, 1, "ActionNetwork::backward: dL/dvalue_scale");

    d_params.class_bias.resize(k);
    backend_.cauchy_linear_backward(u.loc, u.scale, class_weight_, up.class_loc, up.class_scale,
                                    d_params.class_weight, std::span<T>(d_params.class_bias.data(), k), d_latent.loc,
                                    d_latent.scale);
    if constexpr (Thresholds::learnable) d_params.threshold = -d_params.class_bias;
    else d_params.threshold.setZero(k);

    const auto& w = value_weight_;
    d_params.value_weight.noalias() = u.loc.transpose() * up.value_loc;
    d_params.value_weight.array() += w.array().sign() * (u.scale.transpose() * up.value_scale).array();
    d_params.value_bias.setConstant(1, up.value_loc.sum());
    d_latent.loc.noalias() += up.value_loc * w.transpose();
    d_latent.scale.noalias() += up.value_scale * w.cwiseAbs().transpose();
  }

 private:
  Eigen::Index class_weight_cols() const {
    return backend_.weight_rows(class_weight_) > 0 ? static_cast<Eigen::Index>(backend_.weight_row(class_weight_, 0).size())
                                                   : 0;
  }

  /// Takes the D- and (K+1)-sized parameters, checked against A's shape (and for finiteness).
  void adopt_vectors(ActionParams<T> p, Eigen::Index k, Eigen::Index d, bool check_finite = true) {
    require(k >= 2 && d > 0, "ActionNetwork: A must be (K+1) x D with K+1 >= 2, got ", k, "x", d);
    if (check_finite) {
      require_matrix(p.class_bias, k, 1, "ActionNetwork: class_bias");
      require_matrix(p.threshold, k, 1, "ActionNetwork: threshold");
      require_matrix(p.value_weight, d, 1, "ActionNetwork: value_weight");
      require_matrix(p.value_bias, 1, 1, "ActionNetwork: value_bias");
    } else {
      require(p.class_bias.size() == k && p.threshold.size() == k && p.value_weight.size() == d &&
                  p.value_bias.size() == 1,
              "ActionNetwork: updated vectors do not match A");
    }
    if constexpr (!Thresholds::learnable)
      require(p.threshold.isZero(0), "ActionNetwork: thresholds are fixed at 0 (ZeroThresholds) but C is not zero");
    class_bias_ = std::move(p.class_bias);
    threshold_ = std::move(p.threshold);
    value_weight_ = std::move(p.value_weight);
    value_bias_ = std::move(p.value_bias);
  }

  B backend_;
  typename B::Weight class_weight_;
  Vector<T> class_bias_;
  Vector<T> threshold_;
  Vector<T> value_weight_;
  Vector<T> value_bias_;
};

}  // namespace causalqwen::head
