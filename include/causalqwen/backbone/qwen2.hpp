#pragma once
// The Qwen2 / Qwen2.5 decoder, written once against the Backend concept.
//
// Per layer: x += o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))) with
// n = rmsnorm(x); then x += down_proj(silu(gate_proj(n')) * up_proj(n')) with n' = rmsnorm(x).
// q/k/v and gate/up are stacked into one weight each at load time and run as one matmul.
// The output is the final RMSNorm of x, the hidden states [T x H] a causal head consumes;
// logits are lm_head (or the tied embedding) applied to them.
//
// The model is loaded from anything that hands out tensors by name (a checkpoint directory, a
// TensorStore made in memory). Every tensor the config requires is checked for shape and dtype
// before any is used.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/backbone/kv_cache.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/io/tensor.hpp>

#include <concepts>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen {

/// Anything that hands out tensors by name: io::Checkpoint, io::SafetensorsReader, io::TensorStore.
template <class S>
concept TensorSource = requires(const S& source, std::string_view name) {
  { source.contains(name) } -> std::convertible_to<bool>;
  { source.tensor(name) } -> std::convertible_to<const io::TensorView&>;
};

/// The file that holds tensor `name`: its shard when the source knows it, else `source`.
template <TensorSource S>
std::string qwen2_tensor_file(const S& tensors, const std::string& source, const std::string& name) {
  if constexpr (requires { tensors.file_of(name).path(); }) return tensors.file_of(name).path().string();
  return source;
}

/// Tensor `name` of `tensors`, required to exist, to be floating, to have `shape` and to hold only
/// finite values (the library's policy: a NaN or Inf weight is refused at load time, naming the
/// file, the tensor and the first bad element). `source` names the origin in error messages.
template <TensorSource S>
const io::TensorView& checked_qwen2_tensor(const S& tensors, const std::string& source, const std::string& name,
                                           const std::vector<std::int64_t>& shape) {
  require(tensors.contains(name), source, ": missing tensor '", name, "' required by the Qwen2 config");
  const io::TensorView& view = tensors.tensor(name);
  require(io::is_floating(view.dtype), source, ": tensor '", name, "' has dtype ", io::dtype_name(view.dtype),
          ", expected F32, BF16, F16 or F64");
  if (view.shape != shape) {
    std::string expected, got;
    for (std::int64_t e : shape) expected += (expected.empty() ? "" : ", ") + std::to_string(e);
    for (std::int64_t e : view.shape) got += (got.empty() ? "" : ", ") + std::to_string(e);
    fail(source, ": tensor '", name, "' has shape [", got, "], the config requires [", expected, "]");
  }
  io::require_finite(view, qwen2_tensor_file(tensors, source, name));
  return view;
}

/// Tells a source that maps its file that tensor `name` has been copied to the backend, so its
/// pages leave resident memory (loading then peaks near the model's size, not twice it).
template <TensorSource S>
void release_qwen2_tensor(const S& tensors, std::string_view name) {
  if constexpr (requires { tensors.release(name); }) tensors.release(name);
}

template <Backend B = CpuBackend<float>>
class Qwen2 {
 public:
  using scalar_type = typename B::scalar_type;
  using backend_type = B;
  using Matrix = typename B::Matrix;
  using Weight = typename B::Weight;
  using Cache = KvCache<B>;
  using T = scalar_type;

  /// Loads config.json and the safetensors file(s) of a Hugging Face checkpoint directory.
  explicit Qwen2(const std::filesystem::path& directory, B backend = B{}, WeightFormat format = WeightFormat::as_stored)
      : Qwen2(load_qwen2_config(directory / "config.json"), io::Checkpoint(directory), std::move(backend), format,
              directory.string()) {}

  /// Builds the model from `config` and tensors named as in Hugging Face checkpoints; `source`
  /// names the origin in error messages.
  template <TensorSource S>
  Qwen2(Qwen2Config config, const S& tensors, B backend, WeightFormat format, std::string source)
      : config_(std::move(config)), backend_(std::move(backend)) {
    const Qwen2Config& c = config_;
    const auto matrix = [&](const std::string& name, std::int64_t rows, std::int64_t cols) {
      auto weight = backend_.upload_weight(checked_qwen2_tensor(tensors, source, name, {rows, cols}), format, source);
      release_qwen2_tensor(tensors, name);
      return weight;
    };
    // Projections of the same input are stacked at load time (q/k/v, gate/up): one matmul each.
    const auto stacked = [&](std::initializer_list<std::pair<std::string, std::int64_t>> parts, std::int64_t cols) {
      std::vector<const io::TensorView*> views;
      for (const auto& [name, rows] : parts) views.push_back(&checked_qwen2_tensor(tensors, source, name, {rows, cols}));
      auto weight = backend_.upload_weights(views, format, source);
      for (const auto& part : parts) release_qwen2_tensor(tensors, part.first);
      return weight;
    };
    const auto vector = [&](std::initializer_list<std::pair<std::string, std::int64_t>> parts) {
      std::int64_t size = 0;
      for (const auto& part : parts) size += part.second;
      RowMatrix<T> values(1, size);
      T* at = values.data();
      for (const auto& [name, part_size] : parts) {
        const io::TensorView& view = checked_qwen2_tensor(tensors, source, name, {part_size});
        io::convert_elements(view.dtype, view.bytes.data(), static_cast<std::size_t>(part_size), at);
        at += part_size;
      }
      return backend_.upload(values);
    };
    embed_tokens_ = matrix("model.embed_tokens.weight", c.vocab_size, c.hidden_size);
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      Layer& layer = layers_.emplace_back();
      layer.input_norm = vector({{p + "input_layernorm.weight", c.hidden_size}});
      layer.qkv = stacked({{p + "self_attn.q_proj.weight", c.q_size()},
                           {p + "self_attn.k_proj.weight", c.kv_size()},
                           {p + "self_attn.v_proj.weight", c.kv_size()}},
                          c.hidden_size);
      if (c.attention_bias)
        layer.qkv_bias = vector({{p + "self_attn.q_proj.bias", c.q_size()},
                                 {p + "self_attn.k_proj.bias", c.kv_size()},
                                 {p + "self_attn.v_proj.bias", c.kv_size()}});
      layer.o = matrix(p + "self_attn.o_proj.weight", c.hidden_size, c.q_size());
      layer.post_norm = vector({{p + "post_attention_layernorm.weight", c.hidden_size}});
      layer.gate_up = stacked({{p + "mlp.gate_proj.weight", c.intermediate_size},
                               {p + "mlp.up_proj.weight", c.intermediate_size}},
                              c.hidden_size);
      layer.down = matrix(p + "mlp.down_proj.weight", c.hidden_size, c.intermediate_size);
    }
    final_norm_ = vector({{"model.norm.weight", c.hidden_size}});
    if (!c.tie_word_embeddings) lm_head_ = matrix("lm_head.weight", c.vocab_size, c.hidden_size);
  }

  const Qwen2Config& config() const { return config_; }
  const B& backend() const { return backend_; }
  std::size_t hidden_size() const { return static_cast<std::size_t>(config_.hidden_size); }
  /// Rows of the embedding matrix: the config's vocabulary plus any added tokens.
  std::int64_t vocab_size() const { return backend_.weight_rows(embed_tokens_); }

  Cache make_cache() const { return Cache(config_.num_hidden_layers, config_.kv_size()); }

  /// Final hidden states [T x H] of a fresh sequence (the Backbone concept).
  RowMatrix<T> hidden_states(std::span<const TokenId> tokens) const {
    Cache cache = make_cache();
    return hidden_states(tokens, cache);
  }
  /// Hidden states of `tokens` continuing the sequence in `cache`, which then holds them too.
  RowMatrix<T> hidden_states(std::span<const TokenId> tokens, Cache& cache) const {
    return backend_.download(forward(backend_.embed(embed_tokens_, tokens), cache));
  }

  /// The input embeddings of `tokens` [T x H], for callers that modify some rows before the
  /// forward pass (e.g. scale the `<NUM>` rows by a function of their value).
  RowMatrix<T> embeddings(std::span<const TokenId> tokens) const {
    return backend_.download(backend_.embed(embed_tokens_, tokens));
  }
  RowMatrix<T> hidden_states_from_embeddings(const RowMatrix<T>& embeddings) const {
    Cache cache = make_cache();
    return hidden_states_from_embeddings(embeddings, cache);
  }
  RowMatrix<T> hidden_states_from_embeddings(const RowMatrix<T>& embeddings, Cache& cache) const {
    require(embeddings.cols() == config_.hidden_size, "Qwen2: embeddings have ", embeddings.cols(),
            " columns, the model's hidden size is ", config_.hidden_size);
    return backend_.download(forward(backend_.upload(embeddings), cache));
  }
  /// Embeds `tokens`, lets `hook(tokens, embeddings)` rewrite rows of the [T x H] embeddings in
  /// place, and runs the forward pass on the result.
  template <class Hook>
    requires std::invocable<Hook&, std::span<const TokenId>, RowMatrix<T>&>
  RowMatrix<T> hidden_states(std::span<const TokenId> tokens, Cache& cache, Hook&& hook) const {
    RowMatrix<T> rows = embeddings(tokens);
    hook(tokens, rows);
    return hidden_states_from_embeddings(rows, cache);
  }

  /// Logits [T x vocab] of final hidden states (lm_head, or the embedding when tied).
  RowMatrix<T> logits(const RowMatrix<T>& hidden) const {
    require(hidden.cols() == config_.hidden_size, "Qwen2: hidden states have ", hidden.cols(),
            " columns, the model's hidden size is ", config_.hidden_size);
    Matrix out;
    backend_.matmul(backend_.upload(hidden), output_weight(), out);
    return backend_.download(out);
  }
  /// Logits of every position of a fresh sequence.
  RowMatrix<T> logits(std::span<const TokenId> tokens) const { return logits(hidden_states(tokens)); }

  /// The output projection [vocab x H] on the backend (lm_head, or the embedding when tied).
  const Weight& output_weight() const { return config_.tie_word_embeddings ? embed_tokens_ : lm_head_; }

  /// One row of the input embedding matrix.
  RowVector<T> embedding_row(TokenId token) const {
    require(token >= 0 && token < vocab_size(), "token id ", token, " is outside the vocabulary [0, ", vocab_size(), ")");
    return backend_.weight_row(embed_tokens_, token);
  }
  /// One row of the output projection (lm_head, or the embedding when tied).
  RowVector<T> output_row(TokenId token) const {
    require(token >= 0 && token < vocab_size(), "token id ", token, " is outside the vocabulary [0, ", vocab_size(), ")");
    return backend_.weight_row(output_weight(), token);
  }

  /// Adds a token to a model with tied embeddings: the row serves as input embedding and output
  /// projection. Returns the new token's id. bfloat16 weights round the row to bfloat16.
  TokenId add_token(const RowVector<T>& embedding) {
    require(config_.tie_word_embeddings, "Qwen2: the lm_head is not tied to the embeddings; give its row too");
    append(embed_tokens_, embedding);
    return static_cast<TokenId>(vocab_size() - 1);
  }
  /// Adds a token to a model with a separate lm_head: an input embedding row and an output row.
  TokenId add_token(const RowVector<T>& embedding, const RowVector<T>& output_row) {
    require(!config_.tie_word_embeddings, "Qwen2: the lm_head is tied to the embeddings; give one row only");
    require(output_row.size() == config_.hidden_size, "Qwen2: lm_head row has ", output_row.size(), " entries, expected ",
            config_.hidden_size);
    append(embed_tokens_, embedding);
    append(lm_head_, output_row);
    return static_cast<TokenId>(vocab_size() - 1);
  }

 private:
  struct Layer {
    Matrix input_norm, post_norm, qkv_bias;  // qkv_bias: q, k and v biases side by side
    Weight qkv, o, gate_up, down;            // rows of q/k/v and of gate/up stacked
  };

  void append(Weight& weight, const RowVector<T>& row) {
    require(row.size() == config_.hidden_size, "Qwen2: token row has ", row.size(), " entries, expected ",
            config_.hidden_size);
    backend_.append_weight_rows(weight, RowMatrix<T>(row));
  }

  /// Runs the decoder on embedded positions that continue `cache`; returns normed hidden states.
  Matrix forward(Matrix x, Cache& cache) const {
    const Qwen2Config& c = config_;
    require(cache.layers() == c.num_hidden_layers && cache.width() == c.kv_size(),
            "Qwen2: the KV cache was made for another model shape");
    const std::int64_t count = backend_.rows(x), past = cache.length();
    require(past + count <= c.max_position_embeddings, "Qwen2: ", past + count,
            " positions exceed max_position_embeddings (", c.max_position_embeddings, ")");
    if (count == 0) return x;
    const Matrix table = backend_.rotary_table(past, count, c.head_dim, c.rope_theta);
    Matrix normed, qkv, q, k, v, attended, projected, gate_up, activated;
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const Layer& layer = layers_[static_cast<std::size_t>(l)];
      backend_.rms_norm(x, layer.input_norm, c.rms_norm_eps, normed);
      backend_.matmul(normed, layer.qkv, qkv);
      if (c.attention_bias) backend_.add_row(qkv, layer.qkv_bias);
      backend_.columns(qkv, 0, c.q_size(), q);
      backend_.columns(qkv, c.q_size(), c.kv_size(), k);
      backend_.columns(qkv, c.q_size() + c.kv_size(), c.kv_size(), v);
      backend_.rotary(q, c.num_attention_heads, c.head_dim, table);
      backend_.rotary(k, c.num_key_value_heads, c.head_dim, table);
      cache.store(backend_, l, k, v);
      backend_.attention(q, cache.keys(l), cache.values(l), past, c.num_attention_heads, c.num_key_value_heads,
                         c.head_dim, attended);
      backend_.matmul(attended, layer.o, projected);
      backend_.add(x, projected);

      backend_.rms_norm(x, layer.post_norm, c.rms_norm_eps, normed);
      backend_.matmul(normed, layer.gate_up, gate_up);
      backend_.swiglu(gate_up, activated);
      backend_.matmul(activated, layer.down, projected);
      backend_.add(x, projected);
    }
    cache.advance(count);
    backend_.rms_norm(x, final_norm_, c.rms_norm_eps, normed);
    return normed;
  }

  Qwen2Config config_;
  B backend_;
  Weight embed_tokens_;
  Weight lm_head_;
  std::vector<Layer> layers_;
  Matrix final_norm_;
};

static_assert(Backbone<Qwen2<CpuBackend<float>>>);

}  // namespace causalqwen
