#pragma once
// The model shapes the benchmarks share.

#include <causalqwen/backbone/qwen2_config.hpp>

namespace causalqwen::benchmarks {

/// Qwen2.5-0.5B: hidden 896, 24 layers, 14 query heads over 2 key/value heads of 64,
/// intermediate 4864, its 151 936-row tied embedding.
inline Qwen2Config qwen25_05b() {
  Qwen2Config c;
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.max_position_embeddings = 32768;
  c.rope_theta = 1000000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = true;
  return c;
}

}  // namespace causalqwen::benchmarks
