#pragma once
// A Qwen2 model from a GGUF file (llama.cpp's `qwen2` architecture), and load_qwen2(), which
// takes either a Hugging Face checkpoint directory or a GGUF file.
//
// The config comes from the `qwen2.*` metadata keys and then passes the same validation as a
// config.json; the tensors are renamed from llama.cpp's names to the Hugging Face ones the Qwen2
// loader asks for. llama.cpp's converter does not permute Qwen2's q/k rows (unlike LLaMA's: Qwen2
// uses the rotate-half rotary layout in both), so the matrices are used as stored.

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/gguf.hpp>
#include <causalqwen/io/tensor.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen {

namespace detail {

struct GgufName {
  std::string_view gguf, hugging_face;
};

/// llama.cpp's names of the tensors of Qwen2 layer N (blk.N.*) and their Hugging Face names
/// (model.layers.N.*). Every one is required: llama.cpp's qwen2 has q/k/v biases.
inline constexpr std::array<GgufName, 12> qwen2_gguf_layer_tensors = {{
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
}};

/// The tensors outside the layers; output.weight is absent when the embeddings are tied.
inline constexpr std::array<GgufName, 3> qwen2_gguf_model_tensors = {{
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
}};

}  // namespace detail

/// The hyper-parameters of a `qwen2` GGUF file, validated like a config.json. The vocabulary
/// size is the length of tokenizer.ggml.tokens; the embeddings are tied when the file has no
/// output.weight.
inline Qwen2Config qwen2_config_from_gguf(const io::GgufReader& file) {
  const std::string where = file.path().string();
  const std::string_view architecture = file.string("general.architecture");
  require(architecture == "qwen2", where, ": GGUF metadata key 'general.architecture' is '", architecture,
          "', only 'qwen2' is supported");
  if (file.has("qwen2.rope.scaling.type")) {
    const std::string_view scaling = file.string("qwen2.rope.scaling.type");
    require(scaling == "none", where, ": GGUF metadata key 'qwen2.rope.scaling.type' is '", scaling,
            "'; scaled rotary embeddings are not supported");
  }
  nlohmann::json json = {
      {"model_type", "qwen2"},
      {"vocab_size", file.strings("tokenizer.ggml.tokens").size()},
      {"hidden_size", file.unsigned_integer("qwen2.embedding_length")},
      {"intermediate_size", file.unsigned_integer("qwen2.feed_forward_length")},
      {"num_hidden_layers", file.unsigned_integer("qwen2.block_count")},
      {"num_attention_heads", file.unsigned_integer("qwen2.attention.head_count")},
      {"max_position_embeddings", file.unsigned_integer("qwen2.context_length")},
      {"rms_norm_eps", file.number("qwen2.attention.layer_norm_rms_epsilon")},
      // llama.cpp's default when the key is absent.
      {"rope_theta", file.has("qwen2.rope.freq_base") ? file.number("qwen2.rope.freq_base") : 10000.0},
      {"tie_word_embeddings", !file.contains("output.weight")},
      {"attention_bias", true}};
  if (file.has("qwen2.attention.head_count_kv"))
    json["num_key_value_heads"] = file.unsigned_integer("qwen2.attention.head_count_kv");
  if (file.has("qwen2.attention.key_length")) {
    const std::uint64_t key_length = file.unsigned_integer("qwen2.attention.key_length");
    if (file.has("qwen2.attention.value_length"))
      require(file.unsigned_integer("qwen2.attention.value_length") == key_length, where,
              ": GGUF metadata keys 'qwen2.attention.key_length' and 'qwen2.attention.value_length' differ");
    json["head_dim"] = key_length;
  }
  Qwen2Config config = parse_qwen2_config(json, where + ": qwen2.* metadata");
  if (file.has("qwen2.rope.dimension_count"))
    require(file.unsigned_integer("qwen2.rope.dimension_count") == static_cast<std::uint64_t>(config.head_dim), where,
            ": GGUF metadata key 'qwen2.rope.dimension_count' is not the head size ", config.head_dim,
            "; partial rotary embeddings are not supported");
  return config;
}

/// The tensors of a Qwen2 GGUF file under their Hugging Face names: a TensorSource for the
/// Qwen2 constructor. F32, F16 and BF16 tensors are views into the file's mapping (the reader
/// must outlive this object); Q8_0 tensors are dequantised to float here, once.
class Qwen2GgufTensors {
 public:
  Qwen2GgufTensors(const io::GgufReader& file, std::int64_t layers) : file_(&file), where_(file.path().string()) {
    const std::string& where = where_;
    for (const io::GgufTensor& tensor : file.tensors()) {
      const std::string name = hugging_face_name(tensor.name, layers);
      require(!name.empty(), where, ": tensor '", tensor.name, "' is not part of a ", layers, "-layer qwen2 model");
      io::TensorView view{.name = name, .dtype = io::DType::F32, .shape = tensor.shape, .bytes = tensor.bytes};
      if (const auto dtype = io::stored_dtype(tensor.type)) {
        view.dtype = *dtype;
      } else {
        std::vector<float>& values = dequantised_.emplace_back(static_cast<std::size_t>(tensor.element_count()));
        io::to_float(tensor, values.data());
        view.bytes = std::as_bytes(std::span<const float>(values));
      }
      views_.emplace(name, std::move(view));
    }
    // Checked here so that a missing tensor is named as the file names it.
    const auto require_tensor = [&](const std::string& gguf, std::string_view hugging_face) {
      require(views_.contains(hugging_face), where, ": missing tensor '", gguf, "' of the qwen2 model");
    };
    for (std::int64_t l = 0; l < layers; ++l)
      for (const auto& [gguf, hf] : detail::qwen2_gguf_layer_tensors)
        require_tensor("blk." + std::to_string(l) + "." + std::string(gguf),
                       "model.layers." + std::to_string(l) + "." + std::string(hf));
    for (const auto& [gguf, hf] : detail::qwen2_gguf_model_tensors)
      if (hf != "lm_head.weight") require_tensor(std::string(gguf), hf);
  }
  // The views point into the dequantised buffers: not copyable, and moving keeps them valid.
  Qwen2GgufTensors(const Qwen2GgufTensors&) = delete;
  Qwen2GgufTensors& operator=(const Qwen2GgufTensors&) = delete;
  Qwen2GgufTensors(Qwen2GgufTensors&&) = default;
  Qwen2GgufTensors& operator=(Qwen2GgufTensors&&) = default;

  bool contains(std::string_view name) const { return views_.find(name) != views_.end(); }
  const io::TensorView& tensor(std::string_view name) const {
    const auto found = views_.find(name);
    if (found == views_.end()) fail(where_, ": no qwen2 tensor named '", name, "'");
    return found->second;
  }
  /// Drops a copied tensor's file pages from resident memory (dequantised tensors are not in
  /// the file and are left alone).
  void release(std::string_view name) const { file_->release(tensor(name).bytes); }

 private:
  /// The Hugging Face name of a llama.cpp tensor name, "" when it is none of a qwen2 model's.
  static std::string hugging_face_name(std::string_view gguf, std::int64_t layers) {
    for (const auto& [from, to] : detail::qwen2_gguf_model_tensors)
      if (gguf == from) return std::string(to);
    constexpr std::string_view block = "blk.";
    if (!gguf.starts_with(block)) return {};
    const std::string_view rest = gguf.substr(block.size());
    std::int64_t layer = -1;
    const auto [end, status] = std::from_chars(rest.data(), rest.data() + rest.size(), layer);
    const std::size_t digits = static_cast<std::size_t>(end - rest.data());
    // One spelling per layer: no sign, no leading zero, a dot after the number.
    if (status != std::errc{} || layer < 0 || layer >= layers || digits == rest.size() || rest[digits] != '.' ||
        (rest[0] == '0' && digits > 1))
      return {};
    const std::string_view suffix = rest.substr(digits + 1);
    for (const auto& [from, to] : detail::qwen2_gguf_layer_tensors)
      if (suffix == from) return "model.layers." + std::to_string(layer) + "." + std::string(to);
    return {};
  }

  const io::GgufReader* file_;
  std::string where_;
  std::vector<std::vector<float>> dequantised_;  // moving the outer vector keeps every buffer in place
  std::map<std::string, io::TensorView, std::less<>> views_;
};

static_assert(TensorSource<Qwen2GgufTensors>);

/// A Qwen2 model from a Hugging Face checkpoint directory (config.json + safetensors) or from a
/// GGUF file (any other path is read as GGUF: ollama's blobs have no extension).
template <Backend B = CpuBackend<float>>
Qwen2<B> load_qwen2(const std::filesystem::path& path, B backend = B{}, WeightFormat format = WeightFormat::as_stored) {
  if (std::filesystem::is_directory(path)) return Qwen2<B>(path, std::move(backend), format);
  const io::GgufReader file(path);
  Qwen2Config config = qwen2_config_from_gguf(file);
  const Qwen2GgufTensors tensors(file, config.num_hidden_layers);
  return Qwen2<B>(std::move(config), tensors, std::move(backend), format, path.string());
}

}  // namespace causalqwen
