#pragma once
// The tiny causal LM the model tests share: the test tokenizer on a random Qwen2 with H = 32,
// 2 layers and 4 query heads over 2 KV heads (fast enough for the sanitizer build).

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/random_qwen2.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <cstdint>
#include <filesystem>

namespace causalqwen::model::testing {

using Model = CausalLM<Qwen2<>>;

inline Tokenizer tiny_tokenizer() {
  return Tokenizer::from_file(std::filesystem::path(CAUSALQWEN_TEST_DATA_DIR) / "tokenizer/tiny_tokenizer.json");
}

inline Qwen2Config small_config(std::int64_t vocab, bool tied, std::int64_t max_positions = 128) {
  Qwen2Config c;
  c.vocab_size = vocab;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = max_positions;
  c.tie_word_embeddings = tied;
  return c;
}

/// The tiny tokenizer (266 ids) on an untied random Qwen2 made from `seed`.
inline Model tiny_model(std::uint64_t seed, std::int64_t max_positions = 128) {
  return Model::from_base(tiny_tokenizer(), random_qwen2(small_config(266, false, max_positions), seed));
}

}  // namespace causalqwen::model::testing
