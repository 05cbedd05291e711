#pragma once
// The golden Qwen2 data set (tests/data/qwen2, README.md there): the input tokens, logits an
// independent implementation computed for them, and the distance of a model's logits to those.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/matrix.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

namespace golden {

using causalqwen::RowMatrix;
using causalqwen::TokenId;

inline const std::filesystem::path dir = std::filesystem::path(CAUSALQWEN_TEST_DATA_DIR) / "qwen2";

inline std::vector<TokenId> tokens() {
  std::ifstream in(dir / "golden_tokens.txt");
  std::vector<TokenId> out;
  for (TokenId t; in >> t;) out.push_back(t);
  return out;
}

/// One row of logits per position, as written by the golden data's generator.
inline RowMatrix<double> logits(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<std::vector<double>> rows;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    auto& row = rows.emplace_back();
    for (double v; fields >> v;) row.push_back(v);
  }
  REQUIRE_MESSAGE(!rows.empty(), "no logits in ", file.string());
  RowMatrix<double> out(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.front().size()));
  for (std::size_t r = 0; r < rows.size(); ++r) {
    REQUIRE(rows[r].size() == rows.front().size());
    for (std::size_t c = 0; c < rows[r].size(); ++c) out(static_cast<Eigen::Index>(r), static_cast<Eigen::Index>(c)) = rows[r][c];
  }
  return out;
}

/// Largest |logit - golden| of `model` on the golden tokens, against the logits in `file`.
template <class Model>
double max_error(const Model& model, const std::filesystem::path& file) {
  const std::vector<TokenId> input = tokens();
  const RowMatrix<double> expected = logits(file);
  const auto actual = model.logits(std::span<const TokenId>(input));
  REQUIRE(actual.rows() == expected.rows());
  REQUIRE(actual.cols() == expected.cols());
  return (actual.template cast<double>() - expected).cwiseAbs().maxCoeff();
}

}  // namespace golden
