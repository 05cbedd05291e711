#pragma once
// A Qwen2-shaped model with deterministic random weights, built in memory: the initial weights of
// a model trained from scratch (`causalqwen train` without a base model), and what the tests and
// benchmarks run on when no checkpoint is at hand. Projections ~ N(0, weight_std^2), norm weights
// 1 + N(0, weight_std^2), embeddings ~ N(0, weight_std^2); the same seed gives the same model on
// every platform (the numbers come from a splitmix64 / Box-Muller stream, not from a standard
// library distribution).

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/io/tensor_store.hpp>

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string>

namespace causalqwen::model {

/// Calls add(name, tensor) for every tensor a Qwen2 checkpoint of `config` holds, named as Hugging
/// Face names them, in checkpoint order: RowMatrix<float> for projections and embeddings,
/// Vector<float> for norm weights and biases.
template <class Add>
void for_each_random_qwen2_tensor(const Qwen2Config& config, std::uint64_t seed, float weight_std, Add&& add) {
  std::uint64_t state = seed ^ 0x7177656e32ULL;
  const auto next = [&] {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  const auto normal = [&] {
    const double u1 = double((next() >> 11) + 1) * 0x1.0p-53, u2 = double(next() >> 11) * 0x1.0p-53;
    return float(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
  };
  const auto matrix = [&](const std::string& name, std::int64_t rows, std::int64_t cols) {
    RowMatrix<float> m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = weight_std * normal();
    add(name, m);
  };
  const auto vector = [&](const std::string& name, std::int64_t size, float offset) {
    Vector<float> v(size);
    for (Eigen::Index i = 0; i < v.size(); ++i) v(i) = offset + weight_std * normal();
    add(name, v);
  };
  const Qwen2Config& c = config;
  matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    vector(p + "input_layernorm.weight", c.hidden_size, 1);
    matrix(p + "self_attn.q_proj.weight", c.q_size(), c.hidden_size);
    matrix(p + "self_attn.k_proj.weight", c.kv_size(), c.hidden_size);
    matrix(p + "self_attn.v_proj.weight", c.kv_size(), c.hidden_size);
    if (c.attention_bias) {
      vector(p + "self_attn.q_proj.bias", c.q_size(), 0);
      vector(p + "self_attn.k_proj.bias", c.kv_size(), 0);
      vector(p + "self_attn.v_proj.bias", c.kv_size(), 0);
    }
    matrix(p + "self_attn.o_proj.weight", c.hidden_size, c.q_size());
    vector(p + "post_attention_layernorm.weight", c.hidden_size, 1);
    matrix(p + "mlp.gate_proj.weight", c.intermediate_size, c.hidden_size);
    matrix(p + "mlp.up_proj.weight", c.intermediate_size, c.hidden_size);
    matrix(p + "mlp.down_proj.weight", c.hidden_size, c.intermediate_size);
  }
  vector("model.norm.weight", c.hidden_size, 1);
  if (!c.tie_word_embeddings) matrix("lm_head.weight", c.vocab_size, c.hidden_size);
}

/// Every tensor a Qwen2 checkpoint of `config` holds, named as Hugging Face names them.
inline io::TensorStore random_qwen2_tensors(const Qwen2Config& config, std::uint64_t seed, float weight_std = 0.2f) {
  io::TensorStore store;
  for_each_random_qwen2_tensor(config, seed, weight_std,
                               [&store](const std::string& name, const auto& tensor) { store.add(name, tensor); });
  return store;
}

/// The model itself (float, CPU).
inline Qwen2<CpuBackend<float>> random_qwen2(const Qwen2Config& config, std::uint64_t seed, float weight_std = 0.2f) {
  return Qwen2<CpuBackend<float>>(config, random_qwen2_tensors(config, seed, weight_std), CpuBackend<float>{},
                                  WeightFormat::as_stored, "random Qwen2 (seed " + std::to_string(seed) + ")");
}

}  // namespace causalqwen::model
