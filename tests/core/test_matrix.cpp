#include <causalqwen/core/matrix.hpp>

#include <doctest/doctest.h>

#include <limits>
#include <utility>

namespace causalqwen_tests_core_matrix {

using causalqwen::all_finite;
using causalqwen::RowMatrix;
using causalqwen::Vector;

TEST_CASE_TEMPLATE("all_finite: false for any NaN or infinity, wherever it lies; true for finite extremes", T, float,
                   double) {
  constexpr T inf = std::numeric_limits<T>::infinity();
  RowMatrix<T> m = RowMatrix<T>::Constant(7, 37, T(1));
  m(0, 0) = std::numeric_limits<T>::max();
  m(1, 1) = -std::numeric_limits<T>::max();
  m(2, 2) = std::numeric_limits<T>::denorm_min();
  CHECK(all_finite(m));
  CHECK(all_finite(RowMatrix<T>()));
  for (const T bad : {std::numeric_limits<T>::quiet_NaN(), inf, -inf}) {
    for (const auto& [i, j] : {std::pair{0, 0}, std::pair{3, 17}, std::pair{6, 36}}) {
      RowMatrix<T> copy = m;
      copy(i, j) = bad;
      CHECK_FALSE(all_finite(copy));
      CHECK(all_finite(copy.topRows(i)));  // a block that excludes the bad entry
    }
  }
  Vector<T> v = Vector<T>::Zero(5);
  v(4) = -inf;
  CHECK_FALSE(all_finite(v));
  CHECK(all_finite(v.head(4)));
}

}  // namespace causalqwen_tests_core_matrix
