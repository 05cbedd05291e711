// The median of a sample of errors: the robust summary that both the head's metrics and the
// numeric evaluation report, since Cauchy-distributed errors have no mean.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

namespace causalqwen {

/// The middle value (the mean of the two middle values for an even count); NaN for no values.
inline double sample_median(std::vector<double> values) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  const auto mid = values.begin() + std::ptrdiff_t(values.size() / 2);
  std::nth_element(values.begin(), mid, values.end());
  if (values.size() % 2 == 1) return *mid;
  return 0.5 * (*mid + *std::max_element(values.begin(), mid));
}

}  // namespace causalqwen
