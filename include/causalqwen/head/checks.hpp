#pragma once
// Input checks shared by the head's layers: a wrong shape or a NaN becomes a causalqwen::error
// that names the argument, instead of an Eigen assertion (Release: silent garbage).

#include <causalqwen/core/error.hpp>

#include <Eigen/Core>

#include <string_view>

namespace causalqwen::head {

/// `m` must have `cols` columns (and `rows` rows unless rows < 0) and only finite entries.
template <class Derived>
void require_matrix(const Eigen::DenseBase<Derived>& m, Eigen::Index rows, Eigen::Index cols, std::string_view what) {
  require((rows < 0 || m.rows() == rows) && m.cols() == cols, what, ": expected shape ",
          (rows < 0 ? std::string("N") : std::to_string(rows)), "x", cols, ", got ", m.rows(), "x", m.cols());
  require(m.derived().allFinite(), what, ": contains NaN or infinity");
}

}  // namespace causalqwen::head
