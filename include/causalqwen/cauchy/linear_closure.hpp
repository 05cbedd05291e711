#pragma once
// Linear closure of the Cauchy family: for independent U_i ~ Cauchy(loc_i, scale_i),
//   sum_i a_i U_i + b ~ Cauchy(sum_i a_i loc_i + b, sum_i |a_i| scale_i)
// (characteristic functions multiply: exp(i t loc - scale |t|)). Note the absolute value: the
// scale is sum |a_i| scale_i, never |sum a_i scale_i|.
//
// DEPENDENCE. For S = A U + b every marginal S_k ~ Cauchy((A loc + b)_k, (|A| scale)_k) is exact,
// but the components of S are NOT independent unless every column of A has at most one nonzero
// entry (each latent U_i feeds at most one output). linear_marginals() returns the marginals
// packed as an IndependentCauchy for convenience: per-component quantities (a one-vs-rest
// probability, a per-k NLL or BCE) are exact, but any joint quantity built from it (product of
// marginal probabilities, KL summed over the components of S, log_pdf of the pack) is NOT the law
// of S. For a joint linear functional c^T S use linear_functional(A^T c, u) instead.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>

namespace causalqwen {

/// a X + b for X ~ Cauchy(loc, scale): Cauchy(a loc + b, |a| scale). a = 0 (a point mass) throws.
template <Real T>
Cauchy<T> affine(const Cauchy<T>& x, T a, T b = T(0)) {
  require(std::isfinite(a) && a != 0, "affine(Cauchy): factor must be finite and nonzero, got ", a);
  require(std::isfinite(b), "affine(Cauchy): offset must be finite, got ", b);
  return Cauchy<T>(a * x.loc() + b, std::abs(a) * x.scale());
}

/// X + Y for independent X and Y: Cauchy(loc_X + loc_Y, scale_X + scale_Y).
template <Real T>
Cauchy<T> sum_of_independent(const Cauchy<T>& x, const Cauchy<T>& y) {
  return Cauchy<T>(x.loc() + y.loc(), x.scale() + y.scale());
}

/// a U for a vector law: every component scaled by a (a may be negative; a = 0 throws).
template <Real T, int N>
IndependentCauchy<T, N> scaled(const IndependentCauchy<T, N>& u, T a) {
  require(std::isfinite(a) && a != 0, "scaled(IndependentCauchy): factor must be finite and nonzero, got ", a);
  return IndependentCauchy<T, N>(a * u.loc(), std::abs(a) * u.scale());
}

/// U + V for independent vector laws of the same dimension (componentwise).
template <Real T, int N>
IndependentCauchy<T, N> sum_of_independent(const IndependentCauchy<T, N>& u, const IndependentCauchy<T, N>& v) {
  require(u.dimension() == v.dimension(), "sum_of_independent(IndependentCauchy): dimensions differ, ", u.dimension(),
          " vs ", v.dimension());
  return IndependentCauchy<T, N>(u.loc() + v.loc(), u.scale() + v.scale());
}

/// The exact law of c^T U + b for independent U: Cauchy(c^T loc + b, |c|^T scale).
template <Real T, int N, class Derived>
Cauchy<T> linear_functional(const Eigen::MatrixBase<Derived>& c, const IndependentCauchy<T, N>& u, T b = T(0)) {
  require(c.size() == u.dimension(), "linear_functional: coefficient vector has ", c.size(),
          " entries, the law has dimension ", u.dimension());
  require(c.allFinite(), "linear_functional: coefficients must be finite");
  const T scale = c.cwiseAbs().dot(u.scale());
  require(scale > 0, "linear_functional: all coefficients are zero, c^T U is a point mass, not a Cauchy law");
  return Cauchy<T>(T(c.dot(u.loc())) + b, scale);
}

/// The marginals of A U + b (see the note on dependence at the top of this header).
template <Real T, int N, class DerivedA, class DerivedB>
IndependentCauchy<T> linear_marginals(const Eigen::MatrixBase<DerivedA>& a, const IndependentCauchy<T, N>& u,
                                      const Eigen::MatrixBase<DerivedB>& b) {
  require(a.cols() == u.dimension(), "linear_marginals: A has ", a.cols(), " columns, U has dimension ",
          u.dimension());
  require(b.size() == a.rows(), "linear_marginals: b has ", b.size(), " entries, A has ", a.rows(), " rows");
  require(a.allFinite() && b.allFinite(), "linear_marginals: A and b must be finite");
  Vector<T> scale = a.cwiseAbs() * u.scale();
  for (Eigen::Index k = 0; k < scale.size(); ++k)
    require(scale(k) > 0, "linear_marginals: row ", k, " of A is zero, so output ", k, " is a point mass");
  Vector<T> loc = a * u.loc() + b;
  return IndependentCauchy<T>(std::move(loc), std::move(scale));
}

/// Batched over positions: row r of the result holds the marginals of A U_r + b, i.e.
/// loc = U.loc A^T + b^T and scale = U.scale |A|^T.
template <Real T, class DerivedA, class DerivedB>
IndependentCauchyRows<T> linear_marginals(const Eigen::MatrixBase<DerivedA>& a, const IndependentCauchyRows<T>& u,
                                          const Eigen::MatrixBase<DerivedB>& b) {
  require(a.cols() == u.dimension(), "linear_marginals: A has ", a.cols(), " columns, U has dimension ",
          u.dimension());
  require(b.size() == a.rows(), "linear_marginals: b has ", b.size(), " entries, A has ", a.rows(), " rows");
  require(a.allFinite() && b.allFinite(), "linear_marginals: A and b must be finite");
  const Vector<T> row_abs_sum = a.cwiseAbs().rowwise().sum();
  for (Eigen::Index k = 0; k < row_abs_sum.size(); ++k)
    require(row_abs_sum(k) > 0, "linear_marginals: row ", k, " of A is zero, so output ", k, " is a point mass");
  RowMatrix<T> loc = u.loc() * a.transpose();
  for (Eigen::Index k = 0; k < loc.cols(); ++k) loc.col(k).array() += T(b(k));
  RowMatrix<T> scale = u.scale() * a.cwiseAbs().transpose();
  return IndependentCauchyRows<T>(std::move(loc), std::move(scale));
}

}  // namespace causalqwen
