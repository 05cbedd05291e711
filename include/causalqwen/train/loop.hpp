#pragma once
// The library's one training loop. What a step does — forward, loss, gradient, optimiser update,
// anything else such as a dual update — is the caller's `step` callable; the loop owns what every
// run shares: the minibatches (BatchSampler: step s is a function of (seed, s)), the clock, the
// log, the progress bar, the CSV file, evaluation on a held-out set at a fixed interval and the
// checkpoint hook. A resumed run passes the step it reached as `start_step` and continues with
// exactly the batches and draws the uninterrupted run would have used.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/dataset.hpp>
#include <causalqwen/train/progress.hpp>
#include <causalqwen/train/training_log.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace causalqwen::train {

/// A training step: performs one update from the minibatch, drawing anything random from the
/// step's generator, and returns what it measured (loss, accuracy, gradient norm, positions).
template <class S, class Data>
concept TrainingStep = SampledData<Data> && requires(S& step, const Minibatch<Data>& batch, StepGenerator& rng) {
  { step(batch, rng) } -> std::same_as<TrainingRecord>;
};

struct LoopOptions {
  std::size_t steps = 0;             ///< the run's last step (a resumed run counts from 0 too)
  std::size_t start_step = 0;        ///< steps already done (resume)
  std::size_t batch_size = 64;
  std::uint64_t seed = 0;
  std::size_t checkpoint_every = 0;  ///< checkpoint hook and CSV every this many steps (0: at the end only)
  std::size_t evaluate_every = 0;    ///< evaluation hook every this many steps and at the end (0: never)
  bool progress = false;             ///< progress bar on stderr
  std::string progress_unit = "samples";
  std::filesystem::path csv_log = {};  ///< empty: no log file

  void validate() const {
    require(batch_size > 0, "training loop: batch size must be > 0");
    require(start_step <= steps, "training loop: the run is at step ", start_step, ", beyond the ", steps,
            " steps asked for");
  }
};

/// Optional callables of a run; neither is on the per-step path unless its interval says so.
struct LoopHooks {
  std::function<void(std::size_t step)> checkpoint;  ///< save everything a resume needs, after `step`
  std::function<double()> evaluate;                  ///< the loss on a held-out set
};

/// Runs `step` for steps start_step + 1 .. steps on minibatches of `data`. The report covers the
/// steps run by this call.
template <SampledData Data, TrainingStep<Data> Step>
TrainingReport run(const Data& data, const LoopOptions& options, Step&& step, const LoopHooks& hooks = {}) {
  options.validate();
  require(options.evaluate_every == 0 || hooks.evaluate, "training loop: evaluate_every is set but no evaluation");
  BatchSampler sampler(data.size(), options.batch_size, options.seed);
  std::optional<ProgressBar> bar;
  if (options.progress) bar.emplace(options.start_step, options.steps, options.progress_unit);

  TrainingReport report;
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  const auto every = [&](std::size_t interval, std::size_t s) {
    return s == options.steps || (interval > 0 && s % interval == 0);
  };
  for (std::size_t s = options.start_step; s < options.steps;) {
    StepGenerator rng = sampler.generator(s);
    const Minibatch<Data> batch = sampler.draw(data, rng);
    TrainingRecord r = step(batch, rng);
    r.epoch = sampler.epoch(s);
    r.step = ++s;
    if (options.evaluate_every > 0 && every(options.evaluate_every, s)) r.held_out_loss = hooks.evaluate();
    r.seconds = elapsed();
    report.samples += r.positions;
    ++report.steps;
    report.log.push_back(r);
    if (bar) bar->update(s, r.loss, report.samples, r.seconds, r.held_out_loss);
    if (every(options.checkpoint_every, s)) {
      if (hooks.checkpoint) hooks.checkpoint(s);
      if (!options.csv_log.empty()) write_training_log(options.csv_log, report.log);
    }
  }
  if (bar) bar->finish();
  report.seconds = elapsed();
  return report;
}

}  // namespace causalqwen::train
