#pragma once
// Training forward and backward of the Qwen2 decoder (the operations of qwen2.hpp, backend for
// backend), on dense master parameters (qwen2_parameters.hpp).
//
// forward() runs one fresh sequence (positions 0 .. T-1, no KV cache) and keeps on a tape what
// the backward needs: per layer the residual stream before each norm, the normed inputs of the
// projections, the rotated q and k, v, the attention output, the fused gate/up projection and
// the SwiGLU output. Attention probabilities are recomputed in the backward. backward() takes
// dL/dh (h the output of the final RMSNorm, what a head reads), ADDS the gradient of every
// parameter into a Qwen2Gradients accumulator and returns dL/d(input embeddings), which
// embeddings_backward() scatters into the embedding table (or a caller routes elsewhere, e.g.
// a <NUM> row to its value encoding). A batch is a loop over sequences into one accumulator.
// The accumulator lives in backend storage, so a step allocates and transfers no gradient until
// gradients() downloads it once, as a Qwen2Parameters (the parameters' layout and names).
//
// The backend holds a copy of the parameters in its own storage (weights for the projections);
// set_parameters() / update_parameters() re-upload after an optimiser step.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/kernels/softmax.hpp>

#include <cstdint>
#include <filesystem>
#include <span>
#include <utility>
#include <vector>

namespace causalqwen {

/// What a training forward pass kept for its backward pass (backend storage).
template <Backend B>
struct Qwen2Tape {
  using Matrix = typename B::Matrix;
  struct Layer {
    Matrix input, attention_normed, q, k, v, attended;  // input: the residual stream entering the layer
    Matrix middle, mlp_normed, gate_up, activated;      // middle: the stream after the attention block
  };
  std::vector<Layer> layers;  ///< only each layer's input when `recomputed`
  bool recomputed = false;    ///< backward recomputes the layers' other activations from their inputs
  Matrix rotary_table;
  Matrix last;    ///< the residual stream entering the final norm
  Matrix hidden;  ///< the output h [T x H]
};

/// dL/d(every parameter) accumulated in backend storage, per layer as the backend runs them.
template <Backend B>
struct Qwen2Gradients {
  using Matrix = typename B::Matrix;
  struct Layer {
    Matrix input_norm, qkv, qkv_bias, o, post_norm, gate_up, down;
  };
  Matrix embed_tokens, norm, lm_head;  // lm_head: no rows when tied
  std::vector<Layer> layers;
};

template <Backend B = CpuBackend<float>>
class TrainableQwen2 {
 public:
  using scalar_type = typename B::scalar_type;
  using T = scalar_type;
  using Matrix = typename B::Matrix;
  using Weight = typename B::Weight;
  using Parameters = Qwen2Parameters<T>;
  using Tape = Qwen2Tape<B>;
  using Gradients = Qwen2Gradients<B>;

  explicit TrainableQwen2(Parameters parameters, B backend = B{}) : backend_(std::move(backend)) {
    set_parameters(std::move(parameters));
  }
  /// Loads config.json and the safetensors file(s) of a Hugging Face checkpoint directory.
  explicit TrainableQwen2(const std::filesystem::path& directory, B backend = B{})
      : TrainableQwen2(load_qwen2_parameters<T>(load_qwen2_config(directory / "config.json"), io::Checkpoint(directory),
                                                directory.string()),
                       std::move(backend)) {}

  const Qwen2Config& config() const { return parameters_.config; }
  const B& backend() const { return backend_; }
  const Parameters& parameters() const { return parameters_; }
  std::size_t hidden_size() const { return static_cast<std::size_t>(config().hidden_size); }
  std::int64_t vocab_size() const { return parameters_.vocab_size(); }

  void set_parameters(Parameters parameters) {
    check_shapes(parameters);
    parameters_ = std::move(parameters);
    upload();
  }
  /// Edits the parameters in place (an optimiser step), then re-uploads them.
  template <class Edit>
  void update_parameters(Edit&& edit) {
    edit(parameters_);
    check_shapes(parameters_);
    upload();
  }
  /// A zero gradient accumulator of this model's shapes.
  Gradients zero_gradients() const {
    const Qwen2Config& c = config();
    const std::int64_t h = c.hidden_size, qkv = c.q_size() + 2 * c.kv_size(), inner = c.intermediate_size;
    Gradients g;
    g.embed_tokens = backend_.zeros(vocab_size(), h);
    g.norm = backend_.zeros(1, h);
    g.lm_head = backend_.zeros(c.tie_word_embeddings ? 0 : vocab_size(), h);
    for (std::int64_t l = 0; l < c.num_hidden_layers; ++l)
      g.layers.push_back({backend_.zeros(1, h), backend_.zeros(qkv, h), backend_.zeros(1, c.attention_bias ? qkv : 0),
                          backend_.zeros(h, c.q_size()), backend_.zeros(1, h), backend_.zeros(2 * inner, h),
                          backend_.zeros(h, inner)});
    return g;
  }
  /// Sets an accumulator of this model back to zero, keeping its storage.
  void reset_gradients(Gradients& g) const {
    check_gradients(g);
    for (Matrix* m : {&g.embed_tokens, &g.norm, &g.lm_head}) backend_.set_zero(*m);
    for (typename Gradients::Layer& layer : g.layers)
      for (Matrix* m : {&layer.input_norm, &layer.qkv, &layer.qkv_bias, &layer.o, &layer.post_norm, &layer.gate_up,
                        &layer.down})
        backend_.set_zero(*m);
  }
  /// The accumulated gradients on the host, in the parameters' layout (names: for_each_qwen2_tensor).
  Parameters gradients(const Gradients& g) const {
    Parameters p = Parameters::zeros(config(), vocab_size());
    gradients(g, p);
    return p;
  }
  /// The same, written into `p` (of this model's shapes; its storage is kept).
  void gradients(const Gradients& g, Parameters& p) const {
    check_gradients(g);
    p.require_shapes(config(), vocab_size(), "TrainableQwen2::gradients: the output");
    const std::int64_t layers = config().num_hidden_layers;
    backend_.download_to(g.embed_tokens, p.embed_tokens);
    backend_.download_to(g.norm, p.norm);
    backend_.download_to(g.lm_head, p.lm_head);
    for (std::int64_t l = 0; l < layers; ++l) {
      const typename Gradients::Layer& layer = g.layers[static_cast<std::size_t>(l)];
      backend_.download_to(layer.input_norm, layer_rows(p.input_norm, l, layers));
      backend_.download_to(layer.qkv, layer_rows(p.qkv, l, layers));
      backend_.download_to(layer.qkv_bias, layer_rows(p.qkv_bias, l, layers));
      backend_.download_to(layer.o, layer_rows(p.o, l, layers));
      backend_.download_to(layer.post_norm, layer_rows(p.post_norm, l, layers));
      backend_.download_to(layer.gate_up, layer_rows(p.gate_up, l, layers));
      backend_.download_to(layer.down, layer_rows(p.down, l, layers));
    }
  }

  /// The input embeddings of `tokens` [T x H].
  RowMatrix<T> embeddings(std::span<const TokenId> tokens) const {
    return backend_.download(backend_.embed(embed_tokens_, tokens));
  }

  /// Whether forward() keeps only each layer's input and backward() recomputes the rest of the
  /// layer's activations from it (gradient checkpointing per layer): the tape shrinks from about
  /// 5H + 2q + 2kv + 3I values per token and layer to H, for one more forward pass per step.
  /// The gradients are the same bit for bit.
  void set_recompute_activations(bool recompute) { recompute_ = recompute; }
  bool recompute_activations() const { return recompute_; }

  /// Runs the decoder on the input embeddings of one sequence; tape.hidden is h.
  Tape forward(const RowMatrix<T>& embeddings) const {
    const Qwen2Config& c = config();
    const std::int64_t count = embeddings.rows();
    require(embeddings.cols() == c.hidden_size, "TrainableQwen2: embeddings have ", embeddings.cols(),
            " columns, the model's hidden size is ", c.hidden_size);
    require(count >= 1 && count <= c.max_position_embeddings, "TrainableQwen2: a sequence of ", count,
            " positions; 1 to max_position_embeddings (", c.max_position_embeddings, ") are allowed");
    Tape tape;
    tape.recomputed = recompute_;
    tape.rotary_table = backend_.rotary_table(0, count, c.head_dim, c.rope_theta);
    Matrix x = backend_.upload(embeddings);
    for (const Layer& layer : layers_) {
      typename Tape::Layer& saved = tape.layers.emplace_back();
      forward_layer(layer, tape.rotary_table, x, saved);
      if (recompute_) {
        typename Tape::Layer kept;
        kept.input = std::move(saved.input);
        saved = std::move(kept);
      }
    }
    backend_.rms_norm(x, final_norm_, c.rms_norm_eps, tape.hidden);
    tape.last = std::move(x);
    return tape;
  }
  Tape forward(std::span<const TokenId> tokens) const { return forward(embeddings(tokens)); }
  RowMatrix<T> hidden(const Tape& tape) const { return backend_.download(tape.hidden); }

  /// Adds dL/d(every parameter) to `gradients` given dL/dh [T x H] of the taped sequence; returns
  /// dL/d(input embeddings) [T x H] (not yet in the embedding table: see embeddings_backward).
  RowMatrix<T> backward(const Tape& tape, const RowMatrix<T>& d_hidden, Gradients& gradients) const {
    const Qwen2Config& c = config();
    require(tape.layers.size() == layers_.size() && d_hidden.rows() == backend_.rows(tape.hidden) &&
                d_hidden.cols() == c.hidden_size,
            "TrainableQwen2::backward: upstream [", d_hidden.rows(), " x ", d_hidden.cols(),
            "] does not fit the taped sequence of ", backend_.rows(tape.hidden), " positions");
    check_gradients(gradients);
    const std::int64_t count = d_hidden.rows(), q = c.q_size(), kv = c.kv_size();
    Matrix d_x, d_part, d_normed, d_activated, d_gate_up, d_attended, d_q, d_k, d_v;
    Matrix d_qkv = backend_.zeros(count, q + 2 * kv);
    backend_.rms_norm_backward(tape.last, final_norm_, c.rms_norm_eps, backend_.upload(d_hidden), d_x, gradients.norm);

    typename Tape::Layer recomputed;
    for (std::size_t l = layers_.size(); l-- > 0;) {
      const Layer& layer = layers_[l];
      if (tape.recomputed) {
        Matrix x = tape.layers[l].input;
        forward_layer(layer, tape.rotary_table, x, recomputed);
      }
      const typename Tape::Layer& saved = tape.recomputed ? recomputed : tape.layers[l];
      typename Gradients::Layer& g = gradients.layers[l];
      // x_out = middle + down(swiglu(gate_up(norm(middle)))): d_x reaches both terms.
      backend_.matmul_backward_weight(d_x, saved.activated, g.down);
      backend_.matmul_backward_input(d_x, layer.down, d_activated);
      backend_.swiglu_backward(saved.gate_up, d_activated, d_gate_up);
      backend_.matmul_backward_weight(d_gate_up, saved.mlp_normed, g.gate_up);
      backend_.matmul_backward_input(d_gate_up, layer.gate_up, d_normed);
      backend_.rms_norm_backward(saved.middle, layer.post_norm, c.rms_norm_eps, d_normed, d_part, g.post_norm);
      backend_.add(d_x, d_part);

      // middle = input + o(attention(rope(q), rope(k), v)) with q/k/v = qkv(norm(input)).
      backend_.matmul_backward_weight(d_x, saved.attended, g.o);
      backend_.matmul_backward_input(d_x, layer.o, d_attended);
      backend_.attention_backward(saved.q, saved.k, saved.v, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                                  d_attended, d_q, d_k, d_v);
      backend_.rotary_backward(d_q, c.num_attention_heads, c.head_dim, tape.rotary_table);
      backend_.rotary_backward(d_k, c.num_key_value_heads, c.head_dim, tape.rotary_table);
      backend_.set_columns(d_qkv, 0, d_q);
      backend_.set_columns(d_qkv, q, d_k);
      backend_.set_columns(d_qkv, q + kv, d_v);
      if (c.attention_bias) backend_.add_column_sums(d_qkv, g.qkv_bias);
      backend_.matmul_backward_weight(d_qkv, saved.attention_normed, g.qkv);
      backend_.matmul_backward_input(d_qkv, layer.qkv, d_normed);
      backend_.rms_norm_backward(saved.input, layer.input_norm, c.rms_norm_eps, d_normed, d_part, g.input_norm);
      backend_.add(d_x, d_part);
    }
    return backend_.download(d_x);
  }

  /// Adds the gradient of the input embeddings of `tokens` into the embedding table's gradient.
  void embeddings_backward(std::span<const TokenId> tokens, const RowMatrix<T>& d_embeddings,
                           Gradients& gradients) const {
    check_gradients(gradients);
    backend_.embed_backward(tokens, backend_.upload(d_embeddings), gradients.embed_tokens);
  }

  /// Logits [T x V] of hidden states (lm_head, or the embedding when tied).
  RowMatrix<T> logits(const RowMatrix<T>& hidden) const {
    Matrix out;
    backend_.matmul(backend_.upload(hidden), output_weight(), out);
    return backend_.download(out);
  }
  /// Adds the output projection's gradient (the embedding's when tied) and returns dL/dh.
  RowMatrix<T> logits_backward(const RowMatrix<T>& hidden, const RowMatrix<T>& d_logits, Gradients& gradients) const {
    check_gradients(gradients);
    const Matrix d_out = backend_.upload(d_logits);
    Matrix d_hidden;
    backend_.matmul_backward_weight(d_out, backend_.upload(hidden),
                                    config().tie_word_embeddings ? gradients.embed_tokens : gradients.lm_head);
    backend_.matmul_backward_input(d_out, output_weight(), d_hidden);
    return backend_.download(d_hidden);
  }

 private:
  struct Layer {
    Matrix input_norm, post_norm, qkv_bias;
    Weight qkv, o, gate_up, down;
  };

  /// One decoder layer: x enters as the layer's input and leaves as its output; `saved` keeps
  /// what the layer's backward reads.
  void forward_layer(const Layer& layer, const Matrix& rotary_table, Matrix& x, typename Tape::Layer& saved) const {
    const Qwen2Config& c = config();
    Matrix qkv, projected;
    backend_.rms_norm(x, layer.input_norm, c.rms_norm_eps, saved.attention_normed);
    backend_.matmul(saved.attention_normed, layer.qkv, qkv);
    if (c.attention_bias) backend_.add_row(qkv, layer.qkv_bias);
    backend_.columns(qkv, 0, c.q_size(), saved.q);
    backend_.columns(qkv, c.q_size(), c.kv_size(), saved.k);
    backend_.columns(qkv, c.q_size() + c.kv_size(), c.kv_size(), saved.v);
    backend_.rotary(saved.q, c.num_attention_heads, c.head_dim, rotary_table);
    backend_.rotary(saved.k, c.num_key_value_heads, c.head_dim, rotary_table);
    backend_.attention(saved.q, saved.k, saved.v, 0, c.num_attention_heads, c.num_key_value_heads, c.head_dim,
                       saved.attended);
    backend_.matmul(saved.attended, layer.o, projected);
    saved.input = x;
    backend_.add(x, projected);

    backend_.rms_norm(x, layer.post_norm, c.rms_norm_eps, saved.mlp_normed);
    backend_.matmul(saved.mlp_normed, layer.gate_up, saved.gate_up);
    backend_.swiglu(saved.gate_up, saved.activated);
    backend_.matmul(saved.activated, layer.down, projected);
    saved.middle = x;
    backend_.add(x, projected);
  }

  static void check_shapes(const Parameters& p) {
    p.require_shapes(p.config, p.vocab_size(), "TrainableQwen2 parameters");
  }
  /// The kernels check every shape they touch; this catches an accumulator of another model first.
  void check_gradients(const Gradients& gradients) const {
    require(gradients.layers.size() == layers_.size() && backend_.rows(gradients.embed_tokens) == vocab_size() &&
                backend_.rows(gradients.lm_head) == (config().tie_word_embeddings ? 0 : vocab_size()),
            "TrainableQwen2: a gradient accumulator of ", gradients.layers.size(), " layers and ",
            backend_.rows(gradients.embed_tokens), " embedding rows for a model of ", layers_.size(), " and ",
            vocab_size(), " (tied: ", config().tie_word_embeddings, "); make it with zero_gradients()");
  }

  /// The backend's copies of the parameters: built on the first call, refreshed in place after
  /// (an optimiser step changes values, never shapes), so a training step allocates no weights.
  void upload() {
    const Parameters& p = parameters_;
    const std::int64_t layers = p.config.num_hidden_layers;
    const bool refresh = static_cast<std::int64_t>(layers_.size()) == layers && uploaded_vocab_ == p.embed_tokens.rows();
    const auto weight = [&](Weight& w, const auto& host) {
      if (refresh) backend_.assign_weight(w, host);
      else w = backend_.upload_weight(RowMatrix<T>(host));
    };
    weight(embed_tokens_, p.embed_tokens);
    if (!p.config.tie_word_embeddings) weight(lm_head_, p.lm_head);
    final_norm_ = backend_.upload(p.norm);
    if (!refresh) layers_.assign(static_cast<std::size_t>(layers), Layer{});
    for (std::int64_t l = 0; l < layers; ++l) {
      Layer& layer = layers_[static_cast<std::size_t>(l)];
      layer.input_norm = backend_.upload(RowMatrix<T>(layer_rows(p.input_norm, l, layers)));
      layer.post_norm = backend_.upload(RowMatrix<T>(layer_rows(p.post_norm, l, layers)));
      layer.qkv_bias = backend_.upload(RowMatrix<T>(layer_rows(p.qkv_bias, l, layers)));
      weight(layer.qkv, layer_rows(p.qkv, l, layers));
      weight(layer.o, layer_rows(p.o, l, layers));
      weight(layer.gate_up, layer_rows(p.gate_up, l, layers));
      weight(layer.down, layer_rows(p.down, l, layers));
    }
    uploaded_vocab_ = p.embed_tokens.rows();
  }

  const Weight& output_weight() const { return config().tie_word_embeddings ? embed_tokens_ : lm_head_; }

  B backend_;
  Parameters parameters_;
  Weight embed_tokens_, lm_head_;
  std::vector<Layer> layers_;
  Matrix final_norm_;
  bool recompute_ = false;
  std::int64_t uploaded_vocab_ = -1;  ///< the embedding rows the backend copies were built for
};

/// The base model's language-modelling loss, mean over t = 0 .. T-2 of the cross-entropy of the
/// logits at t against token t+1 (through lm_head, or the tied embedding), with its gradient
/// added into `gradients`. Returns the loss.
template <Backend B>
typename B::scalar_type next_token_cross_entropy(const TrainableQwen2<B>& model, std::span<const TokenId> tokens,
                                                 Qwen2Gradients<B>& gradients) {
  using T = typename B::scalar_type;
  require(tokens.size() >= 2, "next_token_cross_entropy: ", tokens.size(), " tokens; at least 2 are needed");
  const auto predicted = static_cast<Eigen::Index>(tokens.size() - 1);
  const auto tape = model.forward(tokens);
  const RowMatrix<T> hidden = model.hidden(tape).topRows(predicted);
  RowMatrix<T> d_logits;
  const T loss = kernels::softmax_cross_entropy(model.logits(hidden), tokens.subspan(1), d_logits);
  RowMatrix<T> d_hidden = RowMatrix<T>::Zero(predicted + 1, hidden.cols());
  d_hidden.topRows(predicted) = model.logits_backward(hidden, d_logits, gradients);
  model.embeddings_backward(tokens, model.backward(tape, d_hidden, gradients), gradients);
  return loss;
}

}  // namespace causalqwen
