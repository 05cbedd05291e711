#pragma once
// Reparameterised sampling: u = loc + scale * tan(pi (eps - 1/2)) with eps ~ U(0, 1). The noise
// eps is either supplied (so that training code can replay or share it) or drawn from any
// std::uniform_random_bit_generator. Because u is an explicit function of (loc, scale) given
// eps, gradients flow through samples: du/dloc = 1 and du/dscale = tan(pi (eps - 1/2)) = the
// standard Cauchy draw itself. The tangent is evaluated at the nearer tail (see
// detail::standard_quantile), so eps near 0 or 1 keeps its digits.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <type_traits>

namespace causalqwen {

/// A draw together with its derivatives with respect to the law's parameters.
template <Real T>
struct ReparameterizedSample {
  T value;    // u = loc + scale * standard
  T d_loc;    // du/dloc = 1
  T d_scale;  // du/dscale = standard = tan(pi (eps - 1/2))
};

/// The standard Cauchy value tan(pi (eps - 1/2)); eps must lie strictly inside (0, 1).
template <Real T>
T standard_cauchy_from_uniform(T eps) {
  require(eps > 0 && eps < 1, "standard_cauchy_from_uniform: eps must lie in the open interval (0, 1), got ", eps);
  return detail::standard_quantile(eps);
}

/// A uniform draw strictly inside (0, 1): (2k + 1) / 2^digits for a uniform integer k < 2^(digits-1),
/// the midpoints of 2^(digits-1) equal cells. 2k + 1 < 2^digits is exact in T, so neither 0 nor 1
/// (where the tangent is infinite) can occur; (k + 1/2) 2^-digits with k < 2^digits rounds to 1.
template <Real T, std::uniform_random_bit_generator Generator>
T open_unit_uniform(Generator& generator) {
  constexpr int digits = std::numeric_limits<T>::digits;
  std::uniform_int_distribution<std::uint64_t> cell(0, (std::uint64_t{1} << (digits - 1)) - 1);
  return static_cast<T>(2 * cell(generator) + 1) * std::ldexp(T(1), -digits);
}

/// One standard Cauchy draw from a bit generator: the library's single way to turn random bits
/// into Cauchy noise.
template <Real T, std::uniform_random_bit_generator Generator>
T standard_cauchy(Generator& generator) {
  return standard_cauchy_from_uniform(open_unit_uniform<T>(generator));
}

template <Real T>
ReparameterizedSample<T> sample(const Cauchy<T>& law, T eps) {
  const T standard = standard_cauchy_from_uniform(eps);
  return {law.loc() + law.scale() * standard, T(1), standard};
}

template <Real T, std::uniform_random_bit_generator Generator>
ReparameterizedSample<T> sample(const Cauchy<T>& law, Generator& generator) {
  return sample(law, open_unit_uniform<T>(generator));
}

/// Draws for a vector law. du_i/dloc_j = delta_ij, du_i/dscale_j = delta_ij * d_scale(i).
template <Real T, int N>
struct ReparameterizedVectorSample {
  Eigen::Matrix<T, N, 1> value;
  Eigen::Matrix<T, N, 1> d_scale;
};

template <Real T, int N, class Derived>
ReparameterizedVectorSample<T, N> sample(const IndependentCauchy<T, N>& law, const Eigen::MatrixBase<Derived>& eps) {
  require(eps.size() == law.dimension(), "sample(IndependentCauchy): eps has ", eps.size(), " entries, the law has ",
          law.dimension());
  ReparameterizedVectorSample<T, N> out{law.loc(), law.scale()};
  for (Eigen::Index i = 0; i < law.dimension(); ++i) {
    out.d_scale(i) = standard_cauchy_from_uniform(T(eps(i)));
    out.value(i) = law.loc()(i) + law.scale()(i) * out.d_scale(i);
  }
  return out;
}

template <Real T, int N, std::uniform_random_bit_generator Generator>
ReparameterizedVectorSample<T, N> sample(const IndependentCauchy<T, N>& law, Generator& generator) {
  Eigen::Matrix<T, N, 1> eps(law.dimension());
  for (Eigen::Index i = 0; i < law.dimension(); ++i) eps(i) = open_unit_uniform<T>(generator);
  return sample(law, eps);
}

/// Batched over positions: the same formula elementwise, eps [rows x d].
template <Real T>
struct ReparameterizedRowsSample {
  RowMatrix<T> value;
  RowMatrix<T> d_scale;
};

template <Real T>
ReparameterizedRowsSample<T> sample(const IndependentCauchyRows<T>& law, const std::type_identity_t<RowMatrix<T>>& eps) {
  detail::require_same_shape(law.loc(), eps, "sample(IndependentCauchyRows)");
  ReparameterizedRowsSample<T> out{RowMatrix<T>(eps.rows(), eps.cols()), RowMatrix<T>(eps.rows(), eps.cols())};
  for (Eigen::Index i = 0; i < eps.size(); ++i) {
    const T standard = standard_cauchy_from_uniform(eps.data()[i]);
    out.d_scale.data()[i] = standard;
    out.value.data()[i] = law.loc().data()[i] + law.scale().data()[i] * standard;
  }
  return out;
}

template <Real T, std::uniform_random_bit_generator Generator>
ReparameterizedRowsSample<T> sample(const IndependentCauchyRows<T>& law, Generator& generator) {
  RowMatrix<T> eps(law.rows(), law.dimension());
  for (Eigen::Index i = 0; i < eps.size(); ++i) eps.data()[i] = open_unit_uniform<T>(generator);
  return sample(law, eps);
}

}  // namespace causalqwen
