#pragma once
// The trainable parameters of a Qwen2 backbone (also the type of their gradient), dense in the
// scalar type whatever the checkpoint's dtype: float32 master weights for training, double for
// gradient checks.
//
// Layout. A fixed set of ten blocks, each layer's tensors stacked along the rows of one matrix
// per kind, so the set is a head::ParameterSet (a fixed tuple of blocks) that AdamW and the
// parameter-set arithmetic step as they step the head, whatever the number of layers:
//
//   embed_tokens [V x H]               layers.qkv       [L (q + 2 kv) x H]   q, k, v rows per layer
//   layers.input_norm  [L x H]         layers.qkv_bias  [L x (q + 2 kv)]     [L x 0] without biases
//   layers.post_norm   [L x H]         layers.o         [L H x q]
//   norm               [1 x H]         layers.gate_up   [L 2I x H]           gate rows, then up rows
//   lm_head [V x H] ([0 x H] tied)     layers.down      [L H x I]
//
// q/k/v and gate/up are stacked as the backend runs them (one matmul each), and in a row-major
// matrix every Hugging Face tensor is a contiguous slice: for_each_qwen2_tensor hands out each
// tensor under its checkpoint name as a view (no copy), which is how parameters are loaded and
// how gradients are written.

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/tensor.hpp>
#include <causalqwen/io/tensor_store.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace causalqwen {

template <Real T>
struct Qwen2Parameters {
  using scalar_type = T;
  Qwen2Config config;
  RowMatrix<T> embed_tokens, input_norm, qkv, qkv_bias, o, post_norm, gate_up, down, norm, lm_head;

  auto blocks() { return std::tie(embed_tokens, input_norm, qkv, qkv_bias, o, post_norm, gate_up, down, norm, lm_head); }
  auto blocks() const {
    return std::tie(embed_tokens, input_norm, qkv, qkv_bias, o, post_norm, gate_up, down, norm, lm_head);
  }
  static std::vector<std::string> block_names() {
    return {"embed_tokens",     "layers.input_norm", "layers.qkv",     "layers.qkv_bias", "layers.o",
            "layers.post_norm", "layers.gate_up",    "layers.down",    "norm",            "lm_head"};
  }

  /// The [rows, cols] of every block, in block order, for `config` with `vocab` embedding rows.
  static std::array<std::array<std::int64_t, 2>, 10> block_shapes(const Qwen2Config& c, std::int64_t vocab) {
    const std::int64_t v = vocab, layers = c.num_hidden_layers, h = c.hidden_size;
    const std::int64_t qkv_rows = c.q_size() + 2 * c.kv_size(), i = c.intermediate_size;
    return {{{v, h},
             {layers, h},
             {layers * qkv_rows, h},
             {layers, c.attention_bias ? qkv_rows : 0},
             {layers * h, c.q_size()},
             {layers, h},
             {layers * 2 * i, h},
             {layers * h, i},
             {1, h},
             {c.tie_word_embeddings ? 0 : v, h}}};
  }

  /// Every block zero, shaped for `config` (a gradient accumulator). `vocab` rows of the
  /// embedding (and lm_head): the config's vocabulary unless a model has added tokens.
  static Qwen2Parameters zeros(const Qwen2Config& config, std::int64_t vocab = 0) {
    Qwen2Parameters p;
    p.config = config;
    const auto shapes = block_shapes(config, vocab > 0 ? vocab : config.vocab_size);
    std::size_t index = 0;
    std::apply([&](auto&... block) { ((block.setZero(shapes[index][0], shapes[index][1]), ++index), ...); }, p.blocks());
    return p;
  }

  /// Throws causalqwen::error naming `who` and the block unless every block has the shape
  /// `config` with `vocab` embedding rows gives it (no allocation).
  void require_shapes(const Qwen2Config& c, std::int64_t vocab, std::string_view who) const {
    const auto shapes = block_shapes(c, vocab);
    const auto names = block_names();
    std::size_t index = 0;
    std::apply(
        [&](const auto&... block) {
          ((require(block.rows() == shapes[index][0] && block.cols() == shapes[index][1], who, ": block ", names[index],
                    " is ", block.rows(), " x ", block.cols(), ", expected ", shapes[index][0], " x ", shapes[index][1]),
            ++index),
           ...);
        },
        blocks());
  }

  std::int64_t vocab_size() const { return embed_tokens.rows(); }

  /// Throws causalqwen::error naming `who` and the block unless `other` has the same shapes.
  void require_same_shapes(const Qwen2Parameters& other, std::string_view who) const {
    require(config.num_hidden_layers == other.config.num_hidden_layers &&
                config.tie_word_embeddings == other.config.tie_word_embeddings,
            who, ": parameters of ", other.config.num_hidden_layers, " layers (tied: ", other.config.tie_word_embeddings,
            ") for a model of ", config.num_hidden_layers, " (tied: ", config.tie_word_embeddings, ")");
    other.require_shapes(config, vocab_size(), who);
  }
};

/// Rows of layer `layer` in a stacked block (every layers.* block holds L equal groups of rows).
template <class Block>
auto layer_rows(Block& block, std::int64_t layer, std::int64_t layers) {
  const std::int64_t rows = block.rows() / layers;
  return block.middleRows(layer * rows, rows);
}

/// Calls f(name, view, shape) for every tensor of a Hugging Face Qwen2 checkpoint, in checkpoint
/// order: `view` an Eigen::Map of its slice of `params` (const when `params` is), `shape` its
/// checkpoint shape ({n} for norm weights and biases, {rows, cols} for matrices).
template <class P, class F>
  requires std::same_as<std::remove_const_t<P>, Qwen2Parameters<typename std::remove_const_t<P>::scalar_type>>
void for_each_qwen2_tensor(P& params, F&& f) {
  using T = typename std::remove_const_t<P>::scalar_type;
  using View = std::conditional_t<std::is_const_v<P>, Eigen::Map<const RowMatrix<T>>, Eigen::Map<RowMatrix<T>>>;
  const Qwen2Config& c = params.config;
  const auto rows = [&](auto& block, std::int64_t first, std::int64_t count, const std::string& name) {
    f(name, View(block.data() + first * block.cols(), count, block.cols()), std::vector<std::int64_t>{count, block.cols()});
  };
  const auto segment = [&](auto& block, std::int64_t row, std::int64_t first, std::int64_t count,
                           const std::string& name) {
    f(name, View(block.data() + row * block.cols() + first, 1, count), std::vector<std::int64_t>{count});
  };
  const std::int64_t h = c.hidden_size, q = c.q_size(), kv = c.kv_size(), i = c.intermediate_size;
  const std::int64_t qkv_rows = q + 2 * kv;
  rows(params.embed_tokens, 0, params.embed_tokens.rows(), "model.embed_tokens.weight");
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    segment(params.input_norm, l, 0, h, p + "input_layernorm.weight");
    rows(params.qkv, l * qkv_rows, q, p + "self_attn.q_proj.weight");
    rows(params.qkv, l * qkv_rows + q, kv, p + "self_attn.k_proj.weight");
    rows(params.qkv, l * qkv_rows + q + kv, kv, p + "self_attn.v_proj.weight");
    if (c.attention_bias) {
      segment(params.qkv_bias, l, 0, q, p + "self_attn.q_proj.bias");
      segment(params.qkv_bias, l, q, kv, p + "self_attn.k_proj.bias");
      segment(params.qkv_bias, l, q + kv, kv, p + "self_attn.v_proj.bias");
    }
    rows(params.o, l * h, h, p + "self_attn.o_proj.weight");
    segment(params.post_norm, l, 0, h, p + "post_attention_layernorm.weight");
    rows(params.gate_up, l * 2 * i, i, p + "mlp.gate_proj.weight");
    rows(params.gate_up, l * 2 * i + i, i, p + "mlp.up_proj.weight");
    rows(params.down, l * h, h, p + "mlp.down_proj.weight");
  }
  segment(params.norm, 0, 0, h, "model.norm.weight");
  if (!c.tie_word_embeddings) rows(params.lm_head, 0, params.lm_head.rows(), "lm_head.weight");
}

/// The parameters of `config` read from tensors named as in Hugging Face checkpoints (any
/// floating dtype, converted to T); `source` names the origin in error messages.
template <Real T, TensorSource S>
Qwen2Parameters<T> load_qwen2_parameters(const Qwen2Config& config, const S& tensors, const std::string& source) {
  require(tensors.contains("model.embed_tokens.weight"), source, ": missing tensor 'model.embed_tokens.weight'");
  const io::TensorView& embedding = tensors.tensor("model.embed_tokens.weight");
  require(embedding.shape.size() == 2 && embedding.shape[0] >= config.vocab_size, source,
          ": tensor 'model.embed_tokens.weight' must be a matrix of at least ", config.vocab_size, " rows");
  Qwen2Parameters<T> params = Qwen2Parameters<T>::zeros(config, embedding.shape[0]);
  for_each_qwen2_tensor(params, [&](const std::string& name, auto view, const std::vector<std::int64_t>& shape) {
    const io::TensorView& stored = checked_qwen2_tensor(tensors, source, name, shape);
    RowMatrix<T> values(view.rows(), view.cols());
    io::convert_elements(stored.dtype, stored.bytes.data(), static_cast<std::size_t>(values.size()), values.data());
    view = values;
  });
  return params;
}

/// Every tensor under its checkpoint name and shape, in the scalar type (F32 or F64): what a
/// SafetensorsWriter (a TensorStore) writes as a checkpoint, or as a file of gradients.
template <Real T>
void add_qwen2_tensors(const Qwen2Parameters<T>& params, io::TensorStore& store) {
  for_each_qwen2_tensor(params, [&](const std::string& name, auto view, const std::vector<std::int64_t>& shape) {
    if (shape.size() == 1) store.add(name, Vector<T>(view.row(0).transpose()));
    else store.add(name, RowMatrix<T>(view));
  });
}

}  // namespace causalqwen
