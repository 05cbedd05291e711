#pragma once
// Dense types shared by every layer. Activations are row-major [rows = positions x columns =
// features], the layout of a sequence of hidden states and of safetensors weight matrices.

#include <causalqwen/core/real.hpp>

#include <Eigen/Core>

namespace causalqwen {

template <Real T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <Real T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

template <Real T>
using RowVector = Eigen::Matrix<T, 1, Eigen::Dynamic>;

}  // namespace causalqwen
