#pragma once
// The causal language model as it is trained end to end: the tokenizer, the Qwen2 backbone with
// its master parameters in the scalar type (a bf16 checkpoint is widened once), the <NUM> value
// encoding and the causal head, all of them learned.
//
// Its files (model/causal_lm_files.hpp): a Hugging Face Qwen2 checkpoint that any Qwen2 tool
// loads — config.json, model.safetensors (F32, or BF16 for distribution), tokenizer.json — whose
// embedding already has the <NUM> row (<NUM> is the first id the tokenizer leaves free, so the
// tokenizer itself is unchanged), plus causal_head.safetensors and value_encoding.safetensors.
// Every file is written atomically; load_causal_lm reads the directory for inference.

#include <causalqwen/backbone/qwen2_config.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/scope_exit.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/io/checkpoint.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/causal_lm_files.hpp>
#include <causalqwen/model/causal_lm_training.hpp>
#include <causalqwen/model/training_text.hpp>
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <utility>

namespace causalqwen::model {

template <Backend B = CpuBackend<float>, head::ScaleLinkPolicy Link = head::ExpLink,
          head::ThresholdPolicy Thresholds = head::LearnedThresholds,
          TrainableValueEncoding E = LogSignedValueEncoding<typename B::scalar_type>>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
class TrainableCausalLM {
 public:
  using scalar_type = typename B::scalar_type;
  using T = scalar_type;
  using backbone_type = TrainableQwen2<B>;
  using head_type = head::CausalHead<T, Link, Thresholds, B>;
  using encoding_type = E;
  using Parameters = CausalLMParameters<T, typename E::params_type>;

  /// A causal model on a base model's parameters, with the head and encoding that carry its
  /// knowledge over (CausalLM::from_base's initialisation) and a <NUM> row appended to the
  /// embedding (and lm_head) when the base has none. `tokenizer_json` is the tokenizer.json text.
  static TrainableCausalLM from_base(std::string tokenizer_json, Qwen2Parameters<T> base, const CausalLMInit<T>& init = {},
                                     B backend = B{}, std::string source = "<tokenizer.json>") {
    Tokenizer tokenizer = Tokenizer::from_json(tokenizer_json, std::move(source));
    const TokenId num = num_token_id(tokenizer);
    require(num > 0 && num <= base.vocab_size(), "TrainableCausalLM: the tokenizer ", tokenizer.source(),
            " uses ids up to ", num - 1, " but the model has ", base.vocab_size(), " embedding rows");
    const bool tied = base.config.tie_word_embeddings;
    const auto& output = tied ? base.embed_tokens : base.lm_head;
    const RowVector<T> mean_embedding = base.embed_tokens.topRows(num).colwise().mean();
    const RowVector<T> mean_output = output.topRows(num).colwise().mean();
    const T entry_rms = std::sqrt(base.embed_tokens.topRows(num).squaredNorm() / T(double(num) * double(base.embed_tokens.cols())));
    auto [head, encoding] = initial_head_and_encoding<head_type, E>(backend, backend.upload_weight(output), num,
                                                                    mean_embedding, mean_output, entry_rms, init);
    if (num == base.vocab_size()) {
      append_row(base.embed_tokens, mean_embedding);
      if (!tied) append_row(base.lm_head, mean_output);
    }
    return TrainableCausalLM(std::move(tokenizer_json), std::move(tokenizer), std::move(base), std::move(head),
                             std::move(encoding), std::move(backend));
  }

  /// A model directory written by save(), or a plain Qwen2 checkpoint directory (config.json,
  /// safetensors, tokenizer.json), which is then initialised as from_base does.
  static TrainableCausalLM load(const std::filesystem::path& directory, B backend = B{},
                                const CausalLMInit<T>& init = {}) {
    auto [tokenizer_file, tokenizer_json, base] = read_qwen2_directory<T>(directory);
    const std::filesystem::path head_file = directory / kCausalHeadFile;
    if (!std::filesystem::exists(head_file))
      return from_base(std::move(tokenizer_json), std::move(base), init, std::move(backend), tokenizer_file.string());
    Tokenizer tokenizer = Tokenizer::from_json(tokenizer_json, tokenizer_file.string());
    const TokenId num = num_token_id(tokenizer);
    const auto hidden = static_cast<std::size_t>(base.config.hidden_size);
    head_type head = head::load_head<T, Link, Thresholds>(head_file, head::HeadShape{hidden, hidden, std::size_t(num)});
    E encoding = load_value_encoding<E>(directory / kValueEncodingFile, hidden);
    return TrainableCausalLM(std::move(tokenizer_json), std::move(tokenizer), std::move(base), std::move(head),
                             std::move(encoding), std::move(backend));
  }

  /// Writes the model directory (see the file comment); `weights` is the dtype of
  /// model.safetensors (F32 keeps the master weights exactly, BF16 halves the file).
  void save(const std::filesystem::path& directory, io::DType weights = io::DType::F32) const {
    save_qwen2_directory(directory, backbone_, tokenizer_json_, weights);
    head::save_head(head_, directory / kCausalHeadFile);
    save_value_encoding(encoding_, directory / kValueEncodingFile);
  }

  const Tokenizer& tokenizer() const { return tokenizer_; }
  const std::string& tokenizer_json() const { return tokenizer_json_; }
  TokenId num_token() const { return num_; }
  const backbone_type& backbone() const { return backbone_; }
  const E& encoding() const { return encoding_; }
  const head_type& head() const { return head_; }
  const B& backend() const { return backbone_.backend(); }
  /// Gradient checkpointing per backbone layer (TrainableQwen2::set_recompute_activations).
  void set_recompute_activations(bool recompute) { backbone_.set_recompute_activations(recompute); }

  /// A copy of every parameter (e.g. the shapes an optimiser is built for).
  Parameters parameters() const { return {backbone_.parameters(), encoding_.params(), head_.params()}; }

  /// Edits every parameter in place (an optimiser step): the backbone's and the head's parameters
  /// are moved into one Parameters for the call and back, never copied; the backend copies are
  /// refreshed afterwards.
  template <class Edit>
  void update(Edit&& edit) {
    backbone_.update_parameters([&](Qwen2Parameters<T>& backbone) {
      head_.update_params([&](head::HeadParams<T>& head) {
        Parameters all{std::move(backbone), encoding_.params(), std::move(head)};
        // Put the parts back even when the edit throws (AdamW refuses a non-finite gradient).
        const ScopeExit restore([&] {
          backbone = std::move(all.backbone);
          head = std::move(all.head);
        });
        edit(all);
        encoding_ = E(std::move(all.encoding));
      });
    });
  }

  /// The loss of `batch` and the gradient of every parameter (causal_lm_loss_and_gradient).
  template <class Rng = std::mt19937_64>
  CausalLMLoss<T, typename E::params_type> loss_and_gradient(std::span<const TrainingSequence> batch,
                                                             const head::LossOptions<T>& options,
                                                             Rng* rng = nullptr) const {
    return causal_lm_loss_and_gradient(backbone_, encoding_, head_, num_, batch, options, rng);
  }
  using Workspace = CausalLMWorkspace<B, typename E::params_type>;
  /// Buffers for loss_and_gradient calls that reuse them (a training run's steps).
  Workspace workspace() const { return causal_lm_workspace(backbone_, encoding_, head_); }
  /// The loss of `batch`; the gradients are left in workspace.gradients.
  template <class Rng = std::mt19937_64>
  head::LossValue<T> loss_and_gradient(std::span<const TrainingSequence> batch, const head::LossOptions<T>& options,
                                       Workspace& workspace, Rng* rng = nullptr) const {
    return causal_lm_loss_and_gradient(backbone_, encoding_, head_, num_, batch, options, workspace, rng);
  }
  /// The loss of `batch` alone.
  template <class Rng = std::mt19937_64>
  head::LossValue<T> loss(std::span<const TrainingSequence> batch, const head::LossOptions<T>& options,
                          Rng* rng = nullptr) const {
    return causal_lm_loss(backbone_, encoding_, head_, num_, batch, options, rng);
  }

  /// Training text of `documents`, packed into sequences of `sequence_length` tokens.
  SequenceSet pack(std::span<const std::string> documents, std::size_t sequence_length) const {
    return pack_documents(tokenizer_, num_, documents, sequence_length);
  }

 private:
  TrainableCausalLM(std::string tokenizer_json, Tokenizer tokenizer, Qwen2Parameters<T> base, head_type head, E encoding,
                    B backend)
      : tokenizer_json_(std::move(tokenizer_json)),
        tokenizer_(std::move(tokenizer)),
        num_(num_token_id(tokenizer_)),
        backbone_(std::move(base), std::move(backend)),
        encoding_(std::move(encoding)),
        head_(std::move(head)) {
    require(num_ < backbone_.vocab_size(), "TrainableCausalLM: the embedding has ", backbone_.vocab_size(),
            " rows; the tokenizer with <NUM> needs ", std::int64_t(num_) + 1);
    require(head_.hidden_size() == backbone_.hidden_size() && head_.classes() == std::size_t(num_) + 1,
            "TrainableCausalLM: the head has H = ", head_.hidden_size(), " and K+1 = ", head_.classes(),
            "; the model needs H = ", backbone_.hidden_size(), " and K+1 = ", std::int64_t(num_) + 1);
    require(std::size_t(encoding_.num_embedding().size()) == backbone_.hidden_size(),
            "TrainableCausalLM: the <NUM> encoding has width ", encoding_.num_embedding().size(), ", the backbone H = ",
            backbone_.hidden_size());
  }

  static void append_row(RowMatrix<T>& m, const RowVector<T>& row) {
    m.conservativeResize(m.rows() + 1, Eigen::NoChange);
    m.row(m.rows() - 1) = row;
  }

  std::string tokenizer_json_;
  Tokenizer tokenizer_;
  TokenId num_;
  backbone_type backbone_;
  E encoding_;
  head_type head_;
};

}  // namespace causalqwen::model
