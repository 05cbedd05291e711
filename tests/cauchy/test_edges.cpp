// Every public function of cauchy.hpp at the edges of the floating-point range, against mpmath
// references (tests/data/math/cauchy_edges.csv, scripts/generate_cauchy_edges.py): scales down to
// the smallest subnormal and up to the largest finite number, locations and arguments whose
// difference overflows, |z| far beyond 1e300, quantiles next to 1/2 and in the subnormal tails,
// equal laws. Each result must be finite where the true value is, and within a stated number of
// ulp of it (docs/reliability.md lists the bounds).

#include <causalqwen/cauchy/cauchy.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace causalqwen_tests_cauchy_edges {

namespace {

struct Row {
  std::string function;
  std::string type;
  std::vector<std::string> numbers;  // loc, scale, arg, loc_b, scale_b, reference
};

std::vector<Row> read_edges() {
  const std::string path = std::string(CAUSALQWEN_TEST_DATA_DIR) + "/math/cauchy_edges.csv";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot open ", path);
  std::string line;
  std::getline(in, line);
  std::vector<Row> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::stringstream fields(line);
    Row row;
    std::getline(fields, row.function, ',');
    std::getline(fields, row.type, ',');
    for (std::string field; std::getline(fields, field, ',');) row.numbers.push_back(field);
    REQUIRE(row.numbers.size() == 6);
    rows.push_back(std::move(row));
  }
  return rows;
}

template <class T>
T parse(const std::string& text) {
  char* end = nullptr;
  const T value = std::is_same_v<T, float> ? T(std::strtof(text.c_str(), &end)) : T(std::strtod(text.c_str(), &end));
  REQUIRE_MESSAGE(*end == '\0', "bad number ", text);
  return value;
}

/// Number of representable values of T between a and b (0 when equal; -0 and +0 are one value).
template <class T>
std::uint64_t ulp_distance(T a, T b) {
  using Bits = std::conditional_t<std::is_same_v<T, float>, std::int32_t, std::int64_t>;
  const auto ordered = [](T v) {
    const Bits bits = std::bit_cast<Bits>(v);
    // Negative numbers count down from zero so that the integers are ordered like the values.
    return bits < 0 ? std::int64_t(std::numeric_limits<Bits>::min()) - std::int64_t(bits) : std::int64_t(bits);
  };
  const std::int64_t d = ordered(a) - ordered(b);
  return std::uint64_t(d < 0 ? -d : d);
}

template <class T>
T evaluate(const Row& row) {
  using causalqwen::Cauchy;
  const Cauchy<T> law(parse<T>(row.numbers[0]), parse<T>(row.numbers[1]));
  const T arg = parse<T>(row.numbers[2]);
  const std::string& f = row.function;
  if (f == "pdf") return pdf(law, arg);
  if (f == "log_pdf") return log_pdf(law, arg);
  if (f == "cdf") return cdf(law, arg);
  if (f == "survival") return survival(law, arg);
  if (f == "log_cdf") return log_cdf(law, arg);
  if (f == "log_survival") return log_survival(law, arg);
  if (f == "quantile") return quantile(law, arg);
  if (f == "quantile_survival") return quantile_survival(law, arg);
  if (f == "entropy") return entropy(law);
  if (f == "kl_divergence") return kl_divergence(law, Cauchy<T>(parse<T>(row.numbers[3]), parse<T>(row.numbers[4])));
  FAIL("unknown function ", f);
  return 0;
}

/// The stated bounds, in ulp of the correctly rounded result (docs/reliability.md).
const std::map<std::string, std::uint64_t> ulp_bound = {
    {"pdf", 4},      {"log_pdf", 4},  {"cdf", 4},      {"survival", 4},          {"log_cdf", 4},
    {"log_survival", 4}, {"quantile", 4}, {"quantile_survival", 4}, {"entropy", 4}, {"kl_divergence", 4},
};

template <class T>
void check_rows(const char* type) {
  std::map<std::string, std::uint64_t> worst;
  std::size_t checked = 0;
  for (const auto& row : read_edges()) {
    if (row.type != type) continue;
    const T want = parse<T>(row.numbers[5]);
    const T got = evaluate<T>(row);
    INFO(row.function, "(loc ", row.numbers[0], ", scale ", row.numbers[1], ", arg ", row.numbers[2], ", b ",
         row.numbers[3], " ", row.numbers[4], ") = ", got, ", want ", row.numbers[5]);
    if (std::isinf(want)) {
      CHECK(got == want);
    } else {
      REQUIRE(std::isfinite(got));
      const std::uint64_t d = ulp_distance(got, want);
      CHECK(d <= ulp_bound.at(row.function));
      worst[row.function] = std::max(worst[row.function], d);
    }
    ++checked;
  }
  CHECK(checked > 1000);
  for (const auto& [function, ulps] : worst) MESSAGE(std::string(type), " ", function, ": worst ", ulps, " ulp");
}

}  // namespace

TEST_CASE("double: every Cauchy function is finite and within its ulp bound at the edges of the range") {
  check_rows<double>("double");
}

TEST_CASE("float: every Cauchy function is finite and within its ulp bound at the edges of the range") {
  check_rows<float>("float");
}

TEST_CASE_TEMPLATE("where no result exists the library's error says why", T, float, double) {
  using causalqwen::Cauchy;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  const T sub = std::numeric_limits<T>::denorm_min();
  CHECK_THROWS_WITH_AS(Cauchy<T>(0, -sub), doctest::Contains("scale"), causalqwen::error);
  CHECK_THROWS_WITH_AS(Cauchy<T>(0, T(-0.0)), doctest::Contains("scale"), causalqwen::error);
  CHECK_THROWS_WITH_AS(Cauchy<T>(inf, 1), doctest::Contains("location"), causalqwen::error);
  const Cauchy<T> law(0, sub);
  CHECK_THROWS_WITH_AS(pdf(law, nan), doctest::Contains("pdf"), causalqwen::error);
  CHECK_THROWS_WITH_AS(log_pdf(law, nan), doctest::Contains("NaN"), causalqwen::error);
  CHECK_THROWS_WITH_AS(survival(law, nan), doctest::Contains("survival"), causalqwen::error);
  CHECK_THROWS_WITH_AS(log_cdf(law, nan), doctest::Contains("log_cdf"), causalqwen::error);
  CHECK_THROWS_WITH_AS(log_survival(law, nan), doctest::Contains("log_survival"), causalqwen::error);
  CHECK_THROWS_WITH_AS(quantile_survival(law, T(-0.5)), doctest::Contains("probability"), causalqwen::error);
  CHECK_THROWS_WITH_AS(characteristic_function(law, nan), doctest::Contains("characteristic"), causalqwen::error);
  // Infinite arguments have limits, not errors.
  CHECK(cdf(law, inf) == 1);
  CHECK(survival(law, -inf) == 1);
  CHECK(pdf(law, inf) == 0);
  CHECK(log_cdf(law, -inf) == -inf);
}

}  // namespace causalqwen_tests_cauchy_edges
