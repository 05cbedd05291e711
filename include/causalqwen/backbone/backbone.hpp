#pragma once
// What the causal head needs from a backbone: token ids in, hidden states [T x H] out. The mock
// backbone, the CPU reference Qwen2 and accelerator backends all model this concept, so a head
// is written once and sits on any of them.

#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/token.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

namespace causalqwen {

template <class B>
concept Backbone = requires(B& backbone, std::span<const TokenId> tokens) {
  typename B::scalar_type;
  requires Real<typename B::scalar_type>;
  { backbone.hidden_size() } -> std::convertible_to<std::size_t>;
  { backbone.hidden_states(tokens) } -> std::convertible_to<RowMatrix<typename B::scalar_type>>;
};

}  // namespace causalqwen
