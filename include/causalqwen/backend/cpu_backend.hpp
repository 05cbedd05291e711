#pragma once
// The reference backend: host memory, Eigen matrices, OpenMP threads. The thread count is part of
// the backend object, so models with different settings coexist. The scalar type is a template
// parameter: float for speed, double as a high-precision reference for tests.

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/kernels/attention.hpp>
#include <causalqwen/kernels/cauchy_linear.hpp>
#include <causalqwen/kernels/embedding.hpp>
#include <causalqwen/kernels/matmul.hpp>
#include <causalqwen/kernels/ovr_loss.hpp>
#include <causalqwen/kernels/product.hpp>
#include <causalqwen/kernels/rmsnorm.hpp>
#include <causalqwen/kernels/rotary.hpp>
#include <causalqwen/kernels/softmax.hpp>
#include <causalqwen/kernels/swiglu.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace causalqwen {

template <Real T = float>
class CpuBackend {
 public:
  using scalar_type = T;
  using Matrix = RowMatrix<T>;
  using Weight = kernels::Weight<T>;

  /// `precision` applies to products of many rows (prompts, batches) with bfloat16 weights; float
  /// and double weights, decoding and training are exact either way. The default rounds those
  /// activations to bfloat16, as the checkpoint's own framework and llama.cpp compute a bfloat16
  /// model, at twice the speed of `exact` (kernels::MatmulPrecision, docs/benchmarks.md).
  explicit CpuBackend(int threads = 1, kernels::MatmulPrecision precision = kernels::MatmulPrecision::bf16_activations)
      : threads_(threads), precision_(precision) {
    require(threads >= 1, "CpuBackend: thread count must be at least 1, got ", threads);
  }
  int threads() const { return threads_; }
  kernels::MatmulPrecision precision() const { return precision_; }

  Weight upload_weight(const io::TensorView& view, WeightFormat format, std::string_view source) const {
    const io::TensorView* views[] = {&view};
    return upload_weights(views, format, source);
  }
  /// `as_stored` keeps bfloat16 only when every part is bfloat16.
  Weight upload_weights(std::span<const io::TensorView* const> views, WeightFormat format, std::string_view source) const {
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
    if (format == WeightFormat::as_stored && all_bf16) {
      // Stored bfloat16 bits are copied as they are: no rounding, no widening.
      std::vector<std::uint16_t> bits(static_cast<std::size_t>(rows * cols));
      std::uint16_t* at = bits.data();
      for (const io::TensorView* view : views) {
        std::memcpy(at, view->bytes.data(), view->bytes.size());
        at += view->element_count();
      }
      return Weight::from_bf16(rows, cols, std::move(bits));
    }
    RowMatrix<T> values(rows, cols);
    T* at = values.data();
    for (const io::TensorView* view : views) {
      io::convert_elements(view->dtype, view->bytes.data(), static_cast<std::size_t>(view->element_count()), at);
      at += view->element_count();
    }
    return Weight::from_host(std::move(values), format);
  }
  /// A host matrix as a weight (dense by default: the master copy training updates).
  Weight upload_weight(RowMatrix<T> host, WeightFormat format = WeightFormat::dense) const {
    return Weight::from_host(std::move(host), format);
  }
  /// The weight's values on the host; a dense weight moves out without a copy.
  RowMatrix<T> download_weight(Weight weight) const { return std::move(weight).into_host(); }
  /// The first `count` rows of `w` followed by `extra`, in w's format, in one allocation.
  Weight leading_weight_rows(const Weight& w, std::int64_t count, const RowMatrix<T>& extra) const {
    return w.leading_rows(count, extra);
  }
  bool weight_is_bf16(const Weight& w) const { return w.is_bf16(); }
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

  // Dense layers and the causal head.
  void multiply(const Matrix& a, kernels::Op op_a, const Matrix& b, kernels::Op op_b, Matrix& out,
                bool accumulate = false) const {
    kernels::multiply(a, op_a, b, op_b, out, accumulate, threads_);
  }
  void cauchy_linear(const Matrix& loc, const Matrix& scale, const Weight& w, std::span<const T> bias, Matrix& loc_out,
                     Matrix& scale_out) const {
    kernels::cauchy_linear(loc, scale, w, bias, loc_out, scale_out, threads_, precision_);
  }
  void cauchy_linear_backward(const Matrix& loc, const Matrix& scale, const Weight& w, const Matrix& d_loc_out,
                              const Matrix& d_scale_out, RowMatrix<T>& d_weight, std::span<T> d_bias, Matrix& d_loc,
                              Matrix& d_scale) const {
    kernels::cauchy_linear_backward(loc, scale, w, d_loc_out, d_scale_out, d_weight, d_bias, d_loc, d_scale, threads_);
  }
  std::vector<T> ovr_cross_entropy_rows(const Matrix& loc, const Matrix& scale, const Vector<T>& threshold,
                                        std::span<const std::int32_t> targets, T gradient_weight, Matrix* d_loc,
                                        Matrix* d_scale) const {
    return kernels::ovr_cross_entropy_rows(loc, scale, threshold, targets, gradient_weight, d_loc, d_scale, threads_);
  }

  // Training: backward of the operations above (see the Backend concept).
  Matrix zeros(std::int64_t rows, std::int64_t cols) const { return Matrix::Zero(rows, cols); }
  void set_zero(Matrix& m) const { m.setZero(); }
  void assign_weight(Weight& w, const Eigen::Ref<const RowMatrix<T>>& host) const { w.assign(host); }
  void download_to(const Matrix& m, Eigen::Ref<RowMatrix<T>> host) const {
    require(host.rows() == m.rows() && host.cols() == m.cols(), "download_to: a ", m.rows(), " x ", m.cols(),
            " matrix into ", host.rows(), " x ", host.cols(), " storage");
    host = m;
  }
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
