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

}  // namespace causalqwen::kernels
