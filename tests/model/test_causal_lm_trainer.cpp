#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/model/trainable_causal_lm.hpp>

#include "../support/errors.hpp"
#include "../support/scratch.hpp"
#include "trainer_fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace causalqwen_tests_model_causal_lm_trainer {

using namespace causalqwen;
using causalqwen::testing::error_of;
using Model = model::TrainableCausalLM<CpuBackend<float>>;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

using Setup = model::testing::TrainerSetup<float>;
using model::testing::identical;

model::CausalTrainingOptions<float> options(std::size_t steps) {
  model::CausalTrainingOptions<float> o;
  o.steps = steps;
  o.batch_size = 4;
  o.seed = 11;
  o.optimizer.learning_rate = 3e-3f;
  o.optimizer.max_grad_norm = 1;
  return o;
}

double largest_difference(const Model& a, const Model& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  double worst = 0;
  head::for_each_block_pair(pa, pb, [&](const std::string&, const auto& x, const auto& y) {
    if (x.size() > 0) worst = std::max(worst, double((x - y).cwiseAbs().maxCoeff()));
  });
  return worst;
}
}  // namespace

TEST_CASE("train_causal_lm: a fresh model learns text with numbers; the validation loss falls") {
  const Setup setup;
  Model lm = setup.fresh();
  const auto split = model::split_documents(setup.documents, 0.2, 1);
  const auto data = lm.pack(split.training, 32), validation = lm.pack(split.validation, 32);
  auto o = options(40);
  o.evaluate_every = 20;
  o.csv_log = scratch / "log.csv";
  const auto report = model::train_causal_lm(lm, data, validation, o);
  REQUIRE(report.log.size() == 40);
  CHECK(std::isnan(report.log[0].held_out_loss));
  const double initial = double(lm.loss(validation.sequences, o.loss).total);  // after training
  const double at_20 = report.log[19].held_out_loss, at_40 = report.log[39].held_out_loss;
  const Model untrained = setup.fresh();
  const double before = double(untrained.loss(validation.sequences, o.loss).total);
  CHECK(at_40 < at_20);
  CHECK(at_40 < 0.8 * before);
  CHECK(initial == doctest::Approx(at_40).epsilon(1e-4));
  CHECK(std::filesystem::exists(o.csv_log));
}

TEST_CASE("train_causal_lm: a run resumed from its checkpoint is bit-identical to the uninterrupted run") {
  const Setup setup;
  const Model start = setup.fresh();
  const auto data = start.pack(setup.documents, 24);
  auto o = options(6);

  Model straight = setup.fresh();
  model::train_causal_lm(straight, data, {}, o);

  const auto dir = scratch / "resume";
  std::filesystem::remove_all(dir);
  auto first = o;
  first.steps = 3;
  first.checkpoint = dir;
  Model interrupted = setup.fresh();
  model::train_causal_lm(interrupted, data, {}, first);
  CHECK(std::filesystem::exists(dir / "optimizer.safetensors"));
  CHECK(!std::filesystem::exists(dir.string() + ".tmp"));

  auto second = o;
  second.checkpoint = dir;
  second.resume = true;
  Model resumed = setup.fresh(99);  // replaced by the checkpoint's model
  const auto report = model::train_causal_lm(resumed, data, {}, second);
  CHECK(report.steps == 3);
  CHECK(report.log.front().step == 4);
  CHECK(identical(resumed, straight));
  CHECK(!identical(resumed, start));
}

TEST_CASE("train_causal_lm: gradient accumulation gives the step of the whole batch") {
  const Setup setup;
  const Model start = setup.fresh();
  const auto data = start.pack(setup.documents, 24);
  Model whole = setup.fresh(), accumulated = setup.fresh();
  auto o = options(2);
  model::train_causal_lm(whole, data, {}, o);
  o.micro_batch = 1;
  model::train_causal_lm(accumulated, data, {}, o);
  // Summing in another order rounds differently, and AdamW's m / sqrt(v) magnifies that on
  // parameters whose gradient is small (measured 3.5e-7 with GCC -O3, 1.3e-5 with Clang -O1).
  // 1 % of the largest possible movement (steps x lr) bounds it; a batch of three of the four
  // sequences, what losing one micro batch would train on, lands far outside (1.2e-2).
  const double bound = 0.01 * 2 * double(o.optimizer.learning_rate);
  CHECK(largest_difference(whole, accumulated) < bound);
  CHECK(!identical(whole, start));
  Model partial = setup.fresh();
  o.batch_size = 3;
  model::train_causal_lm(partial, data, {}, o);
  CHECK(largest_difference(whole, partial) > 100 * bound);
}

TEST_CASE("train_causal_lm: frozen parts keep their values") {
  const Setup setup;
  const Model start = setup.fresh();
  const auto data = start.pack(setup.documents, 24);
  auto o = options(2);

  Model head_only = setup.fresh();
  o.parts = model::TrainedParts::parse("head", 2);
  model::train_causal_lm(head_only, data, {}, o);
  CHECK(head_only.backbone().parameters().qkv == start.backbone().parameters().qkv);
  CHECK(head_only.head().params().action.class_bias != start.head().params().action.class_bias);

  Model last = setup.fresh();
  o.parts = model::TrainedParts::parse("last:1", 2);
  model::train_causal_lm(last, data, {}, o);
  const auto& before = start.backbone().parameters();
  const auto& after = last.backbone().parameters();
  const auto rows = before.qkv.rows() / 2;
  CHECK(after.qkv.topRows(rows) == before.qkv.topRows(rows));
  CHECK(after.qkv.bottomRows(rows) != before.qkv.bottomRows(rows));
  CHECK(after.embed_tokens == before.embed_tokens);
  CHECK(after.norm != before.norm);

  CHECK(error_of([] { model::TrainedParts::parse("last:3", 2); }).find("from 0 to the model's 2 layers") != std::string::npos);
  CHECK(error_of([] { model::TrainedParts::parse("everything", 2); }).find("expected all, head") != std::string::npos);
}

TEST_CASE("TrainableCausalLM: save and load give the same model; the directory is a Qwen2 checkpoint") {
  const Setup setup;
  const Model lm = setup.fresh();
  const auto dir = scratch / "saved";
  std::filesystem::remove_all(dir);
  lm.save(dir);
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "causal_head.safetensors",
                           "value_encoding.safetensors"})
    CHECK(std::filesystem::exists(dir / file));
  const Model loaded = Model::load(dir);
  CHECK(identical(lm, loaded));
  const auto data = lm.pack(setup.documents, 24);
  CHECK(lm.loss(data.sequences, {}).total == loaded.loss(data.sequences, {}).total);
  // The backbone loads as a plain Qwen2 (the <NUM> row included).
  const Qwen2<> base(dir);
  CHECK(base.vocab_size() == lm.backbone().vocab_size());

  lm.save(scratch / "saved_bf16", io::DType::BF16);
  const Model half = Model::load(scratch / "saved_bf16");
  CHECK(largest_difference(lm, half) < 0.01);
}

TEST_CASE("causal_lm_loss: an ignored target is the same as a shorter sequence") {
  const Setup setup;
  const Model lm = setup.fresh();
  const auto data = lm.pack(setup.documents, 12);
  model::TrainingSequence masked = data.sequences[0];
  masked.ignore.assign(masked.ids.size() - 1, 0);
  masked.ignore.back() = 1;
  model::TrainingSequence shorter = data.sequences[0];
  shorter.ids.pop_back();
  shorter.values.pop_back();
  shorter.ignore.clear();
  const auto a = lm.loss(std::span(&masked, 1), {}), b = lm.loss(std::span(&shorter, 1), {});
  CHECK(a.positions == b.positions);
  CHECK(double(a.total) == doctest::Approx(double(b.total)).epsilon(1e-5));
  masked.ignore.assign(masked.ids.size() - 1, 1);
  CHECK(error_of([&] { lm.loss(std::span(&masked, 1), {}); }).find("every target of the batch is ignored") !=
        std::string::npos);
}

}  // namespace causalqwen_tests_model_causal_lm_trainer
