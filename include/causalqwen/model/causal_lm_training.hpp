#pragma once
// The loss of the whole causal language model on a batch of token sequences, and the gradient of
// every parameter: the Qwen2 backbone, the <NUM> value encoding and the causal head.
//
// Each sequence is next-token prediction: position t (0 .. L-2) reads tokens 0..t and its target
// is token t+1 (class <NUM> with its value when that token is <NUM>), unless the sequence marks
// that target ignored (a document boundary of packed text). A <NUM> input position's
// embedding is the encoding's e(value), as in CausalLM. The head's loss (OvR BCE + gated Cauchy
// NLL at <NUM> targets, CausalHead::loss_and_gradient) is taken once over the positions of the
// whole batch, so it is the mean over its counted positions; dL/dh is then carried back through the
// backbone sequence by sequence. The gradient at a <NUM> input row goes to the encoding, never to
// the embedding table (the table's <NUM> row is not read).

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/targets.hpp>
#include <causalqwen/model/training_text.hpp>
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/numbers.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

namespace causalqwen::model {

/// Every trainable parameter of the causal language model (also the type of their gradient), one
/// head::ParameterSet whose block names say the part: "backbone.layers.qkv", "encoding.w_num",
/// "head.abduction.weight", ... — so one AdamW steps, clips and freezes (by prefix) all of them.
template <Real T, head::ParameterSet EncodingParams>
struct CausalLMParameters {
  using scalar_type = T;
  Qwen2Parameters<T> backbone;
  EncodingParams encoding;
  head::HeadParams<T> head;

  auto blocks() { return std::tuple_cat(backbone.blocks(), encoding.blocks(), head.blocks()); }
  auto blocks() const { return std::tuple_cat(backbone.blocks(), encoding.blocks(), head.blocks()); }
  static std::vector<std::string> block_names() {
    std::vector<std::string> names;
    for (const auto& n : Qwen2Parameters<T>::block_names()) names.push_back("backbone." + n);
    for (const auto& n : EncodingParams::block_names()) names.push_back("encoding." + n);
    for (const auto& n : head::HeadParams<T>::block_names()) names.push_back("head." + n);
    return names;
  }
};

template <Real T, class EncodingParams>
struct CausalLMLoss {
  head::LossValue<T> loss;  ///< loss.positions: the targets counted
  CausalLMParameters<T, EncodingParams> gradients;
};

/// The forward pass of a batch through backbone and encoding: the taped sequences, the hidden
/// states of every next-token position of the batch in order, and their targets.
template <Backend B>
struct CausalLMForward {
  std::vector<typename TrainableQwen2<B>::Tape> tapes;
  RowMatrix<typename B::scalar_type> hidden;
  head::Targets<typename B::scalar_type> targets;
};

/// Runs `batch` (every sequence at least 2 tokens, ids in [0, num], values finite at <NUM>
/// positions, at least one counted target in the batch) for a head of `classes` = num + 1 classes
/// over H = the backbone's hidden size. `num` is the <NUM> id and class; it must have a row in the
/// backbone's table (CausalLM::from_base appends one).
template <Backend B, TrainableValueEncoding E>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
CausalLMForward<B> causal_lm_forward(const TrainableQwen2<B>& backbone, const E& encoding, std::size_t head_hidden,
                                     std::size_t head_classes, TokenId num, std::span<const TrainingSequence> batch) {
  using T = typename B::scalar_type;
  const auto hidden_size = static_cast<Eigen::Index>(backbone.hidden_size());
  require(num >= 0 && num < backbone.vocab_size(), "causal_lm_loss_and_gradient: <NUM> id ", num,
          " has no row in the backbone's embedding table of ", backbone.vocab_size());
  require(head_hidden == backbone.hidden_size() && head_classes == std::size_t(num) + 1,
          "causal_lm_loss_and_gradient: the head has H = ", head_hidden, " and K+1 = ", head_classes,
          "; the model needs H = ", backbone.hidden_size(), " and K+1 = ", std::int64_t(num) + 1);
  require(!batch.empty(), "causal_lm_loss_and_gradient: empty batch");

  std::size_t positions = 0;
  std::size_t counted = 0;
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const TrainingSequence& sequence = batch[s];
    require(sequence.ids.size() >= 2 && sequence.values.size() == sequence.ids.size() &&
                (sequence.ignore.empty() || sequence.ignore.size() == sequence.ids.size() - 1),
            "causal_lm_loss_and_gradient: sequence ", s, " has ", sequence.ids.size(), " ids, ",
            sequence.values.size(), " values and ", sequence.ignore.size(),
            " ignore flags; at least 2 ids, one value per id and none or one flag per target are needed");
    counted += sequence.targets();
    for (std::size_t t = 0; t < sequence.ids.size(); ++t)
      require(sequence.ids[t] >= 0 && sequence.ids[t] <= num, "causal_lm_loss_and_gradient: sequence ", s,
              ", position ", t, ": id ", sequence.ids[t], " outside [0, ", num, "]");
    positions += sequence.ids.size() - 1;
  }
  require(counted > 0, "causal_lm_loss_and_gradient: every target of the batch is ignored");

  CausalLMForward<B> out;
  out.hidden.resize(static_cast<Eigen::Index>(positions), hidden_size);
  out.targets.values = Vector<T>::Zero(static_cast<Eigen::Index>(positions));
  out.targets.ignore.reserve(positions);
  Eigen::Index row = 0;
  for (const TrainingSequence& sequence : batch) {
    RowMatrix<T> embeddings = backbone.embeddings(sequence.ids);
    for (std::size_t t = 0; t < sequence.ids.size(); ++t)
      if (sequence.ids[t] == num) embeddings.row(static_cast<Eigen::Index>(t)) = encoding.encode(sequence.values[t]);
    out.tapes.push_back(backbone.forward(embeddings));
    const auto predicted = static_cast<Eigen::Index>(sequence.ids.size() - 1);
    out.hidden.middleRows(row, predicted) = backbone.hidden(out.tapes.back()).topRows(predicted);
    for (std::size_t t = 1; t < sequence.ids.size(); ++t) {
      out.targets.classes.push_back(sequence.ids[t]);
      out.targets.ignore.push_back(sequence.ignored(t - 1) ? 1 : 0);
      if (sequence.ids[t] == num) out.targets.values(row + static_cast<Eigen::Index>(t) - 1) = T(sequence.values[t]);
    }
    row += predicted;
  }
  return out;
}

/// Carries dL/dh of the batch's next-token positions (`d_hidden`, rows in causal_lm_forward's
/// order) back through the backbone, sequence by sequence: the backbone's gradient is added into
/// `backbone_gradients`, and the gradient at each <NUM> input row goes to the encoding
/// (`encoding_gradient`, overwritten), not to the embedding table.
template <Backend B, TrainableValueEncoding E>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
void causal_lm_backward(const TrainableQwen2<B>& backbone, const E& encoding, TokenId num,
                        std::span<const TrainingSequence> batch, std::span<const typename TrainableQwen2<B>::Tape> tapes,
                        const RowMatrix<typename B::scalar_type>& d_hidden, Qwen2Gradients<B>& backbone_gradients,
                        typename E::params_type& encoding_gradient) {
  using T = typename B::scalar_type;
  require(tapes.size() == batch.size(), "causal_lm_backward: ", tapes.size(), " tapes for ", batch.size(), " sequences");
  head::for_each_block(encoding_gradient, [](const std::string&, auto& block) { block.setZero(); });
  Eigen::Index row = 0;
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const TrainingSequence& sequence = batch[s];
    const auto predicted = static_cast<Eigen::Index>(sequence.ids.size() - 1);
    require(row + predicted <= d_hidden.rows(), "causal_lm_backward: dL/dh has ", d_hidden.rows(),
            " rows; the batch predicts more positions");
    RowMatrix<T> d_sequence = RowMatrix<T>::Zero(predicted + 1, d_hidden.cols());  // the last position has no target
    d_sequence.topRows(predicted) = d_hidden.middleRows(row, predicted);
    RowMatrix<T> d_embeddings = backbone.backward(tapes[s], d_sequence, backbone_gradients);
    for (std::size_t t = 0; t < sequence.ids.size(); ++t) {
      if (sequence.ids[t] != num) continue;
      encoding.backward(sequence.values[t], d_embeddings.row(static_cast<Eigen::Index>(t)), encoding_gradient);
      d_embeddings.row(static_cast<Eigen::Index>(t)).setZero();
    }
    backbone.embeddings_backward(sequence.ids, d_embeddings, backbone_gradients);
    row += predicted;
  }
  require(row == d_hidden.rows(), "causal_lm_backward: dL/dh has ", d_hidden.rows(), " rows for ", row,
          " predicted positions");
}

/// What a training step reuses from one call to the next: the backend's gradient accumulator
/// and the host gradients (the size of the model each), so that steps do not allocate them.
template <Backend B, class EncodingParams>
struct CausalLMWorkspace {
  Qwen2Gradients<B> backbone;
  CausalLMParameters<typename B::scalar_type, EncodingParams> gradients;
  head::HeadWorkspace<typename B::scalar_type> head;  ///< the head's laws and upstream gradients
};

/// A workspace of the shapes of `backbone`, `encoding` and `causal_head`.
template <Backend B, TrainableValueEncoding E, class Head>
CausalLMWorkspace<B, typename E::params_type> causal_lm_workspace(const TrainableQwen2<B>& backbone, const E& encoding,
                                                                  const Head& causal_head) {
  return {backbone.zero_gradients(),
          {Qwen2Parameters<typename B::scalar_type>::zeros(backbone.config(), backbone.vocab_size()),
           head::zeros_like(encoding.params()), head::zeros_like(causal_head.params())},
          {}};
}

/// L on `batch` (as causal_lm_forward); dL/d(every parameter) is left in workspace.gradients
/// (overwritten). Random noise modes draw from `rng`.
template <Backend B, head::ScaleLinkPolicy Link, head::ThresholdPolicy Thresholds, Backend HeadBackend,
          TrainableValueEncoding E, class Rng = std::mt19937_64>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
head::LossValue<typename B::scalar_type> causal_lm_loss_and_gradient(
    const TrainableQwen2<B>& backbone, const E& encoding,
    const head::CausalHead<typename B::scalar_type, Link, Thresholds, HeadBackend>& causal_head, TokenId num,
    std::span<const TrainingSequence> batch, const head::LossOptions<typename B::scalar_type>& options,
    CausalLMWorkspace<B, typename E::params_type>& workspace, Rng* rng = nullptr) {
  auto [tapes, hidden, targets] =
      causal_lm_forward(backbone, encoding, causal_head.hidden_size(), causal_head.classes(), num, batch);
  // The head writes its gradient into the previous step's buffers (moved in and out, not copied).
  auto& head_gradient = workspace.head.gradient;
  head_gradient.params = std::move(workspace.gradients.head);
  const auto loss = causal_head.loss_and_gradient(hidden, targets, options, workspace.head, rng);
  workspace.gradients.head = std::move(head_gradient.params);
  backbone.reset_gradients(workspace.backbone);
  causal_lm_backward(backbone, encoding, num, batch, tapes, head_gradient.hidden, workspace.backbone,
                     workspace.gradients.encoding);
  backbone.gradients(workspace.backbone, workspace.gradients.backbone);
  return loss;
}

/// The same, returning the gradients (a fresh workspace per call).
template <Backend B, head::ScaleLinkPolicy Link, head::ThresholdPolicy Thresholds, Backend HeadBackend,
          TrainableValueEncoding E, class Rng = std::mt19937_64>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
CausalLMLoss<typename B::scalar_type, typename E::params_type> causal_lm_loss_and_gradient(
    const TrainableQwen2<B>& backbone, const E& encoding,
    const head::CausalHead<typename B::scalar_type, Link, Thresholds, HeadBackend>& causal_head, TokenId num,
    std::span<const TrainingSequence> batch, const head::LossOptions<typename B::scalar_type>& options,
    Rng* rng = nullptr) {
  auto workspace = causal_lm_workspace(backbone, encoding, causal_head);
  const auto loss = causal_lm_loss_and_gradient(backbone, encoding, causal_head, num, batch, options, workspace, rng);
  return {loss, std::move(workspace.gradients)};
}

/// L on `batch` alone (no backward): what evaluation on held-out text needs.
template <Backend B, head::ScaleLinkPolicy Link, head::ThresholdPolicy Thresholds, Backend HeadBackend,
          TrainableValueEncoding E, class Rng = std::mt19937_64>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
head::LossValue<typename B::scalar_type> causal_lm_loss(
    const TrainableQwen2<B>& backbone, const E& encoding,
    const head::CausalHead<typename B::scalar_type, Link, Thresholds, HeadBackend>& causal_head, TokenId num,
    std::span<const TrainingSequence> batch, const head::LossOptions<typename B::scalar_type>& options,
    Rng* rng = nullptr) {
  const auto forward = causal_lm_forward(backbone, encoding, causal_head.hidden_size(), causal_head.classes(), num, batch);
  return causal_head.loss(forward.hidden, forward.targets, options, rng);
}

}  // namespace causalqwen::model
