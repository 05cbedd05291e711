#pragma once
// Input checks shared by the head's layers: a wrong shape or a NaN becomes a causalqwen::error
// that names the argument, instead of an Eigen assertion (Release: silent garbage).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>

#include <Eigen/Core>

#include <string_view>

namespace causalqwen::head {

/// `m` must have `cols` columns (and `rows` rows unless rows < 0) and only finite entries. The
/// message is only formed on failure: this check runs on every forward pass.
template <class Derived>
void require_matrix(const Eigen::DenseBase<Derived>& m, Eigen::Index rows, Eigen::Index cols, std::string_view what) {
  if ((rows >= 0 && m.rows() != rows) || m.cols() != cols) {
    if (rows < 0) fail(what, ": expected shape Nx", cols, ", got ", m.rows(), "x", m.cols());
    fail(what, ": expected shape ", rows, "x", cols, ", got ", m.rows(), "x", m.cols());
  }
  require(all_finite(m), what, ": contains NaN or infinity");
}

}  // namespace causalqwen::head
