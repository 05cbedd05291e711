// Mock mode: a mock backbone turns random token sequences into hidden states, a hidden
// ground-truth causal head labels them (class, and a value at <NUM> positions), and a causal
// head is trained from random init on them. Prints how close it gets to the ground truth, and
// what the design's gate (alpha = 0) does compared with no gate (alpha = 1).
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

using namespace causalqwen;
using causalqwen::head::CausalHead;

namespace {

struct Settings {
  std::size_t hidden = 64, latent = 16, classes = 50;
  std::size_t train_positions = 6000, test_positions = 4000, sequence = 64;
  std::size_t epochs = 16, batch = 128;
  double lr = 0.01, num_share = 0.2, lambda = 1.0;
  std::uint64_t seed = 1;
  bool progress = false;
  std::string csv, save;
};

/// Hidden states of random token sequences from the mock backbone, labelled by the ground truth.
train::Dataset<float> mock_data(const MockBackbone<float>& backbone, const train::SyntheticTask<float>& task,
                                std::size_t positions, std::size_t sequence, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<TokenId> token(0, 151935);
  RowMatrix<float> hidden(static_cast<Eigen::Index>(positions), static_cast<Eigen::Index>(backbone.hidden_size()));
  for (std::size_t start = 0; start < positions; start += sequence) {
    const std::size_t length = std::min(sequence, positions - start);
    std::vector<TokenId> tokens(length);
    for (auto& t : tokens) t = token(rng);
    hidden.middleRows(static_cast<Eigen::Index>(start), static_cast<Eigen::Index>(length)) =
        backbone.hidden_states(tokens);
  }
  return task.label(std::move(hidden), rng());
}

head::Metrics evaluate_on(const CausalHead<float>& model, const train::Dataset<float>& data) {
  const auto p = model.predict(data.hidden);
  return head::evaluate(p.classes, p.confidence, p.value_loc, p.value_scale, data.targets, model.classes());
}

struct Run {
  head::Metrics metrics;
  train::TrainingReport report;
  CausalHead<float> model;
};

Run train_once(const Settings& s, const train::Dataset<float>& train_set, const train::Dataset<float>& test_set,
               float alpha, const std::string& csv) {
  std::mt19937_64 rng(s.seed + 1);
  auto model = CausalHead<float>::random(s.hidden, s.latent, s.classes + 1, rng);
  train::HeadTrainingOptions<float> o;
  o.epochs = s.epochs;
  o.batch_size = s.batch;
  o.optimizer.learning_rate = static_cast<float>(s.lr);
  o.loss.gate_alpha = alpha;
  o.loss.lambda = static_cast<float>(s.lambda);
  o.seed = s.seed;
  o.progress = s.progress;
  if (!csv.empty()) o.csv_log = csv;
  auto report = train::train_head(model, train_set, o);
  auto metrics = evaluate_on(model, test_set);
  return {metrics, std::move(report), std::move(model)};
}

}  // namespace

int main(int argc, char** argv) {
  Settings s;
  CLI::App app{"Train the causal head in mock mode (mock backbone, synthetic ground truth)"};
  app.add_option("--hidden", s.hidden, "H");
  app.add_option("--latent", s.latent, "D");
  app.add_option("--classes", s.classes, "K (ordinary classes; <NUM> is added)");
  app.add_option("--train", s.train_positions, "training positions");
  app.add_option("--test", s.test_positions, "held-out positions");
  app.add_option("--epochs", s.epochs, "epochs");
  app.add_option("--batch", s.batch, "minibatch size");
  app.add_option("--lr", s.lr, "AdamW learning rate");
  app.add_option("--num-share", s.num_share, "share of <NUM> targets");
  app.add_option("--lambda", s.lambda, "weight of the <NUM> value loss");
  app.add_option("--seed", s.seed, "seed of data, init and training");
  app.add_flag("--progress", s.progress, "progress bar on stderr");
  app.add_option("--csv", s.csv, "training log (CSV) of the alpha = 0 run");
  app.add_option("--save", s.save, "save the trained head (safetensors)");
  return causalqwen::programs::run_program("train_mock", app, argc, argv, [&] {
    const auto start = std::chrono::steady_clock::now();
    train::SyntheticConfig<float> config;
    config.hidden = s.hidden;
    config.latent = s.latent;
    config.classes = s.classes + 1;
    config.num_share = s.num_share;
    config.seed = s.seed;
    const train::SyntheticTask<float> task(config);
    const MockBackbone<float> backbone(s.hidden, s.seed);
    const auto train_set = mock_data(backbone, task, s.train_positions, s.sequence, s.seed * 3 + 1);
    const auto test_set = mock_data(backbone, task, s.test_positions, s.sequence, s.seed * 3 + 2);
    const auto truth = evaluate_on(task.ground_truth(), test_set);

    std::printf("mock mode: H = %zu, D = %zu, K = %zu (+<NUM>), %zu training / %zu held-out positions, <NUM> share %.2f\n",
                s.hidden, s.latent, s.classes, s.train_positions, s.test_positions, s.num_share);
    const auto gated = train_once(s, train_set, test_set, 0.0f, s.csv);
    const auto& m = gated.metrics;
    std::printf("\ntrained head (gate alpha = 0), %zu steps in %.2f s (%.0f samples/s)\n", gated.report.steps,
                gated.report.seconds, gated.report.samples_per_second());
    std::printf("  %-26s %10s %12s\n", "held-out", "trained", "ground truth");
    std::printf("  %-26s %10.4f %12.4f\n", "accuracy", m.accuracy, truth.accuracy);
    std::printf("  %-26s %10.4f %12.4f\n", "weighted F1", m.weighted_f1, truth.weighted_f1);
    std::printf("  %-26s %10.4f %12.4f\n", "<NUM> F1", m.num_f1, truth.num_f1);
    std::printf("  %-26s %10.4f %12.4f\n", "<NUM> median abs. error", m.value_median_ae, truth.value_median_ae);
    std::printf("  %-26s %10.4f %12.4f\n", "<NUM> mean abs. error", m.value_mae, truth.value_mae);
    std::printf("  %-26s %10.4f %12.4f\n", "95% interval coverage", m.coverage_at(0.95), truth.coverage_at(0.95));
    std::printf("  %-26s %10.4f %12.4f\n", "ECE of the decision", m.ece, truth.ece);

    const auto ungated = train_once(s, train_set, test_set, 1.0f, "");
    std::printf("\ngate effect (same data, init and seed), held-out:\n");
    std::printf("  %-22s %10s %10s %12s %12s\n", "", "<NUM> P", "<NUM> R", "<NUM> F1", "median AE");
    std::printf("  %-22s %10.4f %10.4f %12.4f %12.4f\n", "alpha = 0 (gate)", m.num_precision, m.num_recall, m.num_f1,
                m.value_median_ae);
    const auto& u = ungated.metrics;
    std::printf("  %-22s %10.4f %10.4f %12.4f %12.4f\n", "alpha = 1 (no gate)", u.num_precision, u.num_recall, u.num_f1,
                u.value_median_ae);

    if (!s.save.empty()) {
      head::save_head(gated.model, s.save);
      const auto reloaded = head::load_head<float>(s.save);
      const bool same = reloaded.predict(test_set.hidden).value_loc == gated.model.predict(test_set.hidden).value_loc;
      std::printf("\nsaved to %s (reload reproduces the outputs: %s)\n", s.save.c_str(), same ? "yes" : "NO");
      if (!same) return 1;
    }
    std::printf("\ntotal time %.2f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return 0;
  });
}
