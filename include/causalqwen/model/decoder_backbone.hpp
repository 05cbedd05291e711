#pragma once
// What the causal language model needs from its backbone beyond hidden states: the input
// embeddings (to write <NUM> rows through a hook), a KV cache for incremental decoding, rows of
// the embedding and output matrices (to initialise the <NUM> token and the action from the base
// model), logits (to compare with the base model) and a way to add the <NUM> token's rows.
// Qwen2<Backend> models it.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/matrix.hpp>

#include <concepts>
#include <cstdint>
#include <span>

namespace causalqwen::model {

namespace detail {
/// An embedding hook of the shape the backbone accepts (used to state the concept).
template <Real T>
struct EmbeddingHookShape {
  void operator()(std::span<const TokenId>, RowMatrix<T>&) const {}
};
}  // namespace detail

template <class B>
concept DecoderBackbone =
    Backbone<B> && requires(B& b, const B& cb, std::span<const TokenId> tokens, typename B::Cache& cache, TokenId id,
                            const RowVector<typename B::scalar_type>& row,
                            const RowMatrix<typename B::scalar_type>& hidden,
                            detail::EmbeddingHookShape<typename B::scalar_type> hook) {
      typename B::Cache;
      { cb.make_cache() } -> std::same_as<typename B::Cache>;
      { cache.length() } -> std::convertible_to<std::int64_t>;
      { cb.vocab_size() } -> std::convertible_to<std::int64_t>;
      { cb.embedding_row(id) } -> std::same_as<RowVector<typename B::scalar_type>>;
      { cb.output_row(id) } -> std::same_as<RowVector<typename B::scalar_type>>;
      { cb.hidden_states(tokens, cache, hook) } -> std::same_as<RowMatrix<typename B::scalar_type>>;
      { cb.logits(hidden) } -> std::same_as<RowMatrix<typename B::scalar_type>>;
      { cb.config().tie_word_embeddings } -> std::convertible_to<bool>;
      typename B::backend_type;
      { cb.backend() } -> std::convertible_to<const typename B::backend_type&>;
      { cb.output_weight() } -> std::convertible_to<const typename B::backend_type::Weight&>;
      { b.add_token(row) } -> std::same_as<TokenId>;       // tied embeddings
      { b.add_token(row, row) } -> std::same_as<TokenId>;  // separate lm_head
    };

}  // namespace causalqwen::model
