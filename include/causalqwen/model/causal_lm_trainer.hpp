#pragma once
// End-to-end training of a TrainableCausalLM on packed text, on the library's training loop
// (train::run): AdamW with decoupled weight decay, warm-up + cosine schedule and clipping, the
// parts that train chosen by name, gradient accumulation, evaluation on held-out sequences,
// checkpoints a killed run resumes from bit for bit, and data parallelism over a Communicator.
//
// One optimiser step. The global batch (batch_size sequences drawn by the step's generator, the
// same on every rank) is shared out: rank r takes a contiguous share (train::share_of) and runs it
// in micro-batches. Each micro-batch's gradient is the mean over its counted targets; weighted
// by that count and summed over micro-batches and ranks, then divided by the global count, it is
// the gradient of the mean over the whole batch — the same step whatever the number of ranks and
// micro-batches, up to the order of floating-point sums.
//
// Checkpoints. <checkpoint>/ is a model directory (TrainableCausalLM::save, F32 master weights)
// plus optimizer.safetensors (AdamW's moments, the step reached and the hash of the parameters
// they belong to). It is written as <checkpoint>.tmp/ and then renamed into place, the previous
// one kept as <checkpoint>.old/ until the rename is done, so a kill at any moment leaves one
// complete checkpoint. Because every step's batch and draws are a function of (seed, step)
// (train::BatchSampler), a resumed run continues exactly as the uninterrupted one.

#include <causalqwen/core/error.hpp>
#include <causalqwen/head/loss.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/model/trainable_causal_lm.hpp>
#include <causalqwen/model/training_text.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/communicator.hpp>
#include <causalqwen/train/loop.hpp>
#include <causalqwen/train/training_checkpoint.hpp>
#include <causalqwen/train/training_log.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::model {

/// Which parameters a run trains. Everything else keeps its value (and its optimiser moments).
struct TrainedParts {
  std::vector<std::string> frozen;        ///< block-name prefixes that do not move ("backbone.", "head.action.")
  std::int64_t first_trained_layer = 0;   ///< backbone layers below this one do not move

  /// "all" | "head" (head and <NUM> encoding) | "abduction" (the head's abduction only) |
  /// "last:N" (the last N of `layers` backbone layers, the final norm, encoding and head).
  /// A separate lm_head never moves: the causal head, not lm_head, reads the hidden state.
  static TrainedParts parse(std::string_view spec, std::int64_t layers) {
    TrainedParts parts;
    parts.frozen.push_back("backbone.lm_head");
    if (spec == "all") return parts;
    if (spec == "head") {
      parts.frozen.push_back("backbone.");
      return parts;
    }
    if (spec == "abduction") {
      parts.frozen.insert(parts.frozen.end(), {"backbone.", "encoding.", "head.action.", "head.noise."});
      return parts;
    }
    if (spec.starts_with("last:")) {
      std::int64_t n = -1;
      const std::string_view count = spec.substr(5);
      const auto [end, code] = std::from_chars(count.data(), count.data() + count.size(), n);
      require(code == std::errc{} && end == count.data() + count.size() && n >= 0 && n <= layers, "trained parts '",
              spec, "': N must be a whole number from 0 to the model's ", layers, " layers");
      parts.frozen.push_back("backbone.embed_tokens");
      parts.first_trained_layer = layers - n;
      return parts;
    }
    fail("trained parts '", spec, "': expected all, head, abduction or last:N");
  }
};

template <Real T>
struct CausalTrainingOptions {
  std::size_t steps = 100;
  std::size_t batch_size = 8;   ///< sequences per optimiser step, over all ranks
  std::size_t micro_batch = 0;  ///< sequences per forward/backward pass (gradient accumulation); 0: a rank's whole share
  std::uint64_t seed = 0;
  train::AdamWOptions<T> optimizer{};
  head::LossOptions<T> loss{};
  TrainedParts parts{};
  std::size_t evaluate_every = 0;            ///< validation loss every this many steps and at the end (0: never)
  std::size_t validation_sequences = 64;     ///< the first this many validation sequences are evaluated
  std::size_t checkpoint_every = 0;          ///< 0: a checkpoint at the end only (when `checkpoint` is set)
  std::filesystem::path checkpoint = {};     ///< empty: no checkpoints
  bool resume = false;                       ///< continue from `checkpoint` when it exists
  bool progress = false;                     ///< progress bar on stderr (rank 0)
  std::filesystem::path csv_log = {};        ///< per-step CSV (rank 0), rewritten atomically
};

/// The checkpoint a run would resume from: <checkpoint>, or <checkpoint>.old when a kill came
/// between the two renames of a save; empty when there is none.
inline std::filesystem::path resumable_checkpoint(const std::filesystem::path& checkpoint) {
  if (std::filesystem::exists(checkpoint / "optimizer.safetensors")) return checkpoint;
  const std::filesystem::path old = checkpoint.string() + ".old";
  if (std::filesystem::exists(old / "optimizer.safetensors")) return old;
  return {};
}

namespace training {
/// The rows of layers [0, first) of every stacked per-layer block ("layers.*") of the backbone.
template <Real T, class F>
void for_each_frozen_layer_slice(Qwen2Parameters<T>& p, std::int64_t first, F&& f) {
  if (first <= 0) return;
  const std::int64_t layers = p.config.num_hidden_layers;
  head::for_each_block(p, [&](const std::string& name, auto& block) {
    if (name.starts_with("layers.") && block.size() > 0) f(block.topRows(block.rows() / layers * first));
  });
}
}  // namespace training

/// The state of a training run around a model: the optimiser, the gradient buffer, the parts
/// that train, the communicator. step() is one optimiser step on a global batch; train_causal_lm
/// drives it on the training loop, and a caller with a loop of its own can too.
template <class Model, train::Communicator C = train::SingleProcess>
class CausalLMTrainer {
 public:
  using T = typename Model::scalar_type;
  using Parameters = typename Model::Parameters;

  /// A run of `model` with `options`; with options.resume and a checkpoint on disk, the model is
  /// replaced by the checkpoint's and the run continues from its step (resumed_step()).
  CausalLMTrainer(Model& model, const CausalTrainingOptions<T>& options, C communicator = C{})
      : model_(model), options_(options), communicator_(std::move(communicator)) {
    require(options_.batch_size >= std::size_t(communicator_.size()), "train_causal_lm: a batch of ",
            options_.batch_size, " sequences cannot be shared by ", communicator_.size(), " ranks");
    std::filesystem::path resume_from;
    if (options_.resume && !options_.checkpoint.empty()) resume_from = resumable_checkpoint(options_.checkpoint);
    if (!resume_from.empty()) {
      const bool recompute = model_.backbone().recompute_activations();
      model_ = Model::load(resume_from, model_.backend());
      model_.set_recompute_activations(recompute);
    }
    const std::int64_t layers = model_.backbone().config().num_hidden_layers;
    require(options_.parts.first_trained_layer >= 0 && options_.parts.first_trained_layer <= layers,
            "train_causal_lm: the first trained layer ", options_.parts.first_trained_layer, " is outside [0, ", layers,
            "]");
    Parameters all = model_.parameters();
    optimizer_.emplace(all, options_.optimizer);
    for (const std::string& prefix : options_.parts.frozen) optimizer_->freeze(prefix);
    if (!resume_from.empty())
      resumed_step_ = train::load_optimizer_state(*optimizer_, train::parameter_hash(all),
                                                  resume_from / "optimizer.safetensors", resume_from.string());
    gradient_ = head::zeros_like(all);
    workspace_.emplace(model_.workspace());
  }

  std::size_t resumed_step() const { return resumed_step_; }
  const train::AdamW<Parameters>& optimizer() const { return *optimizer_; }
  C& communicator() { return communicator_; }

  /// One optimiser step on the global batch `batch` (the same on every rank; this rank computes
  /// its share). Noise of random inference modes is drawn from `rng`.
  train::TrainingRecord step(std::span<const TrainingSequence> batch, train::StepGenerator& rng) {
    const auto share = train::share_of(batch.size(), communicator_.rank(), communicator_.size());
    head::for_each_block(gradient_, [](const std::string&, auto& block) { block.setZero(); });
    std::array<T, 4> sums{};  // total, classification, regression (each weighted by targets), targets
    for_each_micro_batch(batch.subspan(share.begin, share.end - share.begin), [&](std::span<const TrainingSequence> chunk) {
      const auto loss = model_.loss_and_gradient(chunk, options_.loss, *workspace_, &rng);
      const T weight = T(loss.positions);
      head::for_each_block_pair(gradient_, workspace_->gradients,
                                [weight](const std::string&, auto& g, const auto& part) { g += weight * part; });
      sums[0] += weight * loss.total;
      sums[1] += weight * loss.classification;
      sums[2] += weight * loss.regression;
      sums[3] += weight;
    });
    train::sum_over_ranks(communicator_, gradient_);
    communicator_.sum(std::span<T>(sums));
    require(sums[3] > 0, "train_causal_lm: a batch of ", batch.size(), " sequences has no counted target");
    head::for_each_block(gradient_, [scale = T(1) / sums[3]](const std::string&, auto& block) { block *= scale; });
    const std::int64_t first = options_.parts.first_trained_layer;
    training::for_each_frozen_layer_slice(gradient_.backbone, first, [](auto rows) { rows.setZero(); });
    train::StepInfo<T> info{};
    model_.update([&](Parameters& p) {
      frozen_rows_.clear();
      training::for_each_frozen_layer_slice(p.backbone, first, [&](auto rows) { frozen_rows_.emplace_back(rows); });
      info = optimizer_->step(p, gradient_);
      std::size_t i = 0;
      training::for_each_frozen_layer_slice(p.backbone, first, [&](auto rows) { rows = frozen_rows_[i++]; });
    });
    train::TrainingRecord r;
    r.loss = double(sums[0] / sums[3]);
    r.classification = double(sums[1] / sums[3]);
    r.regression = double(sums[2] / sums[3]);
    r.accuracy = std::numeric_limits<double>::quiet_NaN();  // not measured by the training step
    r.gradient_norm = double(info.gradient_norm);
    r.learning_rate = double(info.learning_rate);
    r.positions = static_cast<std::size_t>(sums[3]);
    return r;
  }

  /// The mean loss over the first options.validation_sequences of `validation` (shared by the
  /// ranks), with the same draws every time so that a curve shows the model change, not noise.
  double evaluate(const SequenceSet& validation) {
    const std::size_t count = std::min(options_.validation_sequences, validation.size());
    const auto share = train::share_of(count, communicator_.rank(), communicator_.size());
    train::StepGenerator rng(options_.seed ^ 0x9e3779b97f4a7c15ULL);
    std::array<T, 2> sums{};
    for_each_micro_batch(std::span<const TrainingSequence>(validation.sequences).subspan(share.begin, share.end - share.begin),
                         [&](std::span<const TrainingSequence> chunk) {
                           const auto value = model_.loss(chunk, options_.loss, &rng);
                           sums[0] += T(value.positions) * value.total;
                           sums[1] += T(value.positions);
                         });
    communicator_.sum(std::span<T>(sums));
    return sums[1] > 0 ? double(sums[0] / sums[1]) : std::numeric_limits<double>::quiet_NaN();
  }

  /// Writes options.checkpoint (see the file comment) on rank 0; every rank waits for it.
  void save_checkpoint(std::size_t reached) {
    if (communicator_.rank() == 0) {
      namespace fs = std::filesystem;
      const fs::path& target = options_.checkpoint;
      const fs::path staging = target.string() + ".tmp", old = target.string() + ".old";
      // A directory is removed file by file, so a kill inside remove_all(<checkpoint>.old) would
      // leave a partial one that looks resumable; it is renamed out of the way first (atomic).
      const auto discard = [&](const fs::path& dir) {
        const fs::path doomed = target.string() + ".discarded";
        fs::remove_all(doomed);
        if (fs::exists(dir)) fs::rename(dir, doomed);
        fs::remove_all(doomed);
      };
      fs::remove_all(staging);
      model_.save(staging);
      train::save_optimizer_state(*optimizer_, reached, train::parameter_hash(model_.parameters()),
                                  staging / "optimizer.safetensors");
      // Without <checkpoint>, <checkpoint>.old is the last whole checkpoint (a kill came between
      // the renames, and this run resumed from it): it stays until the new one has its name.
      if (fs::exists(target)) {
        discard(old);
        fs::rename(target, old);
      }
      fs::rename(staging, target);
      discard(old);
    }
    communicator_.barrier();
  }

 private:
  /// Calls f on each micro-batch of `sequences` that has a counted target.
  template <class F>
  void for_each_micro_batch(std::span<const TrainingSequence> sequences, F&& f) const {
    const std::size_t micro = options_.micro_batch > 0 ? options_.micro_batch : std::max<std::size_t>(sequences.size(), 1);
    for (std::size_t begin = 0; begin < sequences.size(); begin += micro) {
      const auto chunk = sequences.subspan(begin, std::min(micro, sequences.size() - begin));
      std::size_t targets = 0;
      for (const TrainingSequence& s : chunk) targets += s.targets();
      if (targets > 0) f(chunk);
    }
  }

  Model& model_;
  CausalTrainingOptions<T> options_;
  C communicator_;
  std::optional<train::AdamW<Parameters>> optimizer_;
  Parameters gradient_;
  std::optional<typename Model::Workspace> workspace_;
  std::vector<RowMatrix<T>> frozen_rows_;
  std::size_t resumed_step_ = 0;
};

/// Trains `model` on `data` (evaluating on `validation` when options.evaluate_every is set) for
/// options.steps optimiser steps, continuing from options.checkpoint when options.resume is set
/// and a checkpoint exists (the model is then replaced by the checkpoint's). Every rank of
/// `communicator` calls this with the same data and options.
template <class Model, train::Communicator C = train::SingleProcess>
train::TrainingReport train_causal_lm(Model& model, const SequenceSet& data, const SequenceSet& validation,
                                      const CausalTrainingOptions<typename Model::scalar_type>& options,
                                      C communicator = C{}) {
  require(data.size() > 0, "train_causal_lm: no training sequences");
  require(options.evaluate_every == 0 || validation.size() > 0,
          "train_causal_lm: evaluation is asked for but there are no validation sequences");
  require(options.checkpoint_every == 0 || !options.checkpoint.empty(),
          "train_causal_lm: checkpoint_every is set but no checkpoint directory is named");
  const bool lead = communicator.rank() == 0;
  CausalLMTrainer<Model, C> trainer(model, options, std::move(communicator));

  train::LoopHooks hooks;
  if (options.evaluate_every > 0) hooks.evaluate = [&] { return trainer.evaluate(validation); };
  if (!options.checkpoint.empty()) hooks.checkpoint = [&](std::size_t reached) { trainer.save_checkpoint(reached); };
  train::LoopOptions loop;
  loop.steps = options.steps;
  loop.start_step = std::min(trainer.resumed_step(), options.steps);
  loop.batch_size = options.batch_size;
  loop.seed = options.seed;
  loop.checkpoint_every = options.checkpoint.empty() ? 0 : options.checkpoint_every;
  loop.evaluate_every = options.evaluate_every;
  loop.progress = options.progress && lead;
  loop.progress_unit = "tokens";
  if (lead) loop.csv_log = options.csv_log;
  return train::run(
      data, loop,
      [&](const train::Minibatch<SequenceSet>& batch, train::StepGenerator& rng) {
        return trainer.step(batch.data.sequences, rng);
      },
      hooks);
}

}  // namespace causalqwen::model
