#include <causalqwen/core/sample_median.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

namespace causalqwen_tests_core_sample_median {

using causalqwen::sample_median;

TEST_CASE("sample_median: the middle value, the mean of the two middle values, NaN for none") {
  CHECK(sample_median({7.0}) == 7.0);
  CHECK(sample_median({9.0, -1.0, 4.0}) == 4.0);
  CHECK(sample_median({9.0, -1.0, 4.0, 2.0}) == 3.0);
  CHECK(sample_median({5.0, 5.0, 1.0, 5.0}) == 5.0);
  CHECK(std::isnan(sample_median({})));
}

TEST_CASE("sample_median: independent of the order of the values") {
  std::vector<double> values;
  for (int i = 0; i < 101; ++i) values.push_back(double((i * 37) % 101));  // 0..100 permuted
  CHECK(sample_median(values) == 50.0);
  values.pop_back();  // drops 64 (= 100 * 37 mod 101): the middle pair is 49, 50
  CHECK(sample_median(values) == 49.5);
}

}  // namespace causalqwen_tests_core_sample_median
