#pragma once
// Tiny random Qwen2 models for tests: weights made with a seeded generator, held in memory or
// written as a Hugging Face checkpoint directory (single file or shards).

#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/io/tensor_store.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace tiny {

using namespace causalqwen;

inline Qwen2Config config(std::int64_t heads, std::int64_t kv_heads, bool tied) {
  Qwen2Config c;
  c.vocab_size = 40;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  c.rope_theta = 1000.0;
  c.rms_norm_eps = 1e-6;
  c.tie_word_embeddings = tied;
  return c;
}

/// Every tensor a Qwen2 checkpoint of `c` holds, N(0, 0.2) (norm weights 1 + N(0, 0.2)).
inline std::vector<std::pair<std::string, RowMatrix<float>>> weights(const Qwen2Config& c, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.2f);
  std::vector<std::pair<std::string, RowMatrix<float>>> out;
  const auto add = [&](std::string name, std::int64_t rows, std::int64_t cols, float offset) {
    RowMatrix<float> m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = offset + normal(rng);
    out.emplace_back(std::move(name), std::move(m));
  };
  add("model.embed_tokens.weight", c.vocab_size, c.hidden_size, 0);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", 1, c.hidden_size, 1);
    add(p + "self_attn.q_proj.weight", c.q_size(), c.hidden_size, 0);
    add(p + "self_attn.q_proj.bias", 1, c.q_size(), 0);
    add(p + "self_attn.k_proj.weight", c.kv_size(), c.hidden_size, 0);
    add(p + "self_attn.k_proj.bias", 1, c.kv_size(), 0);
    add(p + "self_attn.v_proj.weight", c.kv_size(), c.hidden_size, 0);
    add(p + "self_attn.v_proj.bias", 1, c.kv_size(), 0);
    add(p + "self_attn.o_proj.weight", c.hidden_size, c.q_size(), 0);
    add(p + "post_attention_layernorm.weight", 1, c.hidden_size, 1);
    add(p + "mlp.gate_proj.weight", c.intermediate_size, c.hidden_size, 0);
    add(p + "mlp.up_proj.weight", c.intermediate_size, c.hidden_size, 0);
    add(p + "mlp.down_proj.weight", c.hidden_size, c.intermediate_size, 0);
  }
  add("model.norm.weight", 1, c.hidden_size, 1);
  if (!c.tie_word_embeddings) add("lm_head.weight", c.vocab_size, c.hidden_size, 0);
  return out;
}

/// Adds a tensor with the rank a checkpoint uses: norm weights and biases are vectors.
template <class Store>
void put(Store& store, const std::string& name, const RowMatrix<float>& m, io::DType dtype = io::DType::F32) {
  const bool vector = name.ends_with("norm.weight") || name.ends_with(".bias");
  if (vector) store.add_as(name, dtype, Vector<float>(m.row(0).transpose()));
  else store.add_as(name, dtype, m);
}

inline io::TensorStore store(const Qwen2Config& c, unsigned seed) {
  io::TensorStore s;
  for (const auto& [name, m] : weights(c, seed)) put(s, name, m);
  return s;
}

/// Writes config.json and the weights as `shards` safetensors files (with an index when > 1).
inline std::filesystem::path write(const std::filesystem::path& dir, const Qwen2Config& c, unsigned seed, int shards = 1,
                                   io::DType dtype = io::DType::F32) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  write_file_atomically(dir / "config.json", qwen2_config_json(c));
  const auto all = weights(c, seed);
  if (shards == 1) {
    io::SafetensorsWriter writer;
    for (const auto& [name, m] : all) put(writer, name, m, dtype);
    writer.write(dir / "model.safetensors");
    return dir;
  }
  std::vector<io::SafetensorsWriter> writers(static_cast<std::size_t>(shards));
  nlohmann::json map = nlohmann::json::object();
  for (std::size_t i = 0; i < all.size(); ++i) {
    const std::size_t shard = i * static_cast<std::size_t>(shards) / all.size();
    const std::string file = "model-0000" + std::to_string(shard + 1) + "-of-0000" + std::to_string(shards) + ".safetensors";
    put(writers[shard], all[i].first, all[i].second, dtype);
    map[all[i].first] = file;
  }
  for (std::size_t s = 0; s < writers.size(); ++s)
    writers[s].write(dir / ("model-0000" + std::to_string(s + 1) + "-of-0000" + std::to_string(shards) + ".safetensors"));
  write_file_atomically(dir / "model.safetensors.index.json", nlohmann::json{{"weight_map", map}}.dump());
  return dir;
}

}  // namespace tiny
