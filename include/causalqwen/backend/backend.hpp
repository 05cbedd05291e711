#pragma once
// What a model needs from the machine it runs on. The Qwen2 model code is written against this
// concept only: it names no device, no SIMD and no thread pool. A backend owns its storage types
// (`Matrix` for activations and small parameters, `Weight` for large projection matrices that
// may be held in bfloat16), moves data between the host and that storage, and performs the heavy
// operations. CpuBackend is the reference; an accelerator backend implements the same members.

#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/kernels/product.hpp>
#include <causalqwen/kernels/weight.hpp>

#include <concepts>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen {

using kernels::WeightFormat;

template <class B>
concept Backend = requires(const B& b, typename B::Matrix& m, const typename B::Matrix& cm, typename B::Weight& mw,
                           const typename B::Weight& w, typename B::Weight owned, const io::TensorView& view,
                           std::span<const io::TensorView* const> views,
                           const RowMatrix<typename B::scalar_type>& host, RowMatrix<typename B::scalar_type>& host_out,
                           const Vector<typename B::scalar_type>& host_vector, std::span<const TokenId> tokens,
                           std::span<const std::int32_t> classes, std::span<const typename B::scalar_type> values,
                           std::span<typename B::scalar_type> values_out, typename B::Matrix* out, std::int64_t n,
                           double real, typename B::scalar_type scalar, kernels::Op op) {
  typename B::scalar_type;
  requires Real<typename B::scalar_type>;
  typename B::Matrix;
  typename B::Weight;
  requires std::movable<typename B::Matrix> && std::default_initializable<typename B::Matrix>;
  requires std::movable<typename B::Weight>;

  // Storage.
  { b.upload_weight(view, WeightFormat::as_stored, std::string_view{}) } -> std::same_as<typename B::Weight>;
  // The rows of several tensors of equal width stacked into one weight: projections of the same
  // input (q/k/v, gate/up) then cost one matmul, i.e. one pass of the threads over the weights.
  { b.upload_weights(views, WeightFormat::as_stored, std::string_view{}) } -> std::same_as<typename B::Weight>;
  { b.upload_weight(host, WeightFormat::dense) } -> std::same_as<typename B::Weight>;
  { b.download_weight(std::move(owned)) } -> std::same_as<RowMatrix<typename B::scalar_type>>;  // dense: no copy
  { b.leading_weight_rows(w, n, host) } -> std::same_as<typename B::Weight>;  // first n rows + host rows
  { b.weight_is_bf16(w) } -> std::convertible_to<bool>;
  { b.upload(host) } -> std::same_as<typename B::Matrix>;
  { b.download(cm) } -> std::same_as<RowMatrix<typename B::scalar_type>>;
  { b.rows(cm) } -> std::convertible_to<std::int64_t>;
  { b.weight_rows(w) } -> std::convertible_to<std::int64_t>;
  { b.weight_row(w, n) } -> std::same_as<RowVector<typename B::scalar_type>>;
  b.append_weight_rows(mw, host);       // new vocabulary rows
  b.copy_rows(cm, m, n);                // dst rows [n, n + src.rows()) = src (cache append)
  b.grow_rows(m, n, n);                 // at least n rows of width n, keeping the content

  // Operations.
  { b.embed(w, tokens) } -> std::same_as<typename B::Matrix>;  // rows of a table
  b.matmul(cm, w, m);                                          // m = x W^T
  b.columns(cm, n, n, m);                                      // m = columns [begin, begin + count) of x
  b.add_row(m, cm);                                            // m += bias (a 1 x cols matrix) on every row
  b.add(m, cm);                                                // m += other
  b.rms_norm(cm, cm, real, m);                                 // m = rmsnorm(x) * weight
  { b.rotary_table(n, n, n, real) } -> std::same_as<typename B::Matrix>;
  b.rotary(m, n, n, cm);
  b.attention(cm, cm, cm, n, n, n, n, m);  // q, keys, values, past, heads, kv heads, head dim, out
  b.swiglu(cm, m);                         // out = silu(gate) * up of a fused [gate | up] matrix
  b.softmax_rows(m);

  // Dense layers and the causal head.
  b.multiply(cm, op, cm, op, m, true);  // m = op(a) op(b), or m += op(a) op(b)
  // Cauchy linear closure through a weight: loc_out = loc W^T, scale_out = scale |W|^T, one pass
  // over W (the action of the causal head), and its backward (d_weight on the host).
  b.cauchy_linear(cm, cm, w, values, m, m);                              // values: bias (or empty)
  b.cauchy_linear_backward(cm, cm, w, cm, cm, host_out, values_out, m, m);  // values_out: d_bias
  // Per-row sums of the one-vs-rest cross-entropy of every class (and its scaled gradient).
  { b.ovr_cross_entropy_rows(cm, cm, host_vector, classes, scalar, out, out) }
      -> std::same_as<std::vector<typename B::scalar_type>>;

  // Training: what a backward pass needs beyond the operations above. Gradients are Matrices;
  // weight gradients accumulate (+=), so sequences of a batch and both uses of a tied matrix add up.
  { b.upload_weight(host) } -> std::same_as<typename B::Weight>;  // a dense (master) weight
  b.assign_weight(mw, host);                        // a dense weight's values replaced in place (same shape)
  { b.zeros(n, n) } -> std::same_as<typename B::Matrix>;
  b.set_zero(m);                                    // every entry 0, storage kept
  b.download_to(cm, host_out);                      // into host storage of the same shape
  b.set_columns(m, n, cm);                          // columns [begin, begin + part.cols()) = part
  b.add_column_sums(cm, m);                         // d_bias (1 x cols) += sum of the rows of d_out
  b.embed_backward(tokens, cm, m);                  // d_table rows += d_rows (scatter-add)
  b.matmul_backward_input(cm, w, m);                // d_x = d_out W
  b.matmul_backward_weight(cm, cm, m);              // d_W += d_out^T x
  b.rms_norm_backward(cm, cm, real, cm, m, m);      // x, weight, eps, d_out -> d_x, d_weight +=
  b.rotary_backward(m, n, n, cm);                   // in place: the transposed rotation
  b.attention_backward(cm, cm, cm, n, n, n, cm, m, m, m);  // q, k, v, heads, kv heads, head dim, d_out -> d_q, d_k, d_v
  b.swiglu_backward(cm, cm, m);                     // fused [gate | up], d_out -> d_gate_up
};

}  // namespace causalqwen
