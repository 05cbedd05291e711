#pragma once
// What a batch should have produced: the target class of every position (the last class is
// <NUM>), the numeric value at <NUM> positions, and which positions to ignore (padding).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace causalqwen::head {

template <Real T>
struct Targets {
  std::vector<std::int32_t> classes;  ///< [N], in [0, K]; K = <NUM>
  Vector<T> values;                   ///< [N]; read only where classes[i] == K
  std::vector<std::uint8_t> ignore;   ///< [N] (1 = excluded) or empty (nothing excluded)

  std::size_t size() const { return classes.size(); }
  bool ignored(std::size_t i) const { return !ignore.empty() && ignore[i] != 0; }

  /// Every non-ignored position must carry a class in [0, classes) and, at <NUM>, a finite value.
  void validate(std::size_t positions, std::size_t class_count, std::string_view who) const {
    require(classes.size() == positions, who, ": ", classes.size(), " target classes for ", positions, " positions");
    require(static_cast<std::size_t>(values.size()) == positions, who, ": ", values.size(), " target values for ",
            positions, " positions");
    require(ignore.empty() || ignore.size() == positions, who, ": ignore mask has ", ignore.size(), " entries for ",
            positions, " positions");
    const auto num = static_cast<std::int32_t>(class_count - 1);
    for (std::size_t i = 0; i < positions; ++i) {
      if (ignored(i)) continue;
      require(classes[i] >= 0 && classes[i] <= num, who, ": target class ", classes[i], " at position ", i,
              " outside [0, ", num, "]");
      require(classes[i] != num || std::isfinite(values(static_cast<Eigen::Index>(i))), who,
              ": <NUM> target value at position ", i, " is not finite");
    }
  }

  /// The rows `index` of this batch, in that order.
  Targets select(const std::vector<std::size_t>& index) const {
    Targets out;
    out.classes.reserve(index.size());
    out.values.resize(static_cast<Eigen::Index>(index.size()));
    if (!ignore.empty()) out.ignore.reserve(index.size());
    for (std::size_t j = 0; j < index.size(); ++j) {
      out.classes.push_back(classes[index[j]]);
      out.values(static_cast<Eigen::Index>(j)) = values(static_cast<Eigen::Index>(index[j]));
      if (!ignore.empty()) out.ignore.push_back(ignore[index[j]]);
    }
    return out;
  }
};

}  // namespace causalqwen::head
