#pragma once
// The loss of the whole causal language model on a batch of token sequences, and the gradient of
// every parameter: the Qwen2 backbone, the <NUM> value encoding and the causal head.
//
// Each sequence is next-token prediction: position t (0 .. L-2) reads tokens 0..t and its target
// is token t+1 (class <NUM> with its value when that token is <NUM>). A <NUM> input position's
// embedding is the encoding's e(value), as in CausalLM. The head's loss (OvR BCE + gated Cauchy
// NLL at <NUM> targets, CausalHead::loss_and_gradient) is taken once over the positions of the
// whole batch, so it is the mean over all of them; dL/dh is then carried back through the
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
#include <causalqwen/model/value_encoding.hpp>
#include <causalqwen/tokenizer/numbers.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace causalqwen::model {

template <Real T, class EncodingParams>
struct CausalLMGradients {
  Qwen2Parameters<T> backbone;
  EncodingParams encoding;
  head::HeadParams<T> head;
};

template <Real T, class EncodingParams>
struct CausalLMLoss {
  head::LossValue<T> loss;
  CausalLMGradients<T, EncodingParams> gradients;
};

/// L on `batch` (every sequence at least 2 tokens, ids in [0, num], values finite at <NUM>
/// positions) and dL/d(every parameter). `num` is the <NUM> id and class; it must have a row in the
/// backbone's table (CausalLM::from_base appends one). Random noise modes draw from `rng`.
template <Backend B, head::ScaleLinkPolicy Link, head::ThresholdPolicy Thresholds, TrainableValueEncoding E,
          class Rng = std::mt19937_64>
  requires std::same_as<typename B::scalar_type, typename E::scalar_type>
CausalLMLoss<typename B::scalar_type, typename E::params_type> causal_lm_loss_and_gradient(
    const TrainableQwen2<B>& backbone, const E& encoding,
    const head::CausalHead<typename B::scalar_type, Link, Thresholds>& causal_head, TokenId num,
    std::span<const NumberedText> batch, const head::LossOptions<typename B::scalar_type>& options,
    Rng* rng = nullptr) {
  using T = typename B::scalar_type;
  const auto hidden_size = static_cast<Eigen::Index>(backbone.hidden_size());
  require(num >= 0 && num < backbone.vocab_size(), "causal_lm_loss_and_gradient: <NUM> id ", num,
          " has no row in the backbone's embedding table of ", backbone.vocab_size());
  require(causal_head.hidden_size() == backbone.hidden_size() && causal_head.classes() == std::size_t(num) + 1,
          "causal_lm_loss_and_gradient: the head has H = ", causal_head.hidden_size(), " and K+1 = ",
          causal_head.classes(), "; the model needs H = ", backbone.hidden_size(), " and K+1 = ", std::int64_t(num) + 1);
  require(!batch.empty(), "causal_lm_loss_and_gradient: empty batch");

  std::vector<typename TrainableQwen2<B>::Tape> tapes;
  std::size_t positions = 0;
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const NumberedText& sequence = batch[s];
    require(sequence.ids.size() >= 2 && sequence.values.size() == sequence.ids.size(), "causal_lm_loss_and_gradient: ",
            "sequence ", s, " has ", sequence.ids.size(), " ids and ", sequence.values.size(),
            " values; at least 2 ids and one value per id are needed");
    for (std::size_t t = 0; t < sequence.ids.size(); ++t)
      require(sequence.ids[t] >= 0 && sequence.ids[t] <= num, "causal_lm_loss_and_gradient: sequence ", s,
              ", position ", t, ": id ", sequence.ids[t], " outside [0, ", num, "]");
    positions += sequence.ids.size() - 1;
  }

  RowMatrix<T> hidden(static_cast<Eigen::Index>(positions), hidden_size);
  head::Targets<T> targets;
  targets.values = Vector<T>::Zero(static_cast<Eigen::Index>(positions));
  Eigen::Index row = 0;
  for (const NumberedText& sequence : batch) {
    RowMatrix<T> embeddings = backbone.embeddings(sequence.ids);
    for (std::size_t t = 0; t < sequence.ids.size(); ++t)
      if (sequence.ids[t] == num) embeddings.row(static_cast<Eigen::Index>(t)) = encoding.encode(sequence.values[t]);
    tapes.push_back(backbone.forward(embeddings));
    const auto predicted = static_cast<Eigen::Index>(sequence.ids.size() - 1);
    hidden.middleRows(row, predicted) = backbone.hidden(tapes.back()).topRows(predicted);
    for (std::size_t t = 1; t < sequence.ids.size(); ++t) {
      targets.classes.push_back(sequence.ids[t]);
      if (sequence.ids[t] == num) targets.values(row + static_cast<Eigen::Index>(t) - 1) = T(sequence.values[t]);
    }
    row += predicted;
  }

  auto [loss, head_gradient] = causal_head.loss_and_gradient(hidden, targets, options, rng);
  auto backbone_gradients = backbone.zero_gradients();
  auto encoding_gradient = head::zeros_like(encoding.params());
  row = 0;
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const NumberedText& sequence = batch[s];
    const auto predicted = static_cast<Eigen::Index>(sequence.ids.size() - 1);
    RowMatrix<T> d_hidden = RowMatrix<T>::Zero(predicted + 1, hidden_size);  // the last position has no target
    d_hidden.topRows(predicted) = head_gradient.hidden.middleRows(row, predicted);
    RowMatrix<T> d_embeddings = backbone.backward(tapes[s], d_hidden, backbone_gradients);
    for (std::size_t t = 0; t < sequence.ids.size(); ++t) {
      if (sequence.ids[t] != num) continue;
      encoding.backward(sequence.values[t], d_embeddings.row(static_cast<Eigen::Index>(t)), encoding_gradient);
      d_embeddings.row(static_cast<Eigen::Index>(t)).setZero();
    }
    backbone.embeddings_backward(sequence.ids, d_embeddings, backbone_gradients);
    row += predicted;
  }
  return {loss,
          {backbone.gradients(backbone_gradients), std::move(encoding_gradient), std::move(head_gradient.params)}};
}

}  // namespace causalqwen::model
