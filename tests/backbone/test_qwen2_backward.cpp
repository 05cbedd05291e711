// The backward pass through the Qwen2 backbone: against gradients an independent float64
// implementation computed for the tiny golden model (float32, every tensor), and against central
// finite differences in double on random models (GQA groups, untied heads, one-position sequences).
#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/domain/features.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/io/safetensors.hpp>
#include <causalqwen/train/adamw.hpp>

#include "tiny_qwen2.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_backbone_qwen2_backward {

namespace fs = std::filesystem;
using namespace causalqwen;

namespace {

const fs::path golden_dir = fs::path(CAUSALQWEN_TEST_DATA_DIR) / "qwen2";
const fs::path grad_dir = golden_dir / "grad";

nlohmann::json golden_losses() {
  std::ifstream in(grad_dir / "losses.json");
  return nlohmann::json::parse(in);
}

std::vector<TokenId> golden_tokens() { return golden_losses().at("tokens").get<std::vector<TokenId>>(); }

/// max over tensors of ||g - g_ref|| / ||g_ref||; every tensor of the reference file is compared.
double max_relative_error(const Qwen2Parameters<float>& gradients, const fs::path& reference_file) {
  const io::SafetensorsReader reference(reference_file);
  double worst = 0;
  std::size_t compared = 0;
  for_each_qwen2_tensor(gradients, [&](const std::string& name, auto view, const std::vector<std::int64_t>&) {
    const RowMatrix<double> expected = reference.matrix<double>(name);
    REQUIRE(expected.rows() == view.rows());
    REQUIRE(expected.cols() == view.cols());
    const double error = (view.template cast<double>() - expected).norm() / expected.norm();
    INFO(name, ": relative error ", error);
    CHECK(error <= 1e-4);
    worst = std::max(worst, error);
    ++compared;
  });
  CHECK(compared == reference.names().size());
  return worst;
}

double relative(double value, double reference) { return std::abs(value - reference) / std::abs(reference); }

}  // namespace

TEST_CASE("the training forward pass computes the inference forward pass") {
  const TrainableQwen2<> trainable(golden_dir, CpuBackend<float>(2));
  const Qwen2<> model(golden_dir);
  const std::vector<TokenId> tokens = golden_tokens();
  const RowMatrix<float> expected = model.hidden_states(std::span<const TokenId>(tokens));
  const RowMatrix<float> h = trainable.hidden(trainable.forward(std::span<const TokenId>(tokens)));
  CHECK((h - expected).cwiseAbs().maxCoeff() <= 1e-5f);
}

TEST_CASE("golden gradients of L = sum G * h, float32, every tensor") {
  const std::vector<TokenId> tokens = golden_tokens();
  const RowMatrix<float> upstream = domain::load_features<float>(grad_dir / "upstream.npy", 64);
  for (int threads : {1, 2}) {
    const TrainableQwen2<> model(golden_dir, CpuBackend<float>(threads));
    const auto tape = model.forward(std::span<const TokenId>(tokens));
    const double loss = (upstream.cast<double>().array() * model.hidden(tape).cast<double>().array()).sum();
    auto gradients = model.zero_gradients();
    model.embeddings_backward(tokens, model.backward(tape, upstream, gradients), gradients);
    const double loss_error = relative(loss, golden_losses().at("hidden").get<double>());
    const double worst = max_relative_error(model.gradients(gradients), grad_dir / "grad_hidden.safetensors");
    MESSAGE("hidden loss, ", threads, " thread(s): loss relative error ", loss_error, ", max tensor relative error ",
            worst);
    CHECK(loss_error <= 1e-5);
  }
}

TEST_CASE("golden gradients of the next-token cross-entropy through the tied embedding, float32") {
  const std::vector<TokenId> tokens = golden_tokens();
  for (int threads : {1, 2}) {
    const TrainableQwen2<> model(golden_dir, CpuBackend<float>(threads));
    auto gradients = model.zero_gradients();
    const double loss = next_token_cross_entropy(model, std::span<const TokenId>(tokens), gradients);
    const double loss_error = relative(loss, golden_losses().at("lm").get<double>());
    const double worst = max_relative_error(model.gradients(gradients), grad_dir / "grad_lm.safetensors");
    MESSAGE("lm loss, ", threads, " thread(s): loss relative error ", loss_error, ", max tensor relative error ", worst);
    CHECK(loss_error <= 1e-5);
  }
}

namespace {

enum class Loss { hidden, lm };

/// Central differences in double along a random direction of each tensor in turn, against the
/// analytic directional derivative; returns the largest relative disagreement.
double finite_difference_error(const Qwen2Config& config, std::size_t length, Loss kind, unsigned seed) {
  using Model = TrainableQwen2<CpuBackend<double>>;
  const auto base = load_qwen2_parameters<double>(config, tiny::store(config, seed), "random Qwen2");
  std::mt19937 rng(seed);
  std::uniform_int_distribution<TokenId> token(0, static_cast<TokenId>(config.vocab_size - 1));
  std::normal_distribution<double> normal(0, 1);
  std::vector<TokenId> tokens(length);
  for (TokenId& t : tokens) t = token(rng);
  RowMatrix<double> upstream(static_cast<Eigen::Index>(length), config.hidden_size);
  for (Eigen::Index i = 0; i < upstream.size(); ++i) upstream.data()[i] = normal(rng);

  const auto loss_and_gradient = [&](const Model& model, Model::Gradients& gradients) {
    if (kind == Loss::lm) return next_token_cross_entropy(model, std::span<const TokenId>(tokens), gradients);
    const auto tape = model.forward(std::span<const TokenId>(tokens));
    model.embeddings_backward(tokens, model.backward(tape, upstream, gradients), gradients);
    return (upstream.array() * model.hidden(tape).array()).sum();
  };
  const Model model(base);
  auto accumulator = model.zero_gradients();
  loss_and_gradient(model, accumulator);
  auto gradients = model.gradients(accumulator);

  double worst = 0;
  std::size_t checked = 0;
  for_each_qwen2_tensor(gradients, [&](const std::string& name, auto gradient, const std::vector<std::int64_t>&) {
    // Half along the gradient, so the derivative is not a small difference of large terms (a
    // random direction alone meets a gradient of few non-zero rows almost orthogonally).
    RowMatrix<double> direction(gradient.rows(), gradient.cols());
    for (Eigen::Index i = 0; i < direction.size(); ++i) direction.data()[i] = normal(rng);
    direction /= direction.norm();
    if (gradient.norm() > 0) direction += gradient / gradient.norm();
    const auto at = [&](double step) {
      auto moved = base;
      for_each_qwen2_tensor(moved, [&](const std::string& other, auto view, const std::vector<std::int64_t>&) {
        if (other == name) view += step * direction;
      });
      const Model perturbed(moved);
      auto scratch = perturbed.zero_gradients();
      return loss_and_gradient(perturbed, scratch);
    };
    const double step = 1e-5;
    const double numeric = (at(step) - at(-step)) / (2 * step);
    const double analytic = (gradient.array() * direction.array()).sum();
    const double error = std::abs(numeric - analytic) / std::max(1e-4, std::abs(analytic));
    INFO(name, ": analytic ", analytic, ", finite difference ", numeric);
    CHECK(error <= 1e-6);
    worst = std::max(worst, error);
    ++checked;
  });
  CHECK(checked > 0);
  return worst;
}

}  // namespace

TEST_CASE("finite differences in double: GQA groups of 1, 2 and 4, tied and untied, sequences of 1 and 5") {
  for (const auto& [heads, kv_heads] : {std::pair{4, 4}, std::pair{4, 2}, std::pair{4, 1}})
    for (bool tied : {true, false}) {
      const Qwen2Config config = tiny::config(heads, kv_heads, tied);
      const double hidden5 = finite_difference_error(config, 5, Loss::hidden, 11);
      const double hidden1 = finite_difference_error(config, 1, Loss::hidden, 12);
      const double lm = finite_difference_error(config, 5, Loss::lm, 13);
      MESSAGE("heads ", heads, "/", kv_heads, std::string(tied ? " tied" : " untied"), ": max relative FD error hidden(T=5) ",
              hidden5, ", hidden(T=1) ", hidden1, ", lm(T=5) ", lm);
    }
}

TEST_CASE("bad inputs to the backward pass are errors") {
  const auto params = load_qwen2_parameters<float>(tiny::config(4, 2, true), tiny::store(tiny::config(4, 2, true), 3),
                                                   "random Qwen2");
  const TrainableQwen2<> model(params);
  const std::vector<TokenId> tokens = {1, 2, 3};
  const auto tape = model.forward(std::span<const TokenId>(tokens));
  auto gradients = model.zero_gradients();
  CHECK_THROWS_AS(model.backward(tape, RowMatrix<float>::Zero(2, 32), gradients), error);
  auto wrong = TrainableQwen2<>(load_qwen2_parameters<float>(tiny::config(4, 2, false),
                                                             tiny::store(tiny::config(4, 2, false), 3), "random Qwen2"))
                   .zero_gradients();
  CHECK_THROWS_AS(model.backward(tape, RowMatrix<float>::Zero(3, 32), wrong), error);
  CHECK_THROWS_AS(model.forward(RowMatrix<float>::Zero(0, 32)), error);
  CHECK_THROWS_AS(model.embeddings(std::vector<TokenId>{40}), error);
  const std::vector<TokenId> one = {1};
  CHECK_THROWS_AS(next_token_cross_entropy(model, std::span<const TokenId>(one), gradients), error);
  CHECK_THROWS_AS(load_qwen2_parameters<float>(tiny::config(4, 1, true), tiny::store(tiny::config(4, 2, true), 3),
                                               "random Qwen2"),
                  error);
}

TEST_CASE("AdamW steps the backbone's parameters: the language-model loss falls") {
  static_assert(head::ParameterSet<Qwen2Parameters<float>>);
  const Qwen2Config config = tiny::config(4, 2, false);
  TrainableQwen2<> model(load_qwen2_parameters<float>(config, tiny::store(config, 5), "random Qwen2"));
  const std::vector<TokenId> tokens = {1, 7, 3, 9, 4, 1, 7, 3};
  train::AdamW<Qwen2Parameters<float>> optimizer(model.parameters(), train::AdamWOptions<float>{.learning_rate = 1e-2f});
  float first = 0, last = 0;
  for (int step = 0; step < 5; ++step) {
    auto accumulator = model.zero_gradients();
    last = next_token_cross_entropy(model, std::span<const TokenId>(tokens), accumulator);
    if (step == 0) first = last;
    const auto gradients = model.gradients(accumulator);
    model.update_parameters([&](Qwen2Parameters<float>& p) { optimizer.step(p, gradients); });
  }
  MESSAGE("next-token loss ", first, " -> ", last, " after 4 AdamW steps");
  CHECK(last < first);
}

TEST_CASE("recomputing the activations in the backward gives the same gradients bit for bit") {
  const Qwen2Config config = tiny::config(4, 2, false);
  TrainableQwen2<> model(load_qwen2_parameters<float>(config, tiny::store(config, 6), "random Qwen2"));
  const std::vector<TokenId> tokens = {1, 7, 3, 9, 4, 1, 7, 3};
  const auto gradients_of = [&](bool recompute) {
    model.set_recompute_activations(recompute);
    auto accumulator = model.zero_gradients();
    const float loss = next_token_cross_entropy(model, std::span<const TokenId>(tokens), accumulator);
    return std::make_pair(loss, model.gradients(accumulator));
  };
  const auto [kept_loss, kept] = gradients_of(false);
  const auto [recomputed_loss, recomputed] = gradients_of(true);
  CHECK(kept_loss == recomputed_loss);
  bool same = true;
  head::for_each_block_pair(kept, recomputed, [&](const std::string&, const auto& a, const auto& b) { same = same && a == b; });
  CHECK(same);
  model.set_recompute_activations(true);
  const auto tape = model.forward(std::span<const TokenId>(tokens));
  CHECK(tape.recomputed);
  CHECK(tape.layers[0].q.size() == 0);  // only the layer inputs are kept
}

}  // namespace causalqwen_tests_backbone_qwen2_backward
