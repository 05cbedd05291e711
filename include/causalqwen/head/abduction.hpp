#pragma once
// Abduction: from a hidden state h in R^H to the individual's latent cause U ~ independent
// Cauchy(loc(h), scale(h)) in R^D,
//   loc = W_loc h + b_loc,   raw = W_scale h + b_scale,   scale = Link(raw)   (element-wise).
// Batches are row-major [N positions x H]; every output is [N x D].

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/checks.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/head/scale_link.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace causalqwen::head {

/// The abduction's parameters; also the type of their gradient and of a domain delta.
template <Real T>
struct AbductionParams {
  using scalar_type = T;
  RowMatrix<T> loc_weight;    ///< W_loc   [D x H]
  Vector<T> loc_bias;         ///< b_loc   [D]
  RowMatrix<T> scale_weight;  ///< W_scale [D x H]
  Vector<T> scale_bias;       ///< b_scale [D]

  static AbductionParams zeros(std::size_t hidden, std::size_t latent) {
    const auto h = static_cast<Eigen::Index>(hidden);
    const auto d = static_cast<Eigen::Index>(latent);
    return {RowMatrix<T>::Zero(d, h), Vector<T>::Zero(d), RowMatrix<T>::Zero(d, h), Vector<T>::Zero(d)};
  }
  std::size_t hidden_size() const { return static_cast<std::size_t>(loc_weight.cols()); }
  std::size_t latent_size() const { return static_cast<std::size_t>(loc_weight.rows()); }

  auto blocks() { return std::tie(loc_weight, loc_bias, scale_weight, scale_bias); }
  auto blocks() const { return std::tie(loc_weight, loc_bias, scale_weight, scale_bias); }
  static std::vector<std::string> block_names() { return {"loc_weight", "loc_bias", "scale_weight", "scale_bias"}; }
};

/// The law of U for a batch: [N x D] location and scale.
template <Real T>
struct Latent {
  RowMatrix<T> loc;
  RowMatrix<T> scale;
};

/// Abduction output; keeps the raw (pre-link) scale that backward() needs.
template <Real T>
struct AbductionOutput {
  RowMatrix<T> loc;
  RowMatrix<T> raw_scale;
  RowMatrix<T> scale;
  Latent<T> latent() const { return {loc, scale}; }
};

template <Real T>
struct AbductionGradient {
  AbductionParams<T> params;  ///< dL/dW_loc, dL/db_loc, dL/dW_scale, dL/db_scale
  RowMatrix<T> hidden;        ///< dL/dh [N x H]
};

/// Options of the random initialisation.
template <Real T>
struct AbductionInit {
  T weight_std = -1;        ///< std of W_loc entries; < 0 means 1/sqrt(H)
  T scale_weight_std = 0;   ///< std of W_scale entries (0: the scale starts independent of h)
  T scale = 1;              ///< initial scale (b_scale = Link^-1(scale))
};

/// The products run on the backend `B` (its threads); the parameters are host matrices.
template <Real T, ScaleLinkPolicy Link = ExpLink, Backend B = CpuBackend<T>>
  requires std::same_as<typename B::scalar_type, T>
class AbductionNetwork {
 public:
  using scalar_type = T;
  using link_type = Link;
  using backend_type = B;
  using params_type = AbductionParams<T>;

  /// Validates shapes (D x H weights, D biases) and finiteness.
  explicit AbductionNetwork(AbductionParams<T> params, B backend = B{}) : backend_(std::move(backend)) {
    set_params(std::move(params));
  }

  /// loc = h (D = H; for D < H the first D coordinates of h, for D > H zero-padded), scale
  /// constant `scale` for every input.
  static AbductionNetwork identity(std::size_t hidden, std::size_t latent, T scale = 1, B backend = B{}) {
    require(hidden > 0 && latent > 0, "AbductionNetwork::identity: sizes must be > 0");
    auto p = AbductionParams<T>::zeros(hidden, latent);
    p.loc_weight.setIdentity();
    p.scale_bias.setConstant(Link::inverse(scale));
    return AbductionNetwork(std::move(p), std::move(backend));
  }

  /// Gaussian weights from the caller's generator (deterministic for its seed).
  template <class Rng>
  static AbductionNetwork random(std::size_t hidden, std::size_t latent, Rng& rng, AbductionInit<T> init = {},
                                 B backend = B{}) {
    require(hidden > 0 && latent > 0, "AbductionNetwork::random: sizes must be > 0");
    const T std_loc = init.weight_std < 0 ? T(1) / std::sqrt(T(hidden)) : init.weight_std;
    auto p = AbductionParams<T>::zeros(hidden, latent);
    std::normal_distribution<T> normal(0, 1);
    for (Eigen::Index i = 0; i < p.loc_weight.size(); ++i) p.loc_weight.data()[i] = std_loc * normal(rng);
    if (init.scale_weight_std > 0)
      for (Eigen::Index i = 0; i < p.scale_weight.size(); ++i)
        p.scale_weight.data()[i] = init.scale_weight_std * normal(rng);
    p.scale_bias.setConstant(Link::inverse(init.scale));
    return AbductionNetwork(std::move(p), std::move(backend));
  }

  const B& backend() const { return backend_; }
  std::size_t hidden_size() const { return params_.hidden_size(); }
  std::size_t latent_size() const { return params_.latent_size(); }
  static constexpr std::string_view link_name() { return Link::name(); }

  const AbductionParams<T>& params() const { return params_; }
  /// Replaces all parameters (validated).
  void set_params(AbductionParams<T> params) {
    validate_params(params);
    params_ = std::move(params);
  }
  /// Moves the parameters out for an in-place update (see ActionNetwork::release_params).
  AbductionParams<T> release_params() { return std::move(params_); }
  /// Takes back updated parameters; shapes are checked (the optimiser only applies finite steps).
  void restore_params(AbductionParams<T> params, std::size_t hidden, std::size_t latent) {
    require(params.hidden_size() == hidden && params.latent_size() == latent && params.loc_bias.size() == params.loc_weight.rows() &&
                params.scale_weight.rows() == params.loc_weight.rows() && params.scale_weight.cols() == params.loc_weight.cols() &&
                params.scale_bias.size() == params.loc_weight.rows(),
            "AbductionNetwork: updated parameters do not have the shape H = ", hidden, ", D = ", latent);
    params_ = std::move(params);
  }

  /// Batch forward: h is [N x H].
  AbductionOutput<T> forward(const RowMatrix<T>& h) const {
    require_matrix(h, -1, static_cast<Eigen::Index>(hidden_size()), "AbductionNetwork::forward: hidden states");
    AbductionOutput<T> out;
    backend_.multiply(h, kernels::Op::none, params_.loc_weight, kernels::Op::transpose, out.loc);
    out.loc.rowwise() += params_.loc_bias.transpose();
    backend_.multiply(h, kernels::Op::none, params_.scale_weight, kernels::Op::transpose, out.raw_scale);
    out.raw_scale.rowwise() += params_.scale_bias.transpose();
    out.scale = out.raw_scale.unaryExpr([](T raw) { return Link::apply(raw); });
    return out;
  }

  /// One position: h is a row of H features.
  AbductionOutput<T> forward_row(const RowVector<T>& h) const { return forward(RowMatrix<T>(h)); }

  /// Gradients of a loss given dL/dloc and dL/dscale [N x D] for the batch `h` that produced `out`.
  AbductionGradient<T> backward(const RowMatrix<T>& h, const AbductionOutput<T>& out, const RowMatrix<T>& d_loc,
                                const RowMatrix<T>& d_scale) const {
    const auto n = h.rows();
    const auto d = static_cast<Eigen::Index>(latent_size());
    require_matrix(h, -1, static_cast<Eigen::Index>(hidden_size()), "AbductionNetwork::backward: hidden states");
    require(out.raw_scale.rows() == n && out.raw_scale.cols() == d,
            "AbductionNetwork::backward: forward output does not belong to these hidden states");
    require_matrix(d_loc, n, d, "AbductionNetwork::backward: dL/dloc");
    require_matrix(d_scale, n, d, "AbductionNetwork::backward: dL/dscale");
    const RowMatrix<T> d_raw =
        d_scale.cwiseProduct(out.raw_scale.unaryExpr([](T raw) { return Link::derivative(raw); }));
    AbductionGradient<T> g;
    backend_.multiply(d_loc, kernels::Op::transpose, h, kernels::Op::none, g.params.loc_weight);
    g.params.loc_bias = d_loc.colwise().sum().transpose();
    backend_.multiply(d_raw, kernels::Op::transpose, h, kernels::Op::none, g.params.scale_weight);
    g.params.scale_bias = d_raw.colwise().sum().transpose();
    backend_.multiply(d_loc, kernels::Op::none, params_.loc_weight, kernels::Op::none, g.hidden);
    backend_.multiply(d_raw, kernels::Op::none, params_.scale_weight, kernels::Op::none, g.hidden, true);
    return g;
  }

 private:
  static void validate_params(const AbductionParams<T>& p) {
    const auto d = p.loc_weight.rows();
    const auto h = p.loc_weight.cols();
    require(d > 0 && h > 0, "AbductionNetwork: W_loc must be non-empty (D x H)");
    require_matrix(p.loc_weight, d, h, "AbductionNetwork: loc_weight");
    require_matrix(p.loc_bias, d, 1, "AbductionNetwork: loc_bias");
    require_matrix(p.scale_weight, d, h, "AbductionNetwork: scale_weight");
    require_matrix(p.scale_bias, d, 1, "AbductionNetwork: scale_bias");
  }

  B backend_;
  AbductionParams<T> params_;
};

}  // namespace causalqwen::head
