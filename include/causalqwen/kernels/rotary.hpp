#pragma once
// Rotary position embedding in the rotate-half (GPT-NeoX) layout that Qwen2 uses: within each
// head of width d, element i pairs with element i + d/2 and both turn by the angle
// position * theta^(-2i/d). The angles follow the Hugging Face reference: the inverse
// frequencies and the product position * frequency are rounded to the scalar type before the
// cosine and sine are taken, so float models match it at long positions too.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/kernels/parallel.hpp>

#include <cmath>
#include <cstdint>

namespace causalqwen::kernels {

/// [count x head_dim]: cos of the angles in the first half of a row, sin in the second.
template <Real T>
RowMatrix<T> rotary_table(std::int64_t first_position, std::int64_t count, std::int64_t head_dim, double theta) {
  require(head_dim % 2 == 0, "rotary: head dimension ", head_dim, " is odd");
  const std::int64_t half = head_dim / 2;
  RowMatrix<T> table(count, head_dim);
  for (std::int64_t i = 0; i < half; ++i) {
    const T inverse_frequency =
        T(1) / std::pow(static_cast<T>(theta), static_cast<T>(2 * i) / static_cast<T>(head_dim));
    for (std::int64_t p = 0; p < count; ++p) {
      const T angle = static_cast<T>(first_position + p) * inverse_frequency;
      table(p, i) = static_cast<T>(std::cos(static_cast<double>(angle)));
      table(p, half + i) = static_cast<T>(std::sin(static_cast<double>(angle)));
    }
  }
  return table;
}

namespace detail {
/// Turns every head of every row of x by +angle (direction 1) or -angle (direction -1).
template <Real T>
void rotate_heads(RowMatrix<T>& x, std::int64_t heads, std::int64_t head_dim, const RowMatrix<T>& table, T direction,
                  int threads) {
  require(x.cols() == heads * head_dim && table.rows() == x.rows() && table.cols() == head_dim,
          "rotary: activations [", x.rows(), " x ", x.cols(), "] do not fit ", heads, " heads of ", head_dim,
          " and a table of ", table.rows(), " positions");
  const std::int64_t half = head_dim / 2;
  parallel_chunks(threads, x.rows(), 1, x.cols(), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const T* cosine = table.row(p).data();
      const T* sine = cosine + half;
      for (std::int64_t h = 0; h < heads; ++h) {
        T* v = x.row(p).data() + h * head_dim;
        for (std::int64_t i = 0; i < half; ++i) {
          const T a = v[i], b = v[i + half], s = direction * sine[i];
          v[i] = a * cosine[i] - b * s;
          v[i + half] = b * cosine[i] + a * s;
        }
      }
    }
  });
}
}  // namespace detail

/// Rotates every head of every row of x [count x heads * head_dim] in place.
template <Real T>
void rotary(RowMatrix<T>& x, std::int64_t heads, std::int64_t head_dim, const RowMatrix<T>& table, int threads) {
  detail::rotate_heads(x, heads, head_dim, table, T(1), threads);
}

/// Backward of rotary: the rotation is orthogonal, so the gradient w.r.t. its input is the
/// upstream gradient turned back by the same angle (the transpose), in place.
template <Real T>
void rotary_backward(RowMatrix<T>& gradient, std::int64_t heads, std::int64_t head_dim, const RowMatrix<T>& table,
                     int threads) {
  detail::rotate_heads(gradient, heads, head_dim, table, T(-1), threads);
}

}  // namespace causalqwen::kernels
