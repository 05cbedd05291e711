#pragma once
// A weight matrix [out features x in features] as the CPU kernels consume it: either dense in
// the scalar type, or bfloat16 bits converted to the scalar type inside the matmul (half the
// memory and half the bandwidth of float, which is what bounds decoding). Building one from a
// stored tensor is the backend's job (it knows the file formats); the kernels only read it.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace causalqwen::kernels {

/// How weights are held in memory after loading.
enum class WeightFormat {
  as_stored,  ///< bfloat16 tensors stay bfloat16; every other floating dtype becomes dense
  dense,      ///< everything converted to the scalar type
  bf16,       ///< everything rounded to bfloat16 (round to nearest even)
};

template <Real T>
class Weight {
 public:
  Weight() = default;

  static Weight from_dense(RowMatrix<T> values) {
    Weight w;
    w.rows_ = values.rows();
    w.cols_ = values.cols();
    w.dense_ = std::move(values);
    return w;
  }

  static Weight from_bf16(std::int64_t rows, std::int64_t cols, std::vector<std::uint16_t> bits) {
    require(static_cast<std::int64_t>(bits.size()) == rows * cols, "bf16 weight: ", bits.size(), " values for a ", rows,
            " x ", cols, " matrix");
    Weight w;
    w.rows_ = rows;
    w.cols_ = cols;
    w.is_bf16_ = true;
    w.bf16_ = std::move(bits);
    return w;
  }

  /// A host matrix in the requested format (`bf16` rounds to nearest even; the others keep it).
  static Weight from_host(RowMatrix<T> values, WeightFormat format) {
    if (format != WeightFormat::bf16) return from_dense(std::move(values));
    std::vector<std::uint16_t> bits(static_cast<std::size_t>(values.size()));
    for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = io::float_to_bf16(static_cast<float>(values.data()[i]));
    return from_bf16(values.rows(), values.cols(), std::move(bits));
  }

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  bool is_bf16() const { return is_bf16_; }
  const RowMatrix<T>& dense() const { return dense_; }
  /// Overwrites a dense weight's values in place (an optimiser step refreshing a master copy):
  /// same shape, no allocation.
  void assign(const Eigen::Ref<const RowMatrix<T>>& values) {
    require(!is_bf16_ && values.rows() == rows_ && values.cols() == cols_, "Weight::assign: a ", values.rows(), " x ",
            values.cols(), " matrix for a ", is_bf16_ ? "bfloat16 " : "", rows_, " x ", cols_, " weight");
    dense_ = values;
  }
  const std::uint16_t* bf16_row(std::int64_t row) const { return bf16_.data() + row * cols_; }

  /// Row `row` converted to T.
  RowVector<T> row(std::int64_t row) const {
    require(row >= 0 && row < rows_, "weight row ", row, " out of range [0, ", rows_, ")");
    if (!is_bf16_) return dense_.row(row);
    RowVector<T> out(cols_);
    const std::uint16_t* bits = bf16_row(row);
    for (std::int64_t c = 0; c < cols_; ++c) out[c] = static_cast<T>(io::bf16_to_float(bits[c]));
    return out;
  }

  /// The values in T, moved out of a dense weight (no copy) or widened from bfloat16.
  RowMatrix<T> into_host() && {
    if (!is_bf16_) return std::move(dense_);
    RowMatrix<T> out;
    rows_to(0, rows_, out);
    return out;
  }

  /// The first `count` rows followed by the rows of `extra`, in this weight's format, built in
  /// one allocation (appending to a vocabulary-sized copy would briefly hold it twice).
  Weight leading_rows(std::int64_t count, const RowMatrix<T>& extra) const {
    require(count >= 0 && count <= rows_, "weight: ", count, " leading rows of a ", rows_, "-row weight");
    require(extra.rows() == 0 || extra.cols() == cols_, "weight: extra rows of width ", extra.cols(), " for a weight of width ",
            cols_);
    if (!is_bf16_) {
      RowMatrix<T> values(count + extra.rows(), cols_);
      values.topRows(count) = dense_.topRows(count);
      values.bottomRows(extra.rows()) = extra;
      return from_dense(std::move(values));
    }
    std::vector<std::uint16_t> bits(static_cast<std::size_t>((count + extra.rows()) * cols_));
    std::copy(bf16_.begin(), bf16_.begin() + count * cols_, bits.begin());
    for (std::int64_t i = 0; i < extra.size(); ++i)
      bits[static_cast<std::size_t>(count * cols_ + i)] = io::float_to_bf16(static_cast<float>(extra.data()[i]));
    return from_bf16(count + extra.rows(), cols_, std::move(bits));
  }

  /// Copies rows [begin, end) converted to T into `out` (resized to fit).
  void rows_to(std::int64_t begin, std::int64_t end, RowMatrix<T>& out) const {
    if (!is_bf16_) {
      out = dense_.middleRows(begin, end - begin);
      return;
    }
    out.resize(end - begin, cols_);
    const std::uint16_t* bits = bf16_row(begin);
    for (std::int64_t i = 0; i < out.size(); ++i) out.data()[i] = static_cast<T>(io::bf16_to_float(bits[i]));
  }

  /// Appends rows (e.g. a new token's embedding); bfloat16 weights round them to bfloat16.
  void append_rows(const RowMatrix<T>& extra) {
    require(extra.cols() == cols_, "appending rows of width ", extra.cols(), " to a weight of width ", cols_);
    if (!is_bf16_) {
      dense_.conservativeResize(rows_ + extra.rows(), Eigen::NoChange);
      dense_.bottomRows(extra.rows()) = extra;
    } else {
      for (std::int64_t i = 0; i < extra.size(); ++i) bf16_.push_back(io::float_to_bf16(static_cast<float>(extra.data()[i])));
    }
    rows_ += extra.rows();
  }

 private:
  std::int64_t rows_ = 0;
  std::int64_t cols_ = 0;
  bool is_bf16_ = false;
  RowMatrix<T> dense_;
  std::vector<std::uint16_t> bf16_;
};

}  // namespace causalqwen::kernels
