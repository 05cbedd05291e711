#pragma once
// What the end-to-end training tests share: templated sentences with numbers, a byte-level BPE
// vocabulary learned from them and a fresh tiny Qwen2 (H = 32, 2 layers, 4 query heads over
// 2 key/value heads, tied embeddings) as a TrainableCausalLM, and bit-for-bit comparisons of
// parameters.

#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/model/random_qwen2.hpp>
#include <causalqwen/model/text_data.hpp>
#include <causalqwen/model/trainable_causal_lm.hpp>
#include <causalqwen/tokenizer/bpe_training.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace causalqwen::model::testing {

inline Qwen2Config tiny_trainable_config(std::int64_t vocab) {
  Qwen2Config c;
  c.vocab_size = vocab;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.tie_word_embeddings = true;
  return c;
}

/// Every block of two parameter sets, bit for bit.
template <class Parameters>
bool same_blocks(const Parameters& a, const Parameters& b) {
  bool same = true;
  head::for_each_block_pair(a, b, [&](const std::string&, const auto& x, const auto& y) { same = same && x == y; });
  return same;
}

/// Every parameter of two models, bit for bit.
template <class Model>
bool identical(const Model& a, const Model& b) {
  return same_blocks(a.parameters(), b.parameters());
}

template <Real T>
struct TrainerSetup {
  using Model = TrainableCausalLM<CpuBackend<T>>;
  std::vector<std::string> documents = templated_sentences(240, 3);
  std::string tokenizer_json = byte_level_tokenizer_json(learn_bpe_merges(documents, 60), {"<|endoftext|>"});

  /// The same fresh model for the same seed.
  Model fresh(std::uint64_t seed = 5) const {
    const Tokenizer tokenizer = Tokenizer::from_json(tokenizer_json);
    const Qwen2Config config = tiny_trainable_config(num_token_id(tokenizer));
    return Model::from_base(tokenizer_json,
                            load_qwen2_parameters<T>(config, random_qwen2_tensors(config, seed, 0.05f), "fresh"), {},
                            CpuBackend<T>(1));
  }
};

}  // namespace causalqwen::model::testing
