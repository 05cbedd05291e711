#pragma once
// The reference backend: host memory, Eigen matrices, OpenMP threads. The thread count is part of
// the backend object, so models with different settings coexist. The scalar type is a template
// parameter: float for speed, double as a high-precision reference for tests.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/kernels/attention.hpp>
#include <causalqwen/kernels/embedding.hpp>
#include <causalqwen/kernels/matmul.hpp>
#include <causalqwen/kernels/rmsnorm.hpp>
#include <causalqwen/kernels/rotary.hpp>
#include <causalqwen/kernels/softmax.hpp>
#include <causalqwen/kernels/swiglu.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

namespace causalqwen {

template <Real T = float>
class CpuBackend {
 public:
  using scalar_type = T;
  using Matrix = RowMatrix<T>;
  using Weight = kernels::Weight<T>;

  /// `precision` = bf16_activations trades exactness of prompt processing with bfloat16 weights
  /// for speed (see kernels::MatmulPrecision); decoding streams weights and stays exact.
  explicit CpuBackend(int threads = 1, kernels::MatmulPrecision precision = kernels::MatmulPrecision::exact)
      : threads_(threads), precision_(precision) {
    require(threads >= 1, "CpuBackend: thread count must be at least 1, got ", threads);
  }
  int threads() const { return threads_; }
  kernels::MatmulPrecision precision() const { return precision_; }

  Weight upload_weight(const io::TensorView& view, WeightFormat format, std::string_view source) const {
    return Weight::from_tensor(view, format, source);
  }
  Weight upload_weights(std::span<const io::TensorView* const> views, WeightFormat format, std::string_view source) const {
    return Weight::from_tensors(views, format, source);
  }
  Matrix upload(const RowMatrix<T>& host) const { return host; }
  RowMatrix<T> download(const Matrix& m) const { return m; }
  std::int64_t rows(const Matrix& m) const { return m.rows(); }
  std::int64_t weight_rows(const Weight& w) const { return w.rows(); }
  RowVector<T> weight_row(const Weight& w, std::int64_t row) const { return w.row(row); }
  void append_weight_rows(Weight& w, const RowMatrix<T>& rows) const { w.append_rows(rows); }

  void copy_rows(const Matrix& source, Matrix& destination, std::int64_t at) const {
    require(source.cols() == destination.cols() && at >= 0 && at + source.rows() <= destination.rows(),
            "copy_rows: ", source.rows(), " x ", source.cols(), " rows do not fit at row ", at, " of a ",
            destination.rows(), " x ", destination.cols(), " matrix");
    destination.middleRows(at, source.rows()) = source;
  }
  void grow_rows(Matrix& m, std::int64_t rows, std::int64_t cols) const {
    if (m.rows() >= rows && m.cols() == cols) return;
    require(m.rows() == 0 || m.cols() == cols, "grow_rows: width ", m.cols(), " cannot become ", cols);
    const std::int64_t capacity = std::max(rows, 2 * static_cast<std::int64_t>(m.rows()));
    m.conservativeResize(capacity, cols);
  }

  Matrix embed(const Weight& table, std::span<const TokenId> tokens) const { return kernels::embed(table, tokens); }
  void matmul(const Matrix& x, const Weight& w, Matrix& out) const { kernels::matmul(x, w, out, threads_, precision_); }
  void columns(const Matrix& x, std::int64_t begin, std::int64_t count, Matrix& out) const {
    require(begin >= 0 && count >= 0 && begin + count <= x.cols(), "columns: [", begin, ", ", begin + count,
            ") of a matrix with ", x.cols(), " columns");
    out = x.middleCols(begin, count);
  }
  void add_row(Matrix& m, const Matrix& row) const {
    require(row.rows() == 1 && row.cols() == m.cols(), "add_row: a ", row.rows(), " x ", row.cols(),
            " bias for rows of ", m.cols());
    m.rowwise() += row.row(0);
  }
  void add(Matrix& m, const Matrix& other) const {
    require(m.rows() == other.rows() && m.cols() == other.cols(), "add: shapes differ");
    m += other;
  }
  void rms_norm(const Matrix& x, const Matrix& weight, double eps, Matrix& out) const {
    require(weight.rows() == 1, "rms_norm: weight must be one row");
    kernels::rms_norm<T>(x, weight.row(0), static_cast<T>(eps), out, threads_);
  }
  Matrix rotary_table(std::int64_t first_position, std::int64_t count, std::int64_t head_dim, double theta) const {
    return kernels::rotary_table<T>(first_position, count, head_dim, theta);
  }
  void rotary(Matrix& x, std::int64_t heads, std::int64_t head_dim, const Matrix& table) const {
    kernels::rotary(x, heads, head_dim, table, threads_);
  }
  void attention(const Matrix& q, const Matrix& keys, const Matrix& values, std::int64_t past, std::int64_t heads,
                 std::int64_t kv_heads, std::int64_t head_dim, Matrix& out) const {
    kernels::attention(q, keys, values, past, heads, kv_heads, head_dim, out, threads_);
  }
  void swiglu(const Matrix& gate_up, Matrix& out) const { kernels::swiglu(gate_up, out, threads_); }
  void softmax_rows(Matrix& m) const { kernels::softmax_rows(m); }

  // Training: backward of the operations above (see the Backend concept).
  Weight upload_weight(const RowMatrix<T>& host) const { return Weight::from_dense(host); }
  Matrix zeros(std::int64_t rows, std::int64_t cols) const { return Matrix::Zero(rows, cols); }
  void set_columns(Matrix& m, std::int64_t begin, const Matrix& part) const {
    require(part.rows() == m.rows() && begin >= 0 && begin + part.cols() <= m.cols(), "set_columns: [", part.rows(),
            " x ", part.cols(), "] at column ", begin, " of a ", m.rows(), " x ", m.cols(), " matrix");
    m.middleCols(begin, part.cols()) = part;
  }
  void add_column_sums(const Matrix& d_out, Matrix& d_bias) const {
    require(d_bias.rows() == 1 && d_bias.cols() == d_out.cols(), "add_column_sums: a ", d_bias.rows(), " x ",
            d_bias.cols(), " bias gradient for rows of ", d_out.cols());
    d_bias += d_out.colwise().sum();
  }
  void embed_backward(std::span<const TokenId> tokens, const Matrix& d_rows, Matrix& d_table) const {
    kernels::embed_backward(tokens, d_rows, d_table);
  }
  void matmul_backward_input(const Matrix& d_out, const Weight& w, Matrix& d_x) const {
    kernels::matmul_backward_input(d_out, w, d_x, threads_);
  }
  void matmul_backward_weight(const Matrix& d_out, const Matrix& x, Matrix& d_w) const {
    kernels::matmul_backward_weight(d_out, x, d_w, threads_);
  }
  void rms_norm_backward(const Matrix& x, const Matrix& weight, double eps, const Matrix& d_out, Matrix& d_x,
                         Matrix& d_weight) const {
    require(weight.rows() == 1 && d_weight.rows() == 1, "rms_norm_backward: weight and its gradient must be one row");
    RowVector<T> d_row = d_weight.row(0);
    kernels::rms_norm_backward<T>(x, weight.row(0), static_cast<T>(eps), d_out, d_x, d_row, threads_);
    d_weight.row(0) = d_row;
  }
  void rotary_backward(Matrix& d_x, std::int64_t heads, std::int64_t head_dim, const Matrix& table) const {
    kernels::rotary_backward(d_x, heads, head_dim, table, threads_);
  }
  void attention_backward(const Matrix& q, const Matrix& keys, const Matrix& values, std::int64_t heads,
                          std::int64_t kv_heads, std::int64_t head_dim, const Matrix& d_out, Matrix& d_q,
                          Matrix& d_keys, Matrix& d_values) const {
    kernels::attention_backward(q, keys, values, heads, kv_heads, head_dim, d_out, d_q, d_keys, d_values, threads_);
  }
  void swiglu_backward(const Matrix& gate_up, const Matrix& d_out, Matrix& d_gate_up) const {
    kernels::swiglu_backward(gate_up, d_out, d_gate_up, threads_);
  }

 private:
  int threads_;
  kernels::MatmulPrecision precision_;
};

static_assert(Backend<CpuBackend<float>>);
static_assert(Backend<CpuBackend<double>>);

}  // namespace causalqwen
