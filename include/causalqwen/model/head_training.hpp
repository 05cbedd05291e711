#pragma once
// Resumable training of a causal head on cached hidden states (a frozen backbone). Step s draws
// its minibatch (and any noise draws of a random mode) from a generator seeded by (seed, s) alone,
// so the run is a function of the seed and the step, not of where it was interrupted. Every
// `checkpoint_every` steps and at the end two files are written atomically:
//   <checkpoint>            the head (head/checkpoint.hpp; loadable on its own, e.g. to generate),
//   <checkpoint>.optimizer  AdamW's moments and step count, with the step reached and a hash of
//                           the head's parameters, so that a head from another run is refused.
// train_head(..., resume = true) continues from those files when they exist and reproduces, bit
// for bit, what the uninterrupted run would have computed.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/checkpoint.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/dataset.hpp>
#include <causalqwen/train/trainer.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace causalqwen::model {

template <Real T>
struct HeadTrainingOptions {
  std::size_t steps = 200;
  std::size_t batch_size = 64;
  train::AdamWOptions<T> optimizer{};
  head::LossOptions<T> loss{};
  std::vector<std::string> frozen = {};  ///< block-name prefixes not trained
  std::uint64_t seed = 0;
  bool progress = false;                 ///< progress bar on stderr
  std::filesystem::path checkpoint = {}; ///< empty: no checkpoints
  std::size_t checkpoint_every = 0;      ///< 0: only at the end
  std::filesystem::path csv_log = {};    ///< empty: no log (rewritten at every checkpoint and at the end)
};

namespace detail {
/// FNV-1a over every parameter's bytes: ties an optimizer file to the head it was saved with.
template <class P>
std::uint64_t parameter_hash(const P& params) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  head::for_each_block(params, [&](const std::string&, const auto& block) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(block.data());
    for (std::size_t i = 0; i < static_cast<std::size_t>(block.size()) * sizeof(*block.data()); ++i)
      h = (h ^ bytes[i]) * 0x100000001b3ULL;
  });
  return h;
}

inline std::filesystem::path optimizer_file(const std::filesystem::path& checkpoint) {
  return std::filesystem::path(checkpoint.string() + ".optimizer");
}

template <class Head, class Optimizer>
void save_training_state(const Head& head, const Optimizer& optimizer, std::size_t step,
                         const std::filesystem::path& checkpoint) {
  using T = typename Head::scalar_type;
  const auto state = optimizer.state();
  io::SafetensorsWriter writer;
  writer.set_metadata("format", "causalqwen.adamw/1");
  writer.set_metadata("step", std::to_string(step));
  writer.set_metadata("optimizer_steps", std::to_string(state.steps));
  writer.set_metadata("head_hash", std::to_string(parameter_hash(head.params())));
  const auto names = head::HeadParams<T>::block_names();
  for (std::size_t i = 0; i < state.first.size(); ++i) {
    writer.add("first." + names[i], Vector<T>(state.first[i].matrix()));
    writer.add("second." + names[i], Vector<T>(state.second[i].matrix()));
  }
  writer.write(optimizer_file(checkpoint));
  head::save_head(head, checkpoint);
}

/// Restores head and optimizer; returns the step reached.
template <class Head, class Optimizer>
std::size_t load_training_state(Head& head, Optimizer& optimizer, const std::filesystem::path& checkpoint) {
  using T = typename Head::scalar_type;
  const head::HeadShape shape{head.hidden_size(), head.latent_size(), head.classes() - 1};
  Head loaded = head::load_head<T, typename Head::link_type, typename Head::threshold_policy>(checkpoint, shape);
  const std::filesystem::path file = optimizer_file(checkpoint);
  const io::SafetensorsReader reader(file);
  const auto field = [&](const char* key) -> std::uint64_t {
    const auto it = reader.metadata().find(key);
    require(it != reader.metadata().end(), file.string(), ": metadata field '", key, "' missing");
    try {
      return std::stoull(it->second);
    } catch (const std::exception&) {
      fail(file.string(), ": metadata field '", key, "' is not a number: '", it->second, "'");
    }
  };
  require(field("head_hash") == parameter_hash(loaded.params()), file.string(), " does not belong to the head in ",
          checkpoint.string());
  typename Optimizer::State state;
  state.steps = field("optimizer_steps");
  const auto names = head::HeadParams<T>::block_names();
  if (reader.contains("first." + names[0]))
    for (const auto& name : names) {
      state.first.push_back(reader.vector<T>("first." + name).array());
      state.second.push_back(reader.vector<T>("second." + name).array());
    }
  std::size_t index = 0;
  const auto params = loaded.params();
  if (!state.first.empty())
    head::for_each_block(params, [&](const std::string& name, const auto& block) {
      require(state.first[index].size() == block.size(), file.string(), ": moments of ", name, " have ",
              state.first[index].size(), " entries, the parameter has ", block.size());
      ++index;
    });
  optimizer.restore(std::move(state));
  head = std::move(loaded);
  return field("step");
}
}  // namespace detail

/// Trains `head` for options.steps steps in total (continuing from the checkpoint when `resume`
/// is set and the files exist). The report covers the steps run by this call.
template <class Head>
train::TrainingReport train_head(Head& head, const train::Dataset<typename Head::scalar_type>& data,
                                 const HeadTrainingOptions<typename Head::scalar_type>& options, bool resume = false) {
  using T = typename Head::scalar_type;
  require(options.batch_size > 0, "train_head: batch size must be > 0");
  require(data.size() > 0, "train_head: empty data set");
  require(static_cast<std::size_t>(data.hidden.cols()) == head.hidden_size(), "train_head: data has H = ",
          data.hidden.cols(), " but the head expects H = ", head.hidden_size());
  require(options.checkpoint_every == 0 || !options.checkpoint.empty(),
          "train_head: checkpoint_every is set but no checkpoint file is named");
  data.targets.validate(data.size(), head.classes(), "train_head");

  train::AdamW<head::HeadParams<T>> optimizer(options.optimizer);
  for (const auto& prefix : options.frozen) optimizer.freeze(prefix);
  std::size_t step = 0;
  if (resume && !options.checkpoint.empty() && std::filesystem::exists(options.checkpoint))
    step = detail::load_training_state(head, optimizer, options.checkpoint);
  require(step <= options.steps, "train_head: the checkpoint is at step ", step, ", beyond the ", options.steps,
          " steps asked for");

  train::TrainingReport report;
  const auto start = std::chrono::steady_clock::now();
  const std::size_t batch = std::min(options.batch_size, data.size());
  std::vector<std::size_t> order(data.size());
  while (step < options.steps) {
    std::seed_seq seeds{std::uint32_t(options.seed), std::uint32_t(options.seed >> 32), std::uint32_t(step),
                        std::uint32_t(std::uint64_t(step) >> 32)};
    std::mt19937_64 rng(seeds);
    std::iota(order.begin(), order.end(), std::size_t{0});
    for (std::size_t i = 0; i < batch; ++i)  // partial Fisher-Yates: a uniform batch without repeats
      std::swap(order[i], order[std::uniform_int_distribution<std::size_t>(i, order.size() - 1)(rng)]);
    const auto minibatch = data.select(std::vector<std::size_t>(order.begin(), order.begin() + std::ptrdiff_t(batch)));
    train::TrainingRecord r = train::train_step(head, optimizer, minibatch, options.loss, rng);
    ++step;
    r.step = step;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.samples += r.positions;
    ++report.steps;
    report.log.push_back(r);
    if (options.progress && (step % 10 == 0 || step == options.steps))
      train::detail::draw_progress(step, options.steps, r, r.seconds > 0 ? double(report.samples) / r.seconds : 0.0);
    const bool last = step == options.steps;
    if (!options.checkpoint.empty() && (last || (options.checkpoint_every > 0 && step % options.checkpoint_every == 0)))
      detail::save_training_state(head, optimizer, step, options.checkpoint);
    if (!options.csv_log.empty() && (last || (options.checkpoint_every > 0 && step % options.checkpoint_every == 0)))
      write_file_atomically(options.csv_log, train::detail::training_csv(report.log));
  }
  if (options.progress) std::fputc('\n', stderr);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace causalqwen::model
