#pragma once
// The coordinate in which a network parameterises a Cauchy scale g. It is one notion for the
// whole library: the Fisher information is written in it (fisher.hpp), the fusion of domains
// displaces the laws in it and has certified bounds for two of them (fusion_bounds.hpp), and each
// scale-link policy of the head names its own (head/scale_link.hpp: ExpLink is log_scale).

#include <string_view>

namespace causalqwen {

enum class ScaleCoordinate {
  scale,                   ///< g itself (identity link)
  log_scale,               ///< s = log g (exp link)
  softplus_inverse_scale,  ///< eta with g = softplus(eta) = log(1 + e^eta) (softplus link)
};

inline constexpr std::string_view to_string(ScaleCoordinate coordinate) {
  switch (coordinate) {
    case ScaleCoordinate::scale: return "scale";
    case ScaleCoordinate::log_scale: return "log-scale";
    case ScaleCoordinate::softplus_inverse_scale: return "softplus-inverse-scale";
  }
  return "?";
}

}  // namespace causalqwen
