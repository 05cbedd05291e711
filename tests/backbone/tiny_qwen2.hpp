#pragma once
// Tiny random Qwen2 models for tests: the library's seeded random weights, held in memory or
// written as a Hugging Face checkpoint directory (single file or shards, any floating dtype).

#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/io/tensor_store.hpp>
#include <causalqwen/model/random_qwen2.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <type_traits>
#include <utility>
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

/// The library's random Qwen2 tensors (model::for_each_random_qwen2_tensor) in checkpoint order,
/// norm weights and biases as 1 x n rows, for references that index them like matrices.
inline std::vector<std::pair<std::string, RowMatrix<float>>> weights(const Qwen2Config& c, unsigned seed) {
  std::vector<std::pair<std::string, RowMatrix<float>>> out;
  model::for_each_random_qwen2_tensor(c, seed, 0.2f, [&out](const std::string& name, const auto& tensor) {
    if constexpr (std::is_same_v<std::decay_t<decltype(tensor)>, Vector<float>>)
      out.emplace_back(name, RowMatrix<float>(tensor.transpose()));
    else
      out.emplace_back(name, tensor);
  });
  return out;
}

/// Adds a tensor with the rank a checkpoint uses: norm weights and biases are vectors.
template <class Store>
void put(Store& store, const std::string& name, const RowMatrix<float>& m, io::DType dtype = io::DType::F32) {
  const bool vector = name.ends_with("norm.weight") || name.ends_with(".bias");
  if (vector) store.add_as(name, dtype, Vector<float>(m.row(0).transpose()));
  else store.add_as(name, dtype, m);
}

inline io::TensorStore store(const Qwen2Config& c, unsigned seed) { return model::random_qwen2_tensors(c, seed); }

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
