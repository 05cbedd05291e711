#pragma once
// The abducted latent U: d independent Cauchy components, U_i ~ Cauchy(loc_i, scale_i).
// IndependentCauchy<T, N> is one such law (N static or Eigen::Dynamic); IndependentCauchyRows<T>
// holds one law per row of a [positions x d] matrix, the shape in which the abduction network
// produces them for a sequence. Parameters are validated once at construction, so the batched
// functions run tight loops over the stable scalar kernels without per-element checks on them.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>
#include <type_traits>

namespace causalqwen {

namespace detail {
/// Throws unless loc and scale have the same shape, every loc is finite and every scale finite and > 0.
template <class LocDerived, class ScaleDerived>
void require_cauchy_parameters(const Eigen::DenseBase<LocDerived>& loc, const Eigen::DenseBase<ScaleDerived>& scale,
                               const char* what) {
  require(loc.rows() == scale.rows() && loc.cols() == scale.cols(), what, ": loc is ", loc.rows(), "x", loc.cols(),
          " but scale is ", scale.rows(), "x", scale.cols());
  for (Eigen::Index r = 0; r < loc.rows(); ++r) {
    for (Eigen::Index c = 0; c < loc.cols(); ++c) {
      require(std::isfinite(loc(r, c)), what, ": loc(", r, ",", c, ") must be finite, got ", loc(r, c));
      require(std::isfinite(scale(r, c)) && scale(r, c) > 0, what, ": scale(", r, ",", c,
              ") must be finite and > 0, got ", scale(r, c));
    }
  }
}

template <class Derived>
void require_no_nan(const Eigen::DenseBase<Derived>& x, const char* what) {
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c) require(!std::isnan(x(r, c)), what, ": argument (", r, ",", c, ") is NaN");
}

template <class A, class B>
void require_same_shape(const Eigen::DenseBase<A>& a, const Eigen::DenseBase<B>& b, const char* what) {
  require(a.rows() == b.rows() && a.cols() == b.cols(), what, ": shapes differ, ", a.rows(), "x", a.cols(), " vs ",
          b.rows(), "x", b.cols());
}
}  // namespace detail

template <Real T, int N = Eigen::Dynamic>
class IndependentCauchy {
 public:
  using value_type = T;
  using vector_type = Eigen::Matrix<T, N, 1>;
  static constexpr int static_dimension = N;

  /// Throws causalqwen::error on mismatched sizes, a non-finite loc, or a scale that is not finite and > 0.
  IndependentCauchy(vector_type loc, vector_type scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
    detail::require_cauchy_parameters(loc_, scale_, "IndependentCauchy");
    require(loc_.size() > 0, "IndependentCauchy: dimension must be at least 1");
  }

  const vector_type& loc() const noexcept { return loc_; }
  const vector_type& scale() const noexcept { return scale_; }
  Eigen::Index dimension() const noexcept { return loc_.size(); }

  /// The law of component i (the components are independent, so this is all of it).
  Cauchy<T> marginal(Eigen::Index i) const {
    require(i >= 0 && i < dimension(), "IndependentCauchy::marginal: index ", i, " outside [0, ", dimension(), ")");
    return Cauchy<T>(loc_(i), scale_(i));
  }

 private:
  vector_type loc_;
  vector_type scale_;
};

/// log density of x: the sum of the components' log densities.
template <Real T, int N, class Derived>
T log_pdf(const IndependentCauchy<T, N>& u, const Eigen::MatrixBase<Derived>& x) {
  require(x.size() == u.dimension(), "log_pdf(IndependentCauchy): x has ", x.size(), " entries, the law has ",
          u.dimension());
  detail::require_no_nan(x, "log_pdf(IndependentCauchy)");
  T sum = 0;
  for (Eigen::Index i = 0; i < u.dimension(); ++i) sum -= stable::cauchy_nll(T(x(i)), u.loc()(i), u.scale()(i));
  return sum;
}

/// Exact KL(p || q) = sum of the components' KL divergences (symmetric).
template <Real T, int N>
T kl_divergence(const IndependentCauchy<T, N>& p, const IndependentCauchy<T, N>& q) {
  require(p.dimension() == q.dimension(), "kl_divergence(IndependentCauchy): dimensions differ, ", p.dimension(),
          " vs ", q.dimension());
  T sum = 0;
  for (Eigen::Index i = 0; i < p.dimension(); ++i)
    sum += stable::kl_divergence(p.loc()(i), p.scale()(i), q.loc()(i), q.scale()(i));
  return sum;
}

/// One independent Cauchy law per row: row r is IndependentCauchy(loc.row(r), scale.row(r)).
template <Real T>
class IndependentCauchyRows {
 public:
  using value_type = T;

  IndependentCauchyRows(RowMatrix<T> loc, RowMatrix<T> scale) : loc_(std::move(loc)), scale_(std::move(scale)) {
    detail::require_cauchy_parameters(loc_, scale_, "IndependentCauchyRows");
  }

  const RowMatrix<T>& loc() const noexcept { return loc_; }
  const RowMatrix<T>& scale() const noexcept { return scale_; }
  Eigen::Index rows() const noexcept { return loc_.rows(); }
  Eigen::Index dimension() const noexcept { return loc_.cols(); }

  IndependentCauchy<T> row(Eigen::Index r) const {
    require(r >= 0 && r < rows(), "IndependentCauchyRows::row: index ", r, " outside [0, ", rows(), ")");
    return IndependentCauchy<T>(loc_.row(r).transpose(), scale_.row(r).transpose());
  }

 private:
  RowMatrix<T> loc_;
  RowMatrix<T> scale_;
};

namespace detail {
/// out(r, c) = kernel(x(r, c), loc(r, c), scale(r, c)) over a whole batch, after one shape and NaN check.
template <Real T, class Kernel>
RowMatrix<T> elementwise(const IndependentCauchyRows<T>& u, const RowMatrix<T>& x, const char* what, Kernel kernel) {
  require_same_shape(u.loc(), x, what);
  require_no_nan(x, what);
  RowMatrix<T> out(x.rows(), x.cols());
  const Eigen::Index n = x.size();
  const T* xs = x.data();
  const T* locs = u.loc().data();
  const T* scales = u.scale().data();
  T* o = out.data();
  for (Eigen::Index i = 0; i < n; ++i) o[i] = kernel(xs[i], locs[i], scales[i]);
  return out;
}
}  // namespace detail

/// Per-element log densities [rows x d] (the per-row sum is log_pdf(u, x)).
template <Real T>
RowMatrix<T> log_pdf_elements(const IndependentCauchyRows<T>& u, const std::type_identity_t<RowMatrix<T>>& x) {
  return detail::elementwise(u, x, "log_pdf_elements(IndependentCauchyRows)",
                             [](T xi, T loc, T scale) { return -stable::cauchy_nll(xi, loc, scale); });
}

/// Joint log density of each row [rows].
template <Real T>
Vector<T> log_pdf(const IndependentCauchyRows<T>& u, const std::type_identity_t<RowMatrix<T>>& x) {
  return log_pdf_elements(u, x).rowwise().sum();
}

/// Marginal cdf P(U_rc <= x_rc) per element.
template <Real T>
RowMatrix<T> cdf(const IndependentCauchyRows<T>& u, const std::type_identity_t<RowMatrix<T>>& x) {
  return detail::elementwise(u, x, "cdf(IndependentCauchyRows)",
                             [](T xi, T loc, T scale) { return stable::ovr_probability(xi - loc, scale); });
}

/// Marginal survival P(U_rc > x_rc) per element, computed directly.
template <Real T>
RowMatrix<T> survival(const IndependentCauchyRows<T>& u, const std::type_identity_t<RowMatrix<T>>& x) {
  return detail::elementwise(u, x, "survival(IndependentCauchyRows)",
                             [](T xi, T loc, T scale) { return stable::ovr_complement(xi - loc, scale); });
}

/// Per-component KL [rows x d]; summing a row gives the KL of that row's laws.
template <Real T>
RowMatrix<T> kl_divergence_elements(const IndependentCauchyRows<T>& p, const IndependentCauchyRows<T>& q) {
  detail::require_same_shape(p.loc(), q.loc(), "kl_divergence_elements(IndependentCauchyRows)");
  RowMatrix<T> out(p.rows(), p.dimension());
  const Eigen::Index n = out.size();
  const T* la = p.loc().data();
  const T* sa = p.scale().data();
  const T* lb = q.loc().data();
  const T* sb = q.scale().data();
  T* o = out.data();
  for (Eigen::Index i = 0; i < n; ++i) o[i] = stable::kl_divergence(la[i], sa[i], lb[i], sb[i]);
  return out;
}

/// KL(p_r || q_r) per row [rows].
template <Real T>
Vector<T> kl_divergence(const IndependentCauchyRows<T>& p, const IndependentCauchyRows<T>& q) {
  return kl_divergence_elements(p, q).rowwise().sum();
}

}  // namespace causalqwen
