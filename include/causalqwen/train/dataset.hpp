#pragma once
// A labelled set of positions for the head: hidden states [N x H] and their targets.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/targets.hpp>

#include <cstddef>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct Dataset {
  RowMatrix<T> hidden;
  head::Targets<T> targets;

  std::size_t size() const { return static_cast<std::size_t>(hidden.rows()); }

  /// The positions `index`, in that order (a minibatch).
  Dataset select(const std::vector<std::size_t>& index) const {
    Dataset out;
    out.hidden.resize(static_cast<Eigen::Index>(index.size()), hidden.cols());
    for (std::size_t j = 0; j < index.size(); ++j) {
      require(index[j] < size(), "Dataset::select: index ", index[j], " out of range (", size(), " positions)");
      out.hidden.row(static_cast<Eigen::Index>(j)) = hidden.row(static_cast<Eigen::Index>(index[j]));
    }
    out.targets = targets.select(index);
    return out;
  }
};

}  // namespace causalqwen::train
