#pragma once
// Training a causal head on cached hidden states (the backbone is frozen): the one training loop
// (loop.hpp) with the head's step — forward in the head's noise mode, the gated loss, analytic
// gradients, AdamW with its clipping, schedule and frozen blocks. Every `checkpoint_every` steps
// and at the end the head and the optimizer's state are written (training_checkpoint.hpp); with
// `resume` set a run continues from those files and reproduces, bit for bit, what the
// uninterrupted run would have computed.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/dataset.hpp>
#include <causalqwen/train/loop.hpp>
#include <causalqwen/train/training_checkpoint.hpp>
#include <causalqwen/train/training_log.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct HeadTrainingOptions {
  std::size_t steps = 200;                ///< the run's length in optimiser steps (a resumed run included)
  std::size_t epochs = 0;                 ///< > 0: the length is epochs * ceil(N / batch_size) steps instead
  std::size_t batch_size = 64;
  AdamWOptions<T> optimizer{};
  head::LossOptions<T> loss{};
  std::vector<std::string> frozen = {};   ///< block-name prefixes not trained ("action.", "abduction.", "noise.")
  std::uint64_t seed = 0;
  bool progress = false;                  ///< progress bar on stderr
  std::string progress_unit = "samples";  ///< what a position is called on the bar ("tokens" for text)
  std::filesystem::path checkpoint = {};  ///< empty: no checkpoints
  std::size_t checkpoint_every = 0;       ///< 0: only at the end
  bool resume = false;                    ///< continue from the checkpoint when its files exist
  std::filesystem::path csv_log = {};     ///< empty: no log (rewritten at every checkpoint and at the end)
  std::size_t evaluate_every = 0;         ///< held-out loss every this many steps and at the end (0: never)
};

/// One optimiser step of `head` on `batch` in the head's noise mode; fills the loss, accuracy (of
/// the batch, before the update), gradient-norm, learning-rate and position fields of the record.
template <class Head>
TrainingRecord train_step(Head& head, AdamW<typename Head::params_type>& optimizer,
                          const Dataset<typename Head::scalar_type>& batch,
                          const head::LossOptions<typename Head::scalar_type>& loss_options,
                          head::HeadWorkspace<typename Head::scalar_type>& workspace, StepGenerator& rng) {
  using T = typename Head::scalar_type;
  const auto loss = head.loss_and_gradient(batch.hidden, batch.targets, loss_options, workspace, &rng);
  StepInfo<T> info{};
  head.update_params([&](typename Head::params_type& p) { info = optimizer.step(p, workspace.gradient.params); });

  const auto decisions = head.decide(workspace.forward.action);
  std::size_t correct = 0, counted = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch.targets.ignored(i)) continue;
    ++counted;
    correct += decisions.classes[i] == batch.targets.classes[i] ? 1 : 0;
  }
  TrainingRecord r;
  r.loss = double(loss.total);
  r.classification = double(loss.classification);
  r.regression = double(loss.regression);
  r.accuracy = counted ? double(correct) / double(counted) : 0.0;
  r.gradient_norm = double(info.gradient_norm);
  r.learning_rate = double(info.learning_rate);
  r.positions = counted;
  return r;
}

namespace detail {
template <class Head>
TrainingReport train_head(Head& head, const Dataset<typename Head::scalar_type>& data,
                          const Dataset<typename Head::scalar_type>* held_out,
                          const HeadTrainingOptions<typename Head::scalar_type>& options) {
  using T = typename Head::scalar_type;
  const auto check_data = [&](const Dataset<T>& d, const char* which) {
    require(d.size() > 0, "train_head: empty ", which, " set");
    require(static_cast<std::size_t>(d.hidden.cols()) == head.hidden_size(), "train_head: ", which, " set has H = ",
            d.hidden.cols(), " but the head expects H = ", head.hidden_size());
    d.targets.validate(d.size(), head.classes(), "train_head");
  };
  require(options.batch_size > 0, "train_head: batch size must be > 0");
  check_data(data, "training");
  if (held_out) check_data(*held_out, "held-out");
  require(options.evaluate_every == 0 || held_out, "train_head: evaluate_every is set but no held-out set is given");
  require(options.checkpoint_every == 0 || !options.checkpoint.empty(),
          "train_head: checkpoint_every is set but no checkpoint file is named");

  AdamW<typename Head::params_type> optimizer(head.params(), options.optimizer);
  for (const auto& prefix : options.frozen) optimizer.freeze(prefix);
  LoopOptions loop;
  loop.steps = options.epochs > 0 ? steps_for_epochs(options.epochs, data.size(), options.batch_size) : options.steps;
  if (options.resume && !options.checkpoint.empty() && std::filesystem::exists(options.checkpoint))
    loop.start_step = load_training_state(head, optimizer, options.checkpoint);
  loop.batch_size = options.batch_size;
  loop.seed = options.seed;
  loop.checkpoint_every = options.checkpoint_every;
  loop.evaluate_every = options.evaluate_every;
  loop.progress = options.progress;
  loop.progress_unit = options.progress_unit;
  loop.csv_log = options.csv_log;

  LoopHooks hooks;
  if (!options.checkpoint.empty())
    hooks.checkpoint = [&](std::size_t step) { save_training_state(head, optimizer, step, options.checkpoint); };
  if (held_out)
    hooks.evaluate = [&] {
      // The same draws at every evaluation, so the curve shows the head changing, not the noise.
      StepGenerator rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
      return double(head.loss(held_out->hidden, held_out->targets, options.loss, &rng).total);
    };
  head::HeadWorkspace<T> workspace;
  return run(data, loop,
             [&](const Minibatch<Dataset<T>>& batch, StepGenerator& rng) {
               return train_step(head, optimizer, batch.data, options.loss, workspace, rng);
             },
             hooks);
}
}  // namespace detail

/// Trains `head` on `data` for the run's length (continuing from the checkpoint when
/// options.resume is set and its files exist). The report covers the steps run by this call.
template <class Head>
TrainingReport train_head(Head& head, const Dataset<typename Head::scalar_type>& data,
                          const HeadTrainingOptions<typename Head::scalar_type>& options) {
  return detail::train_head(head, data, nullptr, options);
}

/// The same, with the loss on `held_out` logged every options.evaluate_every steps.
template <class Head>
TrainingReport train_head(Head& head, const Dataset<typename Head::scalar_type>& data,
                          const Dataset<typename Head::scalar_type>& held_out,
                          const HeadTrainingOptions<typename Head::scalar_type>& options) {
  return detail::train_head(head, data, &held_out, options);
}

}  // namespace causalqwen::train
