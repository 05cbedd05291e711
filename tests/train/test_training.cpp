// Mock mode end to end: synthetic data from a known causal head, training from random init,
// AdamW (clipping, frozen layers, schedule), determinism, the CSV log, the one training loop
// (sampler, hooks, progress bar), and the mock backbone.
#include <causalqwen/backbone/mock_backbone.hpp>
#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/head/metrics.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/synthetic.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/head_training.hpp>
#include <causalqwen/train/loop.hpp>
#include <causalqwen/train/progress.hpp>
#include <causalqwen/train/schedule.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_train_training {

using namespace causalqwen;
using namespace causalqwen::head;
using namespace causalqwen::train;

namespace {

template <class Head>
Metrics evaluate_on(const Head& h, const Dataset<float>& d) {
  const auto p = h.predict(d.hidden);
  return evaluate(p.classes, p.confidence, p.value_loc, p.value_scale, d.targets, h.classes());
}

SyntheticConfig<float> task_config() {
  SyntheticConfig<float> c;
  c.hidden = 64;
  c.latent = 16;
  c.classes = 51;  // K = 50 plus <NUM>
  c.num_share = 0.2;
  return c;
}

}  // namespace

TEST_CASE("synthetic data: shapes, <NUM> share, determinism") {
  const SyntheticTask<float> task(task_config());
  const auto a = task.sample(4000, 7);
  const auto b = task.sample(4000, 7);
  CHECK(a.hidden.rows() == 4000);
  CHECK(a.hidden.cols() == 64);
  CHECK(a.hidden == b.hidden);
  CHECK(a.targets.classes == b.targets.classes);
  std::size_t num = 0;
  for (auto c : a.targets.classes) num += c == 50 ? 1 : 0;
  CHECK(double(num) / 4000.0 == doctest::Approx(0.2).epsilon(0.25));
  CHECK(task.sample(10, 8).hidden != task.sample(10, 7).hidden);
  SyntheticConfig<float> bad = task_config();
  bad.num_share = 1.0;
  CHECK_THROWS_AS(SyntheticTask<float>{bad}, causalqwen::error);
}

TEST_CASE("synthetic individuals are drawn with the library's sampler (cauchy/sampling.hpp)") {
  // One latent coordinate and value = w u + b: the drawn individual u is recoverable from the target
  // (to rounding: -march=native may contract loc + scale * e into an FMA on one side only).
  SyntheticConfig<double> c;
  c.hidden = 3;
  c.latent = 1;
  c.classes = 3;
  c.num_share = 0.3;
  const SyntheticTask<double> task(c);
  std::mt19937_64 normal_rng(4);
  std::normal_distribution<double> normal(0, 1);
  RowMatrix<double> hidden(50, 3);
  for (Eigen::Index i = 0; i < hidden.size(); ++i) hidden.data()[i] = normal(normal_rng);
  const auto data = task.label(hidden, 17);
  const auto latent = task.ground_truth().abduction().forward(hidden);
  const auto& action = task.ground_truth().action().params();
  std::mt19937_64 replay(17);
  for (Eigen::Index i = 0; i < hidden.rows(); ++i) {
    const double u = sample(Cauchy<double>(latent.loc(i, 0), latent.scale(i, 0)), replay).value;
    CHECK(data.targets.values(i) == doctest::Approx(u * action.value_weight(0) + action.value_bias(0)).epsilon(1e-15));
  }
}

TEST_CASE("training from random init approaches the ground truth (H = 64, D = 16, K = 50), over 5 seeds") {
  // Each seed draws another ground truth, data set, initialisation and batch order. On these seeds
  // the trained head reaches 0.86-1.03x the ground truth's held-out accuracy and 1.03-1.21x its
  // <NUM> median absolute error (seed 1 is the old single-seed test, the best case; 4, 42 and 77 sit
  // below 0.9x). The accuracy ratio of one run varies by ~0.02 (binomial, 4000 held-out positions,
  // accuracy ~0.35), so 0.8x is ~3 sigma under the worst seed, and 1.5x keeps the error bar of the
  // single-seed test; a head that does not learn stays near its random-init accuracy (< 1/3 of it).
  for (const std::uint64_t seed : {1, 4, 5, 42, 77}) {
    CAPTURE(seed);
    SyntheticConfig<float> config = task_config();
    config.seed = seed;
    const SyntheticTask<float> task(config);
    const auto train_set = task.sample(6000, seed + 10);
    const auto held_out = task.sample(4000, seed + 11);
    const auto truth = evaluate_on(task.ground_truth(), held_out);

    std::mt19937_64 rng(seed + 2);
    auto model = CausalHead<float>::random(64, 16, 51, rng);
    const auto before = evaluate_on(model, held_out);
    HeadTrainingOptions<float> options;
    options.epochs = 16;
    options.batch_size = 128;
    options.optimizer.learning_rate = 0.01f;
    options.seed = seed + 4;
    options.csv_log = causalqwen::testing::scratch_directory(__FILE__) / "train.csv";
    const auto report = train_head(model, train_set, options);
    const auto after = evaluate_on(model, held_out);
    MESSAGE("seed ", seed, ": accuracy ", after.accuracy / truth.accuracy, "x ground truth (", after.accuracy,
            "), <NUM> median AE ", after.value_median_ae / truth.value_median_ae, "x (", after.value_median_ae, ")");
    CHECK(after.accuracy >= 0.8 * truth.accuracy);
    CHECK(after.value_median_ae <= 1.5 * truth.value_median_ae);
    CHECK(after.accuracy > 3 * before.accuracy);
    CHECK(report.log.back().loss < report.log.front().loss);

    std::ifstream csv(options.csv_log);
    std::string line;
    std::getline(csv, line);
    CHECK(line == "step,epoch,loss,classification,regression,accuracy,gradient_norm,seconds,learning_rate,held_out_loss");
    std::size_t rows = 0;
    while (std::getline(csv, line)) ++rows;
    CHECK(rows == report.steps);
  }
}

TEST_CASE("training is deterministic for a seed") {
  const SyntheticTask<float> task(task_config());
  const auto data = task.sample(600, 1);
  auto run = [&](std::uint64_t seed, InferenceMode mode) {
    std::mt19937_64 rng(9);
    auto model = CausalHead<float>::random(64, 16, 51, rng, {}, {mode, 1.0f});
    HeadTrainingOptions<float> o;
    o.epochs = 2;
    o.batch_size = 64;
    o.seed = seed;
    train_head(model, data, o);
    return model.params();
  };
  for (const auto mode : {InferenceMode::standard, InferenceMode::sampling}) {
    const auto a = run(4, mode), b = run(4, mode), c = run(5, mode);
    CHECK(squared_norm(a - b) == 0.0f);
    CHECK(squared_norm(a - c) > 0.0f);
  }
}

TEST_CASE("AdamW: converges on a quadratic, clips the global norm, leaves frozen blocks alone") {
  using P = HeadParams<double>;
  std::mt19937_64 rng(1);
  auto head = CausalHead<double>::random(3, 2, 3, rng);
  P target = head.params();
  P x = zeros_like(target);
  AdamWOptions<double> o;
  o.learning_rate = 0.05;
  AdamW<P> opt(x, o);
  for (int i = 0; i < 800; ++i) opt.step(x, x - target);  // gradient of |x - target|^2 / 2
  CHECK(squared_norm(x - target) < 1e-6 * squared_norm(target));

  o.max_grad_norm = 1.0;
  P y = zeros_like(target);
  AdamW<P> clipped(y, o);
  clipped.freeze("action.");
  P g = zeros_like(target);
  for_each_block(g, [](const std::string&, auto& b) { b.setConstant(10.0); });
  const auto info = clipped.step(y, g);
  CHECK(info.clipped);
  const double unfrozen = double(parameter_count(target) - parameter_count(target.action));
  CHECK(info.gradient_norm == doctest::Approx(10.0 * std::sqrt(unfrozen)));
  CHECK(y.action.class_weight.isZero(0));
  CHECK(y.action.class_bias.isZero(0));
  CHECK(y.abduction.loc_weight.maxCoeff() < 0);  // moved against the gradient
  P bad = g;
  bad.b_noise(0) = std::nan("");
  CHECK_THROWS_AS(clipped.step(y, bad), causalqwen::error);
  o.learning_rate = -1;
  CHECK_THROWS_AS(AdamW<P>(y, o), causalqwen::error);
}

TEST_CASE("AdamW: every entry of a block longer than the update's chunk follows the textbook update") {
  // A has 3001 x 3 entries: two chunks and a partial third; every entry gets its own gradient.
  using P = HeadParams<double>;
  std::mt19937_64 rng(2);
  P x = CausalHead<double>::random(3, 3, 3001, rng).params();
  P g = zeros_like(x);
  std::normal_distribution<double> normal(0, 1);
  for_each_block(g, [&](const std::string&, auto& b) {
    for (Eigen::Index i = 0; i < b.size(); ++i) b.data()[i] = normal(rng);
  });
  AdamWOptions<double> o;
  o.learning_rate = 0.01;
  o.weight_decay = 0.1;
  AdamW<P> opt(x, o);
  const Eigen::ArrayXd start = Eigen::Map<const Eigen::ArrayXd>(x.action.class_weight.data(), x.action.class_weight.size());
  const Eigen::ArrayXd grad = Eigen::Map<const Eigen::ArrayXd>(g.action.class_weight.data(), g.action.class_weight.size());
  Eigen::ArrayXd expected = start, first = Eigen::ArrayXd::Zero(start.size()), second = first;
  for (int step = 1; step <= 2; ++step) {
    opt.step(x, g);
    first = o.beta1 * first + (1 - o.beta1) * grad;
    second = o.beta2 * second + (1 - o.beta2) * grad.square();
    expected *= 1 - o.learning_rate * o.weight_decay;
    expected -= o.learning_rate * (first / (1 - std::pow(o.beta1, step))) /
                ((second / (1 - std::pow(o.beta2, step))).sqrt() + o.epsilon);
  }
  const Eigen::Map<const Eigen::ArrayXd> got(x.action.class_weight.data(), x.action.class_weight.size());
  CHECK((got - expected).abs().maxCoeff() <= 1e-15);
  CHECK((got - start).abs().minCoeff() > 0);  // every entry moved
}

TEST_CASE("training with the action frozen changes only the abduction (and noise)") {
  const SyntheticTask<float> task(task_config());
  const auto data = task.sample(300, 2);
  std::mt19937_64 rng(4);
  auto model = CausalHead<float>::random(64, 16, 51, rng);
  const auto before = model.params();
  HeadTrainingOptions<float> o;
  o.epochs = 1;
  o.frozen = {"action."};
  train_head(model, data, o);
  const auto after = model.params();
  CHECK(squared_norm(after.action - before.action) == 0.0f);
  CHECK(squared_norm(after.abduction - before.abduction) > 0.0f);
}

TEST_CASE("mock backbone: shape, determinism, causal prefix dependence") {
  static_assert(Backbone<MockBackbone<float>>);
  const MockBackbone<float> mock(33, 7);
  const std::vector<TokenId> a = {5, 9, 2, 7}, b = {5, 9, 3, 7};
  const auto ha = mock.hidden_states(a);
  CHECK(ha.rows() == 4);
  CHECK(ha.cols() == 33);
  CHECK(ha == mock.hidden_states(a));
  const auto hb = mock.hidden_states(b);
  CHECK(ha.topRows(2) == hb.topRows(2));  // positions before the change are unaffected
  CHECK(ha.row(2) != hb.row(2));
  CHECK(ha.row(3) != hb.row(3));  // later positions see the changed prefix
  CHECK(MockBackbone<float>(33, 8).hidden_states(a) != ha);
  const auto big = mock.hidden_states(std::vector<TokenId>(200, 1));
  CHECK(std::abs(big.mean()) < 0.05f);
  CHECK(big.array().square().mean() == doctest::Approx(1.0).epsilon(0.05));
  CHECK_THROWS_AS(mock.hidden_states(std::vector<TokenId>{1, -2}), causalqwen::error);
}

}  // namespace causalqwen_tests_train_training
