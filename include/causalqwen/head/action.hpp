#pragma once
// Action: the exact linear maps of U ~ independent Cauchy(loc_U, scale_U) (Cauchy linear closure):
//   class scores  S_k = A_k.U + B_k  ~ Cauchy(A_k.loc_U + B_k, |A_k|.scale_U),  k = 0..K (K+1 classes,
//                 the last one is <NUM>), each compared with a threshold C_k (one-vs-rest);
//   <NUM> value   Y   = W.U + b      ~ Cauchy(W.loc_U + b, |W|.scale_U).
// The scale uses |A| (element-wise), not |A.scale|. At the lm_head shape A is the largest array of
// the model, so the forward and backward passes stream A once per block of rows and form |A| only
// for that cache-sized block, never for the whole matrix.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/checks.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/head/product.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

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

namespace detail {
/// Rows of A per block: A block and its |A| copy stay in L2 at D = 896 with float.
inline constexpr Eigen::Index kActionRowBlock = 128;

template <Real T>
int action_threads(Eigen::Index blocks) {
#ifdef _OPENMP
  return static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(omp_get_max_threads(), blocks)));
#else
  (void)blocks;
  return 1;
#endif
}
}  // namespace detail

template <Real T, ThresholdPolicy Thresholds = LearnedThresholds>
class ActionNetwork {
 public:
  using scalar_type = T;
  using threshold_policy = Thresholds;
  using params_type = ActionParams<T>;

  explicit ActionNetwork(ActionParams<T> params) { set_params(std::move(params)); }

  /// A, W ~ N(0, weight_std^2), B = C = b = 0.
  template <class Rng>
  static ActionNetwork random(std::size_t classes, std::size_t latent, Rng& rng, ActionInit<T> init = {}) {
    require(classes >= 2 && latent > 0, "ActionNetwork::random: need >= 2 classes and D > 0");
    auto p = ActionParams<T>::zeros(classes, latent);
    const T std_w = init.weight_std < 0 ? T(1) / std::sqrt(T(latent)) : init.weight_std;
    std::normal_distribution<T> normal(0, 1);
    for (Eigen::Index i = 0; i < p.class_weight.size(); ++i) p.class_weight.data()[i] = std_w * normal(rng);
    for (Eigen::Index i = 0; i < p.value_weight.size(); ++i) p.value_weight(i) = std_w * normal(rng);
    return ActionNetwork(std::move(p));
  }

  /// Starts A from an existing output layer (e.g. a language model's lm_head [vocab x D]). With
  /// `classes` rows it is copied as is; with `classes - 1` rows the missing last row (<NUM>) and
  /// W are drawn like random(). B = C = b = 0.
  template <class Rng>
  static ActionNetwork from_output_layer(const RowMatrix<T>& output_weight, std::size_t classes, Rng& rng,
                                         ActionInit<T> init = {}) {
    const auto rows = static_cast<std::size_t>(output_weight.rows());
    require(rows == classes || rows + 1 == classes, "ActionNetwork::from_output_layer: output layer has ", rows,
            " rows, expected ", classes, " or ", classes - 1, " (all classes but <NUM>)");
    auto net = random(classes, static_cast<std::size_t>(output_weight.cols()), rng, init);
    require_matrix(output_weight, output_weight.rows(), output_weight.cols(), "ActionNetwork::from_output_layer");
    auto p = net.params_;
    p.class_weight.topRows(output_weight.rows()) = output_weight;
    net.set_params(std::move(p));
    return net;
  }

  std::size_t classes() const { return params_.classes(); }
  std::size_t latent_size() const { return params_.latent_size(); }
  /// Index of the <NUM> class: the last one.
  std::size_t num_class() const { return classes() - 1; }

  const ActionParams<T>& params() const { return params_; }
  void set_params(ActionParams<T> params) {
    validate_params(params);
    params_ = std::move(params);
  }
  ActionParams<T>& params_mut() { return params_; }
  void validate() const { validate_params(params_); }

  /// Laws of the scores and the value given the law of U ([N x D] each). Deterministic decisions
  /// (scale 0) are allowed: scale_U may be zero, never negative.
  ActionOutput<T> forward(const Latent<T>& u) const {
    const auto d = static_cast<Eigen::Index>(latent_size());
    require_matrix(u.loc, -1, d, "ActionNetwork::forward: loc_U");
    require_matrix(u.scale, u.loc.rows(), d, "ActionNetwork::forward: scale_U");
    require((u.scale.array() >= 0).all(), "ActionNetwork::forward: scale_U has a negative entry");
    const auto n = u.loc.rows();
    const auto k = static_cast<Eigen::Index>(classes());
    ActionOutput<T> out;
    out.class_loc.resize(n, k);
    out.class_scale.resize(n, k);
    const auto& a = params_.class_weight;
    const Eigen::Index blocks = (k + detail::kActionRowBlock - 1) / detail::kActionRowBlock;
#pragma omp parallel num_threads(detail::action_threads<T>(blocks)) if (n * k * d >= kParallelWork)
    {
      RowMatrix<T> abs_block;
#pragma omp for schedule(static)
      for (Eigen::Index b = 0; b < blocks; ++b) {
        const Eigen::Index k0 = b * detail::kActionRowBlock;
        const Eigen::Index kb = std::min(detail::kActionRowBlock, k - k0);
        const auto a_block = a.middleRows(k0, kb);
        abs_block = a_block.cwiseAbs();
        multiply(out.class_loc.middleCols(k0, kb), u.loc, a_block.transpose());
        out.class_loc.middleCols(k0, kb).rowwise() += params_.class_bias.segment(k0, kb).transpose();
        multiply(out.class_scale.middleCols(k0, kb), u.scale, abs_block.transpose());
      }
    }
    out.value_loc = u.loc * params_.value_weight;
    out.value_loc.array() += params_.value_bias(0);
    out.value_scale = u.scale * params_.value_weight.cwiseAbs();
    return out;
  }

  /// Gradients given dL/d(outputs) for the latent law `u` that produced them. The |.| in the
  /// scales has subgradient sign(a) (0 at a = 0).
  ActionGradient<T> backward(const Latent<T>& u, const ActionUpstream<T>& up) const {
    const auto n = u.loc.rows();
    const auto d = static_cast<Eigen::Index>(latent_size());
    const auto k = static_cast<Eigen::Index>(classes());
    require_matrix(u.loc, n, d, "ActionNetwork::backward: loc_U");
    require_matrix(u.scale, n, d, "ActionNetwork::backward: scale_U");
    require_matrix(up.class_loc, n, k, "ActionNetwork::backward: dL/dclass_loc");
    require_matrix(up.class_scale, n, k, "ActionNetwork::backward: dL/dclass_scale");
    require_matrix(up.value_loc, n, 1, "ActionNetwork::backward: dL/dvalue_loc");
    require_matrix(up.value_scale, n, 1, "ActionNetwork::backward: dL/dvalue_scale");

    ActionGradient<T> g;
    g.params = ActionParams<T>::zeros(classes(), latent_size());
    const auto& a = params_.class_weight;
    const Eigen::Index blocks = (k + detail::kActionRowBlock - 1) / detail::kActionRowBlock;
    const int threads = n * k * d >= kParallelWork ? detail::action_threads<T>(blocks) : 1;
    // Per-thread partial sums of dL/dU, combined in thread order: deterministic for a thread count.
    std::vector<RowMatrix<T>> d_loc(static_cast<std::size_t>(threads), RowMatrix<T>::Zero(n, d));
    std::vector<RowMatrix<T>> d_scale(static_cast<std::size_t>(threads), RowMatrix<T>::Zero(n, d));
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const auto t = static_cast<std::size_t>(omp_get_thread_num());
#else
      const std::size_t t = 0;
#endif
      RowMatrix<T> abs_block;
      RowMatrix<T> scale_part;
#pragma omp for schedule(static)
      for (Eigen::Index b = 0; b < blocks; ++b) {
        const Eigen::Index k0 = b * detail::kActionRowBlock;
        const Eigen::Index kb = std::min(detail::kActionRowBlock, k - k0);
        const auto a_block = a.middleRows(k0, kb);
        abs_block = a_block.cwiseAbs();
        const auto up_loc = up.class_loc.middleCols(k0, kb);
        const auto up_scale = up.class_scale.middleCols(k0, kb);
        auto ga = g.params.class_weight.middleRows(k0, kb);
        multiply(ga, up_loc.transpose(), u.loc);
        multiply(scale_part, up_scale.transpose(), u.scale);
        ga.array() += a_block.array().sign() * scale_part.array();
        multiply_add(d_loc[t], up_loc, a_block);
        multiply_add(d_scale[t], up_scale, abs_block);
      }
    }
    g.latent.loc = std::move(d_loc[0]);
    g.latent.scale = std::move(d_scale[0]);
    for (std::size_t t = 1; t < d_loc.size(); ++t) {
      g.latent.loc += d_loc[t];
      g.latent.scale += d_scale[t];
    }
    g.params.class_bias = up.class_loc.colwise().sum().transpose();
    if constexpr (Thresholds::learnable) g.params.threshold = -g.params.class_bias;

    const auto& w = params_.value_weight;
    g.params.value_weight.noalias() = u.loc.transpose() * up.value_loc;
    g.params.value_weight.array() += w.array().sign() * (u.scale.transpose() * up.value_scale).array();
    g.params.value_bias(0) = up.value_loc.sum();
    g.latent.loc.noalias() += up.value_loc * w.transpose();
    g.latent.scale.noalias() += up.value_scale * w.cwiseAbs().transpose();
    return g;
  }

 private:
  static void validate_params(const ActionParams<T>& p) {
    const auto k = p.class_weight.rows();
    const auto d = p.class_weight.cols();
    require(k >= 2 && d > 0, "ActionNetwork: A must be (K+1) x D with K+1 >= 2, got ", k, "x", d);
    require_matrix(p.class_weight, k, d, "ActionNetwork: class_weight");
    require_matrix(p.class_bias, k, 1, "ActionNetwork: class_bias");
    require_matrix(p.threshold, k, 1, "ActionNetwork: threshold");
    require_matrix(p.value_weight, d, 1, "ActionNetwork: value_weight");
    require_matrix(p.value_bias, 1, 1, "ActionNetwork: value_bias");
    if constexpr (!Thresholds::learnable)
      require(p.threshold.isZero(0), "ActionNetwork: thresholds are fixed at 0 (ZeroThresholds) but C is not zero");
  }

  ActionParams<T> params_;
};

}  // namespace causalqwen::head
