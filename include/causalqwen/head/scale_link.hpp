#pragma once
// How the abduction turns an unconstrained linear output ("raw scale") into a Cauchy scale > 0.
// The link is a policy type so the choice costs nothing at run time and is part of the model's
// type (and of its checkpoints, via name()):
//   ExpLink      scale = exp(raw)          raw is the log-scale; the default, always positive.
//   SoftplusLink scale = log(1 + exp(raw)) grows linearly, not exponentially, for large raw.
//   IdentityLink scale = raw               the linear form the domain-fusion bounds are proved for;
//                                          a non-positive raw value is an error, never clamped.

#include <causalqwen/cauchy/scale_coordinate.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <cmath>
#include <concepts>
#include <string_view>

namespace causalqwen::head {

template <class L>
concept ScaleLinkPolicy = requires(double raw, double scale, float raw_f) {
  { L::apply(raw) } -> std::same_as<double>;
  { L::apply(raw_f) } -> std::same_as<float>;
  { L::derivative(raw) } -> std::same_as<double>;
  { L::inverse(scale) } -> std::same_as<double>;
  { L::name() } -> std::convertible_to<std::string_view>;
  { L::coordinate } -> std::convertible_to<ScaleCoordinate>;  // the coordinate `raw` is in
};

struct ExpLink {
  static constexpr ScaleCoordinate coordinate = ScaleCoordinate::log_scale;
  template <Real T>
  static T apply(T raw) { return std::exp(raw); }
  template <Real T>
  static T derivative(T raw) { return std::exp(raw); }
  /// The raw value that yields `scale` (used to initialise a bias to a constant scale).
  template <Real T>
  static T inverse(T scale) {
    require(scale > 0, "ExpLink: scale must be > 0, got ", scale);
    return std::log(scale);
  }
  static constexpr std::string_view name() { return "exp"; }
};

struct SoftplusLink {
  static constexpr ScaleCoordinate coordinate = ScaleCoordinate::softplus_inverse_scale;
  template <Real T>
  static T apply(T raw) {
    // log1p(exp(raw)) overflows for large raw; raw + log1p(exp(-raw)) is the same number.
    return raw > 0 ? raw + std::log1p(std::exp(-raw)) : std::log1p(std::exp(raw));
  }
  /// d softplus / d raw = sigmoid(raw).
  template <Real T>
  static T derivative(T raw) {
    return raw >= 0 ? T(1) / (T(1) + std::exp(-raw)) : std::exp(raw) / (T(1) + std::exp(raw));
  }
  template <Real T>
  static T inverse(T scale) {
    require(scale > 0, "SoftplusLink: scale must be > 0, got ", scale);
    // log(exp(s) - 1) = s + log(-expm1(-s)), accurate for large and small s.
    return scale + std::log(-std::expm1(-scale));
  }
  static constexpr std::string_view name() { return "softplus"; }
};

struct IdentityLink {
  static constexpr ScaleCoordinate coordinate = ScaleCoordinate::scale;
  template <Real T>
  static T apply(T raw) {
    require(raw > 0, "IdentityLink: scale must be > 0, got ", raw,
            " (the identity link cannot keep a linear scale positive for every input)");
    return raw;
  }
  template <Real T>
  static T derivative(T) { return T(1); }
  template <Real T>
  static T inverse(T scale) {
    require(scale > 0, "IdentityLink: scale must be > 0, got ", scale);
    return scale;
  }
  static constexpr std::string_view name() { return "identity"; }
};

static_assert(ScaleLinkPolicy<ExpLink> && ScaleLinkPolicy<SoftplusLink> && ScaleLinkPolicy<IdentityLink>);

}  // namespace causalqwen::head
