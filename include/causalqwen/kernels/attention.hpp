#pragma once
// Causal grouped-query attention of new queries over a key/value cache.
//
// q holds `count` new positions [count x heads * d]; keys and values hold every cached
// position [>= past + count rows x kv_heads * d], the new ones included, where `past` is the
// position of the first query. Query head h reads key/value head h / (heads / kv_heads), and
// the query at position past + i sees keys 0 .. past + i.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>
#include <causalqwen/kernels/softmax.hpp>

#include <cmath>
#include <cstdint>

namespace causalqwen::kernels {

template <Real T>
void attention(const RowMatrix<T>& q, const RowMatrix<T>& keys, const RowMatrix<T>& values, std::int64_t past,
               std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim, RowMatrix<T>& out, int threads) {
  const std::int64_t count = q.rows(), seen = past + count;
  require(heads > 0 && kv_heads > 0 && heads % kv_heads == 0, "attention: ", heads, " query heads cannot share ",
          kv_heads, " key/value heads");
  require(q.cols() == heads * head_dim && keys.cols() == kv_heads * head_dim && values.cols() == keys.cols() &&
              keys.rows() >= seen && values.rows() >= seen,
          "attention: queries [", q.rows(), " x ", q.cols(), "], keys [", keys.rows(), " x ", keys.cols(), "] and values [",
          values.rows(), " x ", values.cols(), "] do not fit ", heads, "/", kv_heads, " heads of ", head_dim, " after ",
          past, " cached positions");
  out.resize(count, heads * head_dim);
  const std::int64_t group = heads / kv_heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  using Strided = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  using StridedOut = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

  parallel_for(threads, heads, 2 * count * seen * head_dim, [&](std::int64_t h) {
    const std::int64_t kv = h / group;
    const Strided qh(q.data() + h * head_dim, count, head_dim, Eigen::OuterStride<>(q.cols()));
    const Strided kh(keys.data() + kv * head_dim, seen, head_dim, Eigen::OuterStride<>(keys.cols()));
    const Strided vh(values.data() + kv * head_dim, seen, head_dim, Eigen::OuterStride<>(values.cols()));
    StridedOut oh(out.data() + h * head_dim, count, head_dim, Eigen::OuterStride<>(out.cols()));
    RowMatrix<T> scores(count, seen);
    scores.noalias() = (qh * kh.transpose()) * scale;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t visible = past + i + 1;
      softmax_prefix(scores.row(i), visible);
      scores.row(i).tail(seen - visible).setZero();
    }
    oh.noalias() = scores * vh;
  });
}

/// Backward of causal attention over a whole sequence (positions 0 .. T-1, nothing cached): q, keys
/// and values are the forward's inputs [T x heads * d] and [T x kv_heads * d]. The probabilities
/// are recomputed per head rather than kept (T x T per head). With P = softmax(S), S = q k^T / sqrt(d):
/// dV = P^T dO, dS = P * (dO V^T - rowsum(P * dO V^T)), dq = dS k / sqrt(d), dk = dS^T q / sqrt(d).
/// The key/value gradients of a KV head are summed over its group of query heads; one thread
/// owns one KV head, so the sums need no synchronisation.
template <Real T>
void attention_backward(const RowMatrix<T>& q, const RowMatrix<T>& keys, const RowMatrix<T>& values,
                        std::int64_t heads, std::int64_t kv_heads, std::int64_t head_dim, const RowMatrix<T>& d_out,
                        RowMatrix<T>& d_q, RowMatrix<T>& d_keys, RowMatrix<T>& d_values, int threads) {
  const std::int64_t count = q.rows();
  require(heads > 0 && kv_heads > 0 && heads % kv_heads == 0, "attention_backward: ", heads,
          " query heads cannot share ", kv_heads, " key/value heads");
  require(q.cols() == heads * head_dim && keys.cols() == kv_heads * head_dim && values.cols() == keys.cols() &&
              keys.rows() == count && values.rows() == count && d_out.rows() == count && d_out.cols() == q.cols(),
          "attention_backward: queries [", q.rows(), " x ", q.cols(), "], keys [", keys.rows(), " x ", keys.cols(),
          "], values [", values.rows(), " x ", values.cols(), "] and upstream [", d_out.rows(), " x ", d_out.cols(),
          "] do not fit ", heads, "/", kv_heads, " heads of ", head_dim, " over one sequence");
  d_q.resize(count, q.cols());
  d_keys.setZero(count, keys.cols());
  d_values.setZero(count, values.cols());
  const std::int64_t group = heads / kv_heads;
  const T scale = T(1) / std::sqrt(static_cast<T>(head_dim));
  using Strided = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  using StridedOut = Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>;

  parallel_for(threads, kv_heads, 8 * group * count * count * head_dim, [&](std::int64_t kv) {
    const Strided kh(keys.data() + kv * head_dim, count, head_dim, Eigen::OuterStride<>(keys.cols()));
    const Strided vh(values.data() + kv * head_dim, count, head_dim, Eigen::OuterStride<>(values.cols()));
    StridedOut dkh(d_keys.data() + kv * head_dim, count, head_dim, Eigen::OuterStride<>(d_keys.cols()));
    StridedOut dvh(d_values.data() + kv * head_dim, count, head_dim, Eigen::OuterStride<>(d_values.cols()));
    RowMatrix<T> p(count, count), dp(count, count);
    for (std::int64_t h = kv * group; h < (kv + 1) * group; ++h) {
      const Strided qh(q.data() + h * head_dim, count, head_dim, Eigen::OuterStride<>(q.cols()));
      const Strided doh(d_out.data() + h * head_dim, count, head_dim, Eigen::OuterStride<>(d_out.cols()));
      StridedOut dqh(d_q.data() + h * head_dim, count, head_dim, Eigen::OuterStride<>(d_q.cols()));
      p.noalias() = (qh * kh.transpose()) * scale;
      for (std::int64_t i = 0; i < count; ++i) {
        softmax_prefix(p.row(i), i + 1);
        p.row(i).tail(count - i - 1).setZero();
      }
      dvh.noalias() += p.transpose() * doh;
      dp.noalias() = doh * vh.transpose();
      const Vector<T> centre = (p.array() * dp.array()).rowwise().sum();
      dp = (p.array() * (dp.array().colwise() - centre.array())).matrix() * scale;  // dS, zero above the diagonal
      dqh.noalias() = dp * kh;
      dkh.noalias() += dp.transpose() * qh;
    }
  });
}

}  // namespace causalqwen::kernels
