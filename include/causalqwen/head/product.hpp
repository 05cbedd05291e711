#pragma once
// Matrix products of the head. Eigen's GEMM splits any product above ~50k multiply-adds across
// OpenMP threads; for the head's small shapes (a training batch of a small model) the fork/join
// costs far more than the product, and on a loaded machine a barrier can cost milliseconds. Below
// kParallelWork the coefficient-based (lazy) product is used instead: vectorised, single-threaded.

#include <Eigen/Core>

namespace causalqwen::head {

/// Multiply-adds below which a product or kernel stays on one thread.
inline constexpr Eigen::Index kParallelWork = Eigen::Index(1) << 20;

/// dst = lhs * rhs (dst must not alias lhs or rhs).
template <class Dst, class Lhs, class Rhs>
void multiply(Dst&& dst, const Lhs& lhs, const Rhs& rhs) {
  if (lhs.rows() * lhs.cols() * rhs.cols() < kParallelWork)
    dst = lhs.lazyProduct(rhs);
  else
    dst.noalias() = lhs * rhs;
}

/// dst += lhs * rhs (dst must not alias lhs or rhs).
template <class Dst, class Lhs, class Rhs>
void multiply_add(Dst&& dst, const Lhs& lhs, const Rhs& rhs) {
  if (lhs.rows() * lhs.cols() * rhs.cols() < kParallelWork)
    dst += lhs.lazyProduct(rhs);
  else
    dst.noalias() += lhs * rhs;
}

}  // namespace causalqwen::head
