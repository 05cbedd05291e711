// The softmax baselines of the causal model: their gradient against central finite differences in
// double, the digit-spelled loss against the backbone's own next-token cross-entropy, training
// through the one trainer, the target scales, the files and their errors.
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/model/softmax_lm.hpp>

#include "../support/errors.hpp"
#include "../support/scratch.hpp"
#include "trainer_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace causalqwen_tests_model_softmax_lm {

using namespace causalqwen;
using causalqwen::testing::error_of;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

template <Real T>
using SoftmaxModel = model::TrainableSoftmaxLM<CpuBackend<T>>;

template <Real T>
SoftmaxModel<T> fresh(const model::testing::TrainerSetup<T>& setup, NumberSpelling numbers,
                      model::TargetTransform target = {}) {
  const Tokenizer tokenizer = Tokenizer::from_json(setup.tokenizer_json);
  const Qwen2Config config = model::testing::tiny_trainable_config(num_token_id(tokenizer));
  return SoftmaxModel<T>::from_base(
      setup.tokenizer_json, load_qwen2_parameters<T>(config, model::random_qwen2_tensors(config, 5, 0.05f), "fresh"),
      numbers, target, CpuBackend<T>(1), "<tokenizer>", 3);
}

/// A random direction in every block of `p` whose name starts with `prefix`, zero elsewhere.
template <class Parameters>
Parameters direction_in(Parameters p, const std::string& prefix, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, 1);
  head::for_each_block(p, [&](const std::string& name, auto& block) {
    if (!name.starts_with(prefix)) {
      block.setZero();
      return;
    }
    for (Eigen::Index i = 0; i < block.size(); ++i) block.data()[i] = normal(rng);
  });
  return p;
}

template <class Parameters>
double dot(const Parameters& a, const Parameters& b) {
  double sum = 0;
  head::for_each_block_pair(a, b, [&](const std::string&, const auto& x, const auto& y) {
    sum += (x.array() * y.array()).sum();
  });
  return sum;
}

/// |numeric - analytic| / max(|analytic|, 1e-6) of the directional derivative along `d`; `lm` is
/// moved along `d` and back (the model holds its tokenizer uniquely, so it is not copied).
double directional_error(SoftmaxModel<double>& lm, std::span<const model::TrainingSequence> batch,
                         const head::LossOptions<double>& options, const SoftmaxModel<double>::Parameters& d) {
  const auto [loss, gradient] = lm.loss_and_gradient(batch, options);
  const auto move = [&](double step) {
    lm.update([&](auto& p) {
      head::for_each_block_pair(p, d, [step](const std::string&, auto& x, const auto& y) { x += step * y; });
    });
  };
  const double h = 1e-5;
  move(h);
  const double plus = lm.loss(batch, options).total;
  move(-2 * h);
  const double minus = lm.loss(batch, options).total;
  move(h);
  const double numeric = (plus - minus) / (2 * h);
  const double analytic = dot(gradient, d);
  return std::abs(numeric - analytic) / std::max(1e-6, std::abs(analytic));
}
}  // namespace

TEST_CASE("TrainableSoftmaxLM: the gradient of every part matches central differences in double") {
  const model::testing::TrainerSetup<double> setup;
  for (const auto scale : {model::TargetScale::raw, model::TargetScale::log_signed, model::TargetScale::standardised}) {
    CAPTURE(to_string(scale));
    const auto probe = fresh(setup, NumberSpelling::num_token);
    const auto data = probe.pack(std::span(setup.documents).first(6), 24);
    REQUIRE(data.size() >= 2);
    const auto target = model::TargetTransform::fit(scale, data, probe.num_token());
    auto lm = fresh(setup, NumberSpelling::num_token, target);
    auto batch = std::span(data.sequences).first(2);
    head::LossOptions<double> options;
    options.lambda = 0.7;
    REQUIRE(lm.loss(batch, options).regression > 0);  // the batch has <NUM> targets
    std::mt19937_64 rng(9);
    for (const std::string part : {"backbone.", "encoding.", "regression.", ""}) {
      CAPTURE(part);
      // Raw targets (years, prices) make the squared error ~1e6, so the differences' rounding
      // (eps * loss / h) allows a few 1e-6 there; the other scales meet 1e-6.
      const double tolerance = scale == model::TargetScale::raw ? 2e-5 : 1e-6;
      CHECK(directional_error(lm, batch, options, direction_in(lm.parameters(), part, rng)) < tolerance);
    }
  }
}

TEST_CASE("TrainableSoftmaxLM: an edit that throws leaves every part in the model, unchanged") {
  const model::testing::TrainerSetup<double> setup;
  auto lm = fresh(setup, NumberSpelling::num_token);
  const auto data = lm.pack(std::span(setup.documents).first(4), 24);
  REQUIRE(data.size() >= 1);
  const auto batch = std::span(data.sequences).first(1);
  const double before = lm.loss(batch, head::LossOptions<double>{}).total;
  CHECK_THROWS_AS(lm.update([](auto&) { throw std::runtime_error("refused"); }), std::runtime_error);
  CHECK(lm.loss(batch, head::LossOptions<double>{}).total == before);
  CHECK(dot(lm.parameters(), lm.parameters()) > 0);
}

TEST_CASE("TrainableSoftmaxLM: with spelled numbers the loss is the backbone's next-token cross-entropy") {
  const model::testing::TrainerSetup<double> setup;
  const auto lm = fresh(setup, NumberSpelling::digits);
  const std::string text = setup.documents.front();
  const auto data = lm.pack(std::span(&text, 1), 256);
  REQUIRE(data.size() == 1);
  const auto& sequence = data.sequences.front();
  CHECK(std::find(sequence.ids.begin(), sequence.ids.end(), lm.num_token()) == sequence.ids.end());
  std::size_t numbers = 0;
  for (const double v : sequence.values) numbers += std::isfinite(v) ? 1 : 0;
  CHECK(numbers == find_numbers(text).size());
  CHECK(lm.tokenizer().decode(sequence.ids).starts_with(text));
  auto gradients = lm.backbone().zero_gradients();
  const double reference = next_token_cross_entropy(lm.backbone(), sequence.ids, gradients);
  const auto value = lm.loss(data.sequences, head::LossOptions<double>{});
  CHECK(value.total == doctest::Approx(reference).epsilon(1e-12));
  CHECK(value.regression == 0);
  CHECK(value.positions == sequence.ids.size() - 1);
}

TEST_CASE("TrainableSoftmaxLM: trains on the one trainer, and its directory loads back to the same model") {
  const model::testing::TrainerSetup<float> setup;
  for (const auto numbers : {NumberSpelling::digits, NumberSpelling::num_token}) {
    auto lm = fresh(setup, numbers);
    const auto split = model::split_documents(setup.documents, 0.2, 1);
    const auto data = lm.pack(split.training, 32), validation = lm.pack(split.validation, 32);
    model::CausalTrainingOptions<float> o;
    o.steps = 40;
    o.batch_size = 4;
    o.seed = 11;
    o.optimizer.learning_rate = 3e-3f;
    o.optimizer.max_grad_norm = 1;
    o.parts.frozen = {};
    const double before = lm.loss(validation.sequences, o.loss).total;
    model::train_causal_lm(lm, data, validation, o);
    const double after = lm.loss(validation.sequences, o.loss).total;
    CHECK(after < 0.8 * before);
    const auto directory = scratch / (numbers == NumberSpelling::digits ? "digits" : "num");
    lm.save(directory);
    const auto loaded = SoftmaxModel<float>::load(directory, CpuBackend<float>(1));
    CHECK(model::testing::identical(lm, loaded));
    CHECK(loaded.numbers() == numbers);
    CHECK(loaded.loss(validation.sequences, o.loss).total == lm.loss(validation.sequences, o.loss).total);
  }
}

TEST_CASE("TargetTransform: each scale inverts, and standardising is fitted to the counted <NUM> targets") {
  const double values[] = {-1234.5, -0.25, 0, 3, 19040};
  model::TargetTransform standard{model::TargetScale::standardised, 10, 4};
  for (const auto& t : {model::TargetTransform{model::TargetScale::raw}, model::TargetTransform{}, standard})
    for (const double v : values) CHECK(t.inverse(t.forward(v)) == doctest::Approx(v).epsilon(1e-12));
  CHECK(model::TargetTransform{}.forward(std::expm1(2.0)) == doctest::Approx(2.0));
  CHECK(standard.forward(18) == doctest::Approx(2.0));

  const double none = std::nan("");
  model::SequenceSet set;
  set.sequences.push_back({{1, 9, 2, 9}, {none, 2, none, 6}, {}});
  set.sequences.push_back({{9, 1, 9}, {100, none, 4}, {0, 1}});  // the first <NUM> is no target, the last is ignored
  const auto fitted = model::TargetTransform::fit(model::TargetScale::standardised, set, 9);
  CHECK(fitted.mean == doctest::Approx(4));
  CHECK(fitted.deviation == doctest::Approx(2));
  set.sequences.pop_back();
  set.sequences.front().ids[3] = 1;
  CHECK(error_of([&] { model::TargetTransform::fit(model::TargetScale::standardised, set, 9); })
            .find("1 <NUM> targets; standardising needs at least 2") != std::string::npos);
  CHECK(error_of([] { model::parse_target_scale("zscore"); }).find("expected raw, standardised or log-signed") !=
        std::string::npos);
}

TEST_CASE("TrainableSoftmaxLM: a directory with a damaged regression file is refused naming the file and field") {
  const model::testing::TrainerSetup<float> setup;
  const auto lm = fresh(setup, NumberSpelling::num_token);
  const auto directory = scratch / "damaged";
  lm.save(directory);
  io::SafetensorsWriter writer;
  writer.set_metadata("format", std::string(model::kRegressionFormat));
  writer.set_metadata("numbers", "hex");
  writer.set_metadata("target_scale", "raw");
  writer.write(directory / model::kRegressionFile);
  const std::string message = error_of([&] { SoftmaxModel<float>::load(directory); });
  CHECK(message.find("regression.safetensors") != std::string::npos);
  CHECK(message.find("'numbers' is 'hex'") != std::string::npos);
  std::filesystem::remove(directory / model::kRegressionFile);
  CHECK(error_of([&] { SoftmaxModel<float>::load(directory); }).find("regression.safetensors") != std::string::npos);
}

}  // namespace causalqwen_tests_model_softmax_lm
