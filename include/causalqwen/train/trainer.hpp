#pragma once
// The training loop of the causal head: shuffled minibatches, loss and analytic gradients,
// AdamW; a progress bar on stderr (step, loss, batch accuracy, samples/s) and a CSV log written
// atomically (rewritten at the end of every epoch, so a crash leaves the last complete one).
// Everything random (shuffling, draws of the sampling mode) comes from one generator seeded by
// the options, so a run is reproducible for a seed (and a thread count).

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/dataset.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct TrainerOptions {
  std::size_t epochs = 10;
  std::size_t batch_size = 128;
  AdamWOptions<T> optimizer;
  head::LossOptions<T> loss;
  std::vector<std::string> frozen;   ///< block-name prefixes not trained ("action.", "abduction.", "noise.")
  std::uint64_t seed = 0;
  bool progress = false;             ///< progress bar on stderr
  std::filesystem::path csv_log;     ///< empty: no log
};

/// One logged optimiser step.
struct TrainingRecord {
  std::size_t step = 0;
  std::size_t epoch = 0;
  double loss = 0;
  double classification = 0;
  double regression = 0;
  double accuracy = 0;       ///< of the batch, before the update
  double gradient_norm = 0;  ///< before clipping
  double seconds = 0;        ///< since the start
  std::size_t positions = 0; ///< non-ignored positions of the batch
};

struct TrainingReport {
  std::vector<TrainingRecord> log;
  std::size_t steps = 0;
  std::size_t samples = 0;
  double seconds = 0;
  double samples_per_second() const { return seconds > 0 ? double(samples) / seconds : 0.0; }
};

namespace detail {
inline std::string training_csv(const std::vector<TrainingRecord>& log) {
  std::ostringstream out;
  out.precision(9);
  out << "step,epoch,loss,classification,regression,accuracy,gradient_norm,seconds\n";
  for (const auto& r : log)
    out << r.step << ',' << r.epoch << ',' << r.loss << ',' << r.classification << ',' << r.regression << ','
        << r.accuracy << ',' << r.gradient_norm << ',' << r.seconds << '\n';
  return out.str();
}

inline void draw_progress(std::size_t step, std::size_t total, const TrainingRecord& r, double samples_per_second) {
  constexpr std::size_t width = 28;
  const std::size_t filled = total ? step * width / total : width;
  std::string bar(filled, '=');
  if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
  std::fprintf(stderr, "\r[%s] step %zu/%zu  loss %.4f  acc %.3f  %.0f samples/s ", bar.c_str(), step, total, r.loss,
               r.accuracy, samples_per_second);
  std::fflush(stderr);
}
}  // namespace detail

/// One optimiser step on `batch` in the head's noise mode; fills the loss, accuracy (of the batch,
/// before the update), gradient-norm and position fields of the record.
template <class Head, class Rng>
TrainingRecord train_step(Head& head, AdamW<head::HeadParams<typename Head::scalar_type>>& optimizer,
                          const Dataset<typename Head::scalar_type>& batch,
                          const head::LossOptions<typename Head::scalar_type>& loss_options, Rng& rng) {
  using T = typename Head::scalar_type;
  const auto forward = head.forward(batch.hidden, &rng);
  const auto loss = head::causal_loss(forward.action, head.action().params().threshold, batch.targets, loss_options);
  const auto grad = head.backward(batch.hidden, forward, loss.gradient);
  StepInfo<T> info{};
  head.update_params([&](head::HeadParams<T>& p) { info = optimizer.step(p, grad.params); });

  const auto decisions = head.decide(forward.action);
  std::size_t correct = 0, counted = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch.targets.ignored(i)) continue;
    ++counted;
    correct += decisions.classes[i] == batch.targets.classes[i] ? 1 : 0;
  }
  TrainingRecord r;
  r.loss = double(loss.value.total);
  r.classification = double(loss.value.classification);
  r.regression = double(loss.value.regression);
  r.accuracy = counted ? double(correct) / double(counted) : 0.0;
  r.gradient_norm = double(info.gradient_norm);
  r.positions = counted;
  return r;
}

/// Trains `head` on `data` in the head's noise mode. Returns the per-step log.
template <class Head>
TrainingReport fit(Head& head, const Dataset<typename Head::scalar_type>& data,
                     const TrainerOptions<typename Head::scalar_type>& options) {
  using T = typename Head::scalar_type;
  require(options.batch_size > 0, "fit: batch size must be > 0");
  require(data.size() > 0, "fit: empty data set");
  require(static_cast<std::size_t>(data.hidden.cols()) == head.hidden_size(), "fit: data has H = ",
          data.hidden.cols(), " but the head expects H = ", head.hidden_size());
  data.targets.validate(data.size(), head.classes(), "fit");

  AdamW<head::HeadParams<T>> optimizer(options.optimizer);
  for (const auto& prefix : options.frozen) optimizer.freeze(prefix);
  std::mt19937_64 rng(options.seed);
  const std::size_t batches = (data.size() + options.batch_size - 1) / options.batch_size;
  const std::size_t total = batches * options.epochs;

  TrainingReport report;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::vector<std::size_t> order(data.size());
  for (std::size_t epoch = 0; epoch < options.epochs; ++epoch) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t b = 0; b < batches; ++b) {
      const std::size_t begin = b * options.batch_size;
      const std::size_t end = std::min(data.size(), begin + options.batch_size);
      const Dataset<T> batch = data.select(std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                                                    order.begin() + static_cast<std::ptrdiff_t>(end)));
      TrainingRecord r = train_step(head, optimizer, batch, options.loss, rng);
      report.samples += r.positions;
      ++report.steps;
      r.step = report.steps;
      r.epoch = epoch;
      r.seconds = elapsed();
      report.log.push_back(r);
      if (options.progress && (report.steps % 10 == 0 || report.steps == total))
        detail::draw_progress(report.steps, total, r, r.seconds > 0 ? double(report.samples) / r.seconds : 0.0);
    }
    if (!options.csv_log.empty()) write_file_atomically(options.csv_log, detail::training_csv(report.log));
  }
  if (options.progress) std::fputc('\n', stderr);
  report.seconds = elapsed();
  return report;
}

}  // namespace causalqwen::train
