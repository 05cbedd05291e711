#pragma once
// Dense types shared by every layer. Activations are row-major [rows = positions x columns =
// features], the layout of a sequence of hidden states and of safetensors weight matrices.

#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

#include <cmath>

namespace causalqwen {

template <Real T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <Real T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <Real T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

/// Whether every entry of `m` is finite, in one vectorised pass: x - x is 0 for a finite x and
/// NaN otherwise, and a NaN survives the sum. Eigen's allFinite() compares one entry at a time
/// (its all() may stop early); checking the vocabulary-sized arrays of a training step that way
/// took a tenth of the step.
template <class Derived>
bool all_finite(const Eigen::DenseBase<Derived>& m) {
  return !std::isnan((m.derived().array() - m.derived().array()).sum());
}

}  // namespace causalqwen
