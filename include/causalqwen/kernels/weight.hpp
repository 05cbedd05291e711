#pragma once
// A weight matrix [out features x in features] as the CPU kernels consume it: either dense in
// the scalar type, or bfloat16 bits converted to the scalar type inside the matmul (half the
// memory and half the bandwidth of float, which is what bounds decoding).

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
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

  /// Copies a stored rank-2 floating tensor (rank 1 becomes one row) in the requested format.
  static Weight from_tensor(const io::TensorView& view, WeightFormat format, std::string_view source) {
    const io::TensorView* views[] = {&view};
    return from_tensors(views, format, source);
  }

  /// Stacks the rows of several stored tensors of equal width into one weight, so that
  /// projections of the same input (q/k/v, gate/up) run as one matmul. `as_stored` keeps
  /// bfloat16 only when every part is bfloat16.
  static Weight from_tensors(std::span<const io::TensorView* const> views, WeightFormat format, std::string_view source) {
    require(!views.empty(), source, ": no tensors to stack into a weight");
    std::int64_t rows = 0;
    bool all_bf16 = true;
    for (const io::TensorView* view : views) {
      require(io::is_floating(view->dtype), source, ": tensor '", view->name, "' has dtype ", io::dtype_name(view->dtype),
              ", expected F64, F32, F16 or BF16");
      require(view->shape.size() == 1 || view->shape.size() == 2, source, ": tensor '", view->name, "' has rank ",
              view->shape.size(), ", expected a matrix");
      require(view->shape.back() == views[0]->shape.back(), source, ": tensor '", view->name, "' has ",
              view->shape.back(), " columns, '", views[0]->name, "' has ", views[0]->shape.back());
      rows += view->shape.size() == 2 ? view->shape[0] : 1;
      all_bf16 = all_bf16 && view->dtype == io::DType::BF16;
    }
    const std::int64_t cols = views[0]->shape.back();
    const bool keep_bf16 = format == WeightFormat::bf16 || (format == WeightFormat::as_stored && all_bf16);
    if (!keep_bf16) {
      RowMatrix<T> values(rows, cols);
      T* at = values.data();
      for (const io::TensorView* view : views) {
        const auto count = static_cast<std::size_t>(view->element_count());
        io::detail::convert_elements(view->dtype, view->bytes.data(), count, at);
        at += count;
      }
      return from_dense(std::move(values));
    }
    std::vector<std::uint16_t> bits(static_cast<std::size_t>(rows * cols));
    std::uint16_t* at = bits.data();
    for (const io::TensorView* view : views) {
      const auto count = static_cast<std::size_t>(view->element_count());
      if (view->dtype == io::DType::BF16) {
        std::memcpy(at, view->bytes.data(), count * 2);
      } else {
        std::vector<float> values(count);
        io::detail::convert_elements(view->dtype, view->bytes.data(), count, values.data());
        for (std::size_t i = 0; i < count; ++i) at[i] = io::float_to_bf16(values[i]);
      }
      at += count;
    }
    return from_bf16(rows, cols, std::move(bits));
  }

  std::int64_t rows() const { return rows_; }
  std::int64_t cols() const { return cols_; }
  bool is_bf16() const { return is_bf16_; }
  const RowMatrix<T>& dense() const { return dense_; }
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
