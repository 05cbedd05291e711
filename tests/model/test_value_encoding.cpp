#include <causalqwen/model/value_encoding.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

namespace causalqwen_tests_model_value_encoding {

using namespace causalqwen;

TEST_CASE("sigmoid encoding saturates: 99.9 and 1e6 give the same float embedding") {
  RowVector<float> e(3);
  e << 1.0f, -2.0f, 0.5f;
  const model::SigmoidValueEncoding<float> enc(e);
  CHECK(enc.encode(99.9) == enc.encode(1e6));
  CHECK(enc.encode(17.0) == e);
  CHECK(enc.encode(-100.0).isZero());
  CHECK(enc.encode(0.0).isApprox(e * 0.5f));
  CHECK(enc.encode(1.0) != enc.encode(2.0));
}

TEST_CASE("log-signed encoding: odd, strictly increasing, no saturation") {
  const auto enc = model::LogSignedValueEncoding<float>::initial(RowVector<float>::Constant(8, 0.3f), 0.2f, 5);
  const RowVector<float>& w = enc.direction();
  CHECK(w.norm() == doctest::Approx(0.2 * std::sqrt(8.0)).epsilon(1e-5));
  const auto along = [&](double v) { return double((enc.encode(v) - enc.num_embedding()).dot(w) / w.squaredNorm()); };
  CHECK(enc.encode(0.0) == enc.num_embedding());
  double previous = -std::numeric_limits<double>::infinity();
  for (double v : {-1e6, -99.9, -3.0, -0.001, 0.0, 0.001, 3.0, 99.9, 1e6, 1e300}) {
    const double a = along(v);
    CHECK(a > previous);
    CHECK(a == doctest::Approx(std::copysign(std::log1p(std::abs(v)), v)).epsilon(1e-5));
    CHECK(along(-v) == doctest::Approx(-a).epsilon(1e-6));
    previous = a;
  }
  CHECK(enc.encode(99.9) != enc.encode(1e6));
}

TEST_CASE("encodings refuse non-finite values and bad rows") {
  const model::SigmoidValueEncoding<double> s(RowVector<double>::Ones(4));
  const auto l = model::LogSignedValueEncoding<double>::initial(RowVector<double>::Ones(4), 1.0, 1);
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    CHECK_THROWS_AS(s.encode(bad), error);
    CHECK_THROWS_AS(l.encode(bad), error);
  }
  CHECK_THROWS_AS(model::SigmoidValueEncoding<float>(RowVector<float>()), error);
  CHECK_THROWS_AS(model::LogSignedValueEncoding<float>(RowVector<float>::Ones(3), RowVector<float>::Ones(4)), error);
  RowVector<float> nan_row = RowVector<float>::Ones(3);
  nan_row(1) = std::nanf("");
  CHECK_THROWS_AS(model::SigmoidValueEncoding<float>{nan_row}, error);
}

}  // namespace causalqwen_tests_model_value_encoding
