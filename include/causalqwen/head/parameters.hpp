#pragma once
// Named parameter blocks that behave like one vector. A parameter struct (abduction, action, the
// whole head) exposes `blocks()` (a tuple of references to its Eigen matrices/vectors) and
// `block_names()`; everything else is written once here: the same struct type doubles as its
// gradient, supports +, -, scalar * (so a domain delta W' = W_base + delta is `base + delta`),
// and is what the optimiser and the checkpoint code iterate over.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <cmath>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace causalqwen::head {

template <class P>
concept ParameterSet = requires(P& p, const P& cp) {
  typename P::scalar_type;
  p.blocks();
  cp.blocks();
  { P::block_names() } -> std::convertible_to<std::vector<std::string>>;
};

/// Calls f(name, block) for every block, in declaration order.
template <class P, class F>
  requires ParameterSet<std::remove_const_t<P>>
void for_each_block(P& params, F&& f) {
  auto blocks = params.blocks();
  static const auto names = std::remove_const_t<P>::block_names();  // built once per type, not per call
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (f(names[I], std::get<I>(blocks)), ...);
  }(std::make_index_sequence<std::tuple_size_v<decltype(blocks)>>{});
}

/// Calls f(name, block_of_a, block_of_b) for corresponding blocks; their shapes must agree.
template <class PA, class PB, class F>
  requires ParameterSet<std::remove_const_t<PA>> && std::same_as<std::remove_const_t<PA>, std::remove_const_t<PB>>
void for_each_block_pair(PA& a, PB& b, F&& f) {
  auto blocks_a = a.blocks();
  auto blocks_b = b.blocks();
  static const auto names = std::remove_const_t<PA>::block_names();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((require(std::get<I>(blocks_a).rows() == std::get<I>(blocks_b).rows() &&
                  std::get<I>(blocks_a).cols() == std::get<I>(blocks_b).cols(),
              "parameter block ", names[I], ": shape ", std::get<I>(blocks_a).rows(), "x",
              std::get<I>(blocks_a).cols(), " does not match ", std::get<I>(blocks_b).rows(), "x",
              std::get<I>(blocks_b).cols()),
      f(names[I], std::get<I>(blocks_a), std::get<I>(blocks_b))),
     ...);
  }(std::make_index_sequence<std::tuple_size_v<decltype(blocks_a)>>{});
}

template <ParameterSet P>
P& operator+=(P& a, const P& b) {
  for_each_block_pair(a, b, [](const auto&, auto& x, const auto& y) { x += y; });
  return a;
}
template <ParameterSet P>
P& operator-=(P& a, const P& b) {
  for_each_block_pair(a, b, [](const auto&, auto& x, const auto& y) { x -= y; });
  return a;
}
template <ParameterSet P>
P& operator*=(P& a, typename P::scalar_type s) {
  for_each_block(a, [s](const auto&, auto& x) { x *= s; });
  return a;
}
template <ParameterSet P>
P operator+(P a, const P& b) { return a += b; }
template <ParameterSet P>
P operator-(P a, const P& b) { return a -= b; }
template <ParameterSet P>
P operator*(P a, typename P::scalar_type s) { return a *= s; }
template <ParameterSet P>
P operator*(typename P::scalar_type s, P a) { return a *= s; }

/// A copy of `p` with every entry zero (the starting point of a gradient accumulator).
template <ParameterSet P>
P zeros_like(P p) {
  for_each_block(p, [](const auto&, auto& x) { x.setZero(); });
  return p;
}

/// Sum of squares over all blocks (the squared global norm used for gradient clipping).
template <ParameterSet P>
typename P::scalar_type squared_norm(const P& p) {
  typename P::scalar_type total = 0;
  for_each_block(p, [&](const auto&, const auto& x) { total += x.squaredNorm(); });
  return total;
}

/// Total number of scalars.
template <ParameterSet P>
std::size_t parameter_count(const P& p) {
  std::size_t total = 0;
  for_each_block(p, [&](const auto&, const auto& x) { total += static_cast<std::size_t>(x.size()); });
  return total;
}

/// Throws causalqwen::error naming the block unless every entry is finite.
template <ParameterSet P>
void require_finite(const P& p, std::string_view owner) {
  for_each_block(p, [&](const auto& name, const auto& x) {
    require(all_finite(x), owner, ": parameter block ", name, " has a non-finite entry");
  });
}

}  // namespace causalqwen::head
