#pragma once
// Token embedding: a gather of table rows, and its backward, a scatter-add of the row gradients
// into the table's gradient (a token seen twice collects both).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace causalqwen::kernels {

/// Rows `tokens` of `table`, [tokens x cols].
template <Real T>
RowMatrix<T> embed(const Weight<T>& table, std::span<const std::int32_t> tokens) {
  RowMatrix<T> out(static_cast<std::int64_t>(tokens.size()), table.cols());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    require(tokens[i] >= 0 && tokens[i] < table.rows(), "token id ", tokens[i], " at position ", i,
            " is outside the vocabulary [0, ", table.rows(), ")");
    out.row(static_cast<std::int64_t>(i)) = table.row(tokens[i]);
  }
  return out;
}

/// Backward of embed: d_table.row(tokens[i]) += d_rows.row(i). Serial: repeated tokens would race,
/// and the work is one pass over T x H.
template <Real T>
void embed_backward(std::span<const std::int32_t> tokens, const RowMatrix<T>& d_rows, RowMatrix<T>& d_table) {
  require(static_cast<std::int64_t>(tokens.size()) == d_rows.rows() && d_rows.cols() == d_table.cols(),
          "embed_backward: ", tokens.size(), " tokens, row gradients [", d_rows.rows(), " x ", d_rows.cols(),
          "] and a table gradient of width ", d_table.cols());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    require(tokens[i] >= 0 && tokens[i] < d_table.rows(), "embed_backward: token id ", tokens[i], " at position ", i,
            " is outside the vocabulary [0, ", d_table.rows(), ")");
    d_table.row(tokens[i]) += d_rows.row(static_cast<std::int64_t>(i));
  }
}

}  // namespace causalqwen::kernels
