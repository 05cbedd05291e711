#pragma once
// Exogenous noise and temperature between abduction and action, and the inference modes.
// With U ~ Cauchy(loc_U, scale_U) from the abduction, a learnable b_noise in R^D and a temperature
// T >= 0, the action receives U' ~ Cauchy(loc', scale'):
//
//   deterministic   loc' = loc_U                          scale' = 0            (point decision)
//   exogenous       loc' = loc_U                          scale' = T |b_noise|  (only outside noise)
//   endogenous      loc' = loc_U                          scale' = scale_U      (only the individual's)
//   standard        loc' = loc_U                          scale' = scale_U + T |b_noise|   (default)
//   sampling        loc' = loc_U + T |b_noise| * e        scale' = scale_U      (noise as a random shift)
//   causal_sample   loc' = loc_U + scale_U * e            scale' = 0            (one individual u ~ P(U|x))
//
// with e = tan(pi (eps - 1/2)), eps ~ U(0, 1) per entry from the caller's generator, drawn by
// cauchy/sampling.hpp (eps strictly inside (0, 1), tangent at the nearer tail) (e is standard
// Cauchy). Closure makes "add independent Cauchy noise" a sum of scales, so standard is exact.
// Decisions in every mode: the class argmax_k P(S_k > C_k) and the value loc_Y. With scale' = 0,
// P_k is the step 1[loc_S_k > C_k]; the decision then takes argmax_k (loc_S_k - C_k), the limit of
// a vanishing common scale, so ties among the classes that fire are broken by their margin.

#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/abduction.hpp>

#include <array>
#include <cmath>
#include <random>
#include <string>
#include <string_view>

namespace causalqwen::head {

enum class InferenceMode { deterministic, exogenous, endogenous, standard, sampling, causal_sample };

inline constexpr std::array<InferenceMode, 6> kInferenceModes = {
    InferenceMode::deterministic, InferenceMode::exogenous, InferenceMode::endogenous,
    InferenceMode::standard,      InferenceMode::sampling,  InferenceMode::causal_sample};

inline constexpr std::string_view to_string(InferenceMode mode) {
  switch (mode) {
    case InferenceMode::deterministic: return "deterministic";
    case InferenceMode::exogenous: return "exogenous";
    case InferenceMode::endogenous: return "endogenous";
    case InferenceMode::standard: return "standard";
    case InferenceMode::sampling: return "sampling";
    case InferenceMode::causal_sample: return "causal-sample";
  }
  return "?";
}

inline InferenceMode parse_inference_mode(std::string_view text) {
  for (const auto mode : kInferenceModes)
    if (text == to_string(mode)) return mode;
  fail("unknown inference mode '", text,
       "' (expected deterministic, exogenous, endogenous, standard, sampling or causal-sample)");
}

/// Modes whose decisions are random (they need a generator).
inline constexpr bool is_random(InferenceMode mode) {
  return mode == InferenceMode::sampling || mode == InferenceMode::causal_sample;
}
/// Modes whose scale' can be zero, so no likelihood loss exists.
inline constexpr bool has_point_scale(InferenceMode mode) {
  return mode == InferenceMode::deterministic || mode == InferenceMode::causal_sample;
}

template <Real T>
struct NoiseSettings {
  InferenceMode mode = InferenceMode::standard;
  T temperature = 1;  ///< T >= 0
};

/// U' and the standard-Cauchy draws e that made it (empty unless the mode is random).
template <Real T>
struct PerturbedLatent {
  Latent<T> latent;
  RowMatrix<T> draws;
};

template <Real T>
struct NoiseGradient {
  Latent<T> latent;  ///< dL/dloc_U, dL/dscale_U
  Vector<T> b_noise;  ///< dL/db_noise (subgradient sign(b) at |b|)
};

/// Applies the mode's formula. `rng` is used (and required) only by the random modes.
template <Real T, class Rng = std::mt19937_64>
PerturbedLatent<T> perturb(const Latent<T>& u, const Vector<T>& b_noise, const NoiseSettings<T>& settings,
                           Rng* rng = nullptr) {
  require(b_noise.size() == u.loc.cols(), "perturb: b_noise has ", b_noise.size(), " entries for D = ", u.loc.cols());
  require(b_noise.allFinite(), "perturb: b_noise contains NaN or infinity");
  require(std::isfinite(settings.temperature) && settings.temperature >= 0,
          "perturb: temperature must be finite and >= 0, got ", settings.temperature);
  require(!is_random(settings.mode) || rng != nullptr, "perturb: mode ", to_string(settings.mode),
          " draws random numbers and needs a generator");
  const T t = settings.temperature;
  PerturbedLatent<T> out{u, {}};
  if (is_random(settings.mode)) {
    out.draws.resize(u.loc.rows(), u.loc.cols());
    for (Eigen::Index i = 0; i < out.draws.size(); ++i) out.draws.data()[i] = standard_cauchy<T>(*rng);
  }
  const auto noise_scale = (t * b_noise.cwiseAbs()).transpose();
  switch (settings.mode) {
    case InferenceMode::deterministic: out.latent.scale.setZero(); break;
    case InferenceMode::exogenous: out.latent.scale = noise_scale.replicate(u.loc.rows(), 1); break;
    case InferenceMode::endogenous: break;
    case InferenceMode::standard: out.latent.scale.rowwise() += noise_scale; break;
    case InferenceMode::sampling:
      out.latent.loc.array() += out.draws.array().rowwise() * noise_scale.array();
      break;
    case InferenceMode::causal_sample:
      out.latent.loc.array() += out.draws.array() * u.scale.array();
      out.latent.scale.setZero();
      break;
  }
  return out;
}

/// Chain rule through perturb(): dL/dU' -> dL/dU and dL/db_noise.
template <Real T>
NoiseGradient<T> perturb_backward(const Latent<T>& u, const Vector<T>& b_noise, const NoiseSettings<T>& settings,
                                  const PerturbedLatent<T>& perturbed, const Latent<T>& d_out) {
  require(d_out.loc.rows() == u.loc.rows() && d_out.loc.cols() == u.loc.cols() &&
              d_out.scale.rows() == u.loc.rows() && d_out.scale.cols() == u.loc.cols(),
          "perturb_backward: gradient shape does not match U");
  const T t = settings.temperature;
  const Vector<T> sign_t = t * b_noise.array().sign().matrix();
  NoiseGradient<T> g{d_out, Vector<T>::Zero(b_noise.size())};
  switch (settings.mode) {
    case InferenceMode::deterministic: g.latent.scale.setZero(); break;
    case InferenceMode::exogenous:
      g.b_noise = sign_t.cwiseProduct(d_out.scale.colwise().sum().transpose());
      g.latent.scale.setZero();
      break;
    case InferenceMode::endogenous: break;
    case InferenceMode::standard: g.b_noise = sign_t.cwiseProduct(d_out.scale.colwise().sum().transpose()); break;
    case InferenceMode::sampling:
      g.b_noise = sign_t.cwiseProduct(d_out.loc.cwiseProduct(perturbed.draws).colwise().sum().transpose());
      break;
    case InferenceMode::causal_sample:
      g.latent.scale = d_out.loc.cwiseProduct(perturbed.draws);
      break;
  }
  return g;
}

}  // namespace causalqwen::head
