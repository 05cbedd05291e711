#pragma once
// Fisher information of Cauchy(mu, g) and the quadratic (second-order) KL estimate.
// In (mu, g): I = diag(1/(2 g^2), 1/(2 g^2)) (off-diagonal zero by symmetry of the density).
// A reparameterisation g = g(theta) multiplies the scale entry by (dg/dtheta)^2:
//   (mu, log g):               I = diag(1/(2 g^2), 1/2)
//   (mu, eta), g = softplus(eta): I = diag(1/(2 g^2), sigmoid(eta)^2 / (2 g^2)), sigmoid(eta) = 1 - e^{-g}.
// KL(theta || theta + delta) = delta^T I delta / 2 + O(|delta|^3); the third-order term is
// -|delta|^2 dg / (4 g^3) in (mu, g), i.e. shrinking the scale costs more than the estimate says.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/cauchy/scale_coordinate.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>

namespace causalqwen {

/// softplus(x) = log(1 + e^x) without overflow for large x.
template <Real T>
T softplus(T x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

/// The eta with softplus(eta) = g, for g > 0: eta = g + log(1 - e^{-g}).
template <Real T>
T softplus_inverse(T g) {
  require(g > 0 && std::isfinite(g), "softplus_inverse: argument must be finite and > 0, got ", g);
  return g + std::log(-std::expm1(-g));
}

/// The two diagonal entries of the Fisher information (the off-diagonal entry is zero).
template <Real T>
struct FisherDiagonal {
  T loc;    // I_{mu mu}
  T scale;  // I for the scale coordinate chosen
};

template <Real T>
FisherDiagonal<T> fisher_information(const Cauchy<T>& law, ScaleCoordinate coordinate) {
  const T g = law.scale();
  const T loc_entry = T(1) / (2 * g * g);
  switch (coordinate) {
    case ScaleCoordinate::scale:
      return {loc_entry, loc_entry};
    case ScaleCoordinate::log_scale:
      return {loc_entry, T(0.5)};
    case ScaleCoordinate::softplus_inverse_scale: {
      const T sigmoid_over_g = -std::expm1(-g) / g;  // dg/deta / g, accurate for tiny and huge g
      return {loc_entry, sigmoid_over_g * sigmoid_over_g / 2};
    }
  }
  fail("fisher_information: unknown ScaleCoordinate");
}

/// The 2x2 matrix in the order (mu, scale coordinate).
template <Real T>
Eigen::Matrix<T, 2, 2> fisher_information_matrix(const Cauchy<T>& law, ScaleCoordinate coordinate) {
  const FisherDiagonal<T> d = fisher_information(law, coordinate);
  Eigen::Matrix<T, 2, 2> m;
  m << d.loc, T(0), T(0), d.scale;
  return m;
}

/// The second-order estimate delta^T I delta / 2 of KL(law || law moved by (d_loc, d_coordinate)).
template <Real T>
T kl_quadratic_estimate(const Cauchy<T>& law, T d_loc, T d_coordinate, ScaleCoordinate coordinate) {
  require(std::isfinite(d_loc) && std::isfinite(d_coordinate), "kl_quadratic_estimate: displacement must be finite");
  const FisherDiagonal<T> d = fisher_information(law, coordinate);
  return (d.loc * d_loc * d_loc + d.scale * d_coordinate * d_coordinate) / 2;
}

/// Vector form: the information of an independent product is block diagonal, so the estimate adds up.
template <Real T, int N, class LocDerived, class CoordinateDerived>
T kl_quadratic_estimate(const IndependentCauchy<T, N>& law, const Eigen::MatrixBase<LocDerived>& d_loc,
                        const Eigen::MatrixBase<CoordinateDerived>& d_coordinate, ScaleCoordinate coordinate) {
  require(d_loc.size() == law.dimension() && d_coordinate.size() == law.dimension(),
          "kl_quadratic_estimate(IndependentCauchy): displacements have ", d_loc.size(), " and ", d_coordinate.size(),
          " entries, the law has dimension ", law.dimension());
  T sum = 0;
  for (Eigen::Index i = 0; i < law.dimension(); ++i)
    sum += kl_quadratic_estimate(law.marginal(i), T(d_loc(i)), T(d_coordinate(i)), coordinate);
  return sum;
}

}  // namespace causalqwen
