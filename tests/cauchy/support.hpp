#pragma once
// Shared helpers of the Cauchy test suites: golden CSV rows and relative error.

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace causalqwen_test {

/// Rows of a numeric CSV with a header line; every field parsed with strtod (round-trip exact).
inline std::vector<std::vector<double>> read_csv(const std::string& name) {
  const std::string path = std::string(CAUSALQWEN_TEST_DATA_DIR) + "/math/" + name;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<double>> rows;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // tolerate CRLF files
    if (line.empty()) continue;
    std::vector<double> row;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) {
      char* end = nullptr;
      row.push_back(std::strtod(field.c_str(), &end));
      if (end == field.c_str() || *end != '\0') throw std::runtime_error("bad number '" + field + "' in " + path);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

/// |got - want| / |want|, or |got - want| when want is 0.
inline double relative_error(double got, double want) {
  if (want == 0) return std::abs(got - want);
  return std::abs(got - want) / std::abs(want);
}

/// Five-point central difference of f at x (truncation error O(h^4)); the step is relative to
/// |x|, or absolute when x = 0.
template <class F>
double derivative(F f, double x, double relative_step = 1e-3) {
  const double h = relative_step * (x == 0 ? 1.0 : std::abs(x));
  return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h);
}

}  // namespace causalqwen_test
