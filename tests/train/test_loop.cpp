// The one training loop and its pieces: the per-step seeded sampler, resuming mid-run, the
// checkpoint and evaluation hooks, the CSV log, the progress bar, the learning-rate schedule and
// AdamW's state.
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/adamw.hpp>
#include <causalqwen/train/batch_sampler.hpp>
#include <causalqwen/train/head_training.hpp>
#include <causalqwen/train/loop.hpp>
#include <causalqwen/train/progress.hpp>
#include <causalqwen/train/schedule.hpp>
#include <causalqwen/train/synthetic.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace causalqwen_tests_train_loop {

using namespace causalqwen;
using namespace causalqwen::train;

namespace {

const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

Dataset<double> indexed_data(std::size_t n) {
  Dataset<double> d;
  d.hidden.resize(static_cast<Eigen::Index>(n), 1);
  for (std::size_t i = 0; i < n; ++i) d.hidden(static_cast<Eigen::Index>(i), 0) = double(i);
  d.targets.classes.assign(n, 0);
  d.targets.values = Vector<double>::Zero(static_cast<Eigen::Index>(n));
  return d;
}

/// Remembers every batch and one draw of the step's generator.
struct Recorder {
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::uint64_t> draws;
  TrainingRecord operator()(const Minibatch<Dataset<double>>& batch, StepGenerator& rng) {
    for (std::size_t j = 0; j < batch.index.size(); ++j)
      REQUIRE(batch.data.hidden(static_cast<Eigen::Index>(j), 0) == double(batch.index[j]));
    batches.push_back(batch.index);
    draws.push_back(rng());
    TrainingRecord r;
    r.loss = double(batches.size());
    r.positions = batch.index.size();
    return r;
  }
};

std::size_t csv_rows(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::size_t rows = 0;
  while (std::getline(in, line)) ++rows;
  return rows - 1;  // the header
}

}  // namespace

TEST_CASE("sampler: batches without repeats, a function of (seed, step) alone") {
  BatchSampler a(50, 8, 3), b(50, 8, 3);
  std::vector<std::vector<std::size_t>> history;
  for (std::size_t s = 0; s < 20; ++s) {
    auto rng = a.generator(s);
    const auto batch = a.draw(rng);
    CHECK(batch.size() == 8);
    CHECK(std::set<std::size_t>(batch.begin(), batch.end()).size() == 8);
    for (auto i : batch) CHECK(i < 50);
    history.push_back(batch);
  }
  auto late = b.generator(13);  // a fresh sampler straight at step 13
  CHECK(b.draw(late) == history[13]);
  CHECK(history[13] != history[14]);
  auto other_seed = BatchSampler(50, 8, 4).generator(13);
  CHECK(BatchSampler(50, 8, 4).draw(other_seed) != history[13]);

  BatchSampler small(5, 64, 1);  // a batch is at most the data set
  auto rng = small.generator(0);
  auto whole = small.draw(rng);
  std::sort(whole.begin(), whole.end());
  CHECK(whole == std::vector<std::size_t>{0, 1, 2, 3, 4});
  CHECK(a.epoch(0) == 0);
  CHECK(a.epoch(6) == 0);  // 48 of 50 positions
  CHECK(a.epoch(7) == 1);
  CHECK(steps_for_epochs(6, 600, 50) == 72);
  CHECK(steps_for_epochs(2, 601, 50) == 26);
  CHECK_THROWS_AS(BatchSampler(0, 8, 1), causalqwen::error);
  CHECK_THROWS_AS(BatchSampler(10, 0, 1), causalqwen::error);
}

TEST_CASE("loop: a resumed run sees the batches and draws of the uninterrupted one") {
  const auto data = indexed_data(37);
  LoopOptions o;
  o.steps = 12;
  o.batch_size = 10;
  o.seed = 9;
  Recorder straight;
  const auto report = run(data, o, straight);
  CHECK(report.steps == 12);
  CHECK(report.samples == 120);
  CHECK(report.log.front().step == 1);
  CHECK(report.log.back().step == 12);
  CHECK(report.log[3].epoch == 0);  // 30 positions before step 4
  CHECK(report.log[4].epoch == 1);

  Recorder first, second;
  auto part = o;
  part.steps = 5;
  run(data, part, first);
  part.start_step = 5;
  part.steps = 12;
  const auto rest = run(data, part, second);
  CHECK(rest.steps == 7);
  CHECK(rest.log.front().step == 6);
  first.batches.insert(first.batches.end(), second.batches.begin(), second.batches.end());
  first.draws.insert(first.draws.end(), second.draws.begin(), second.draws.end());
  CHECK(first.batches == straight.batches);
  CHECK(first.draws == straight.draws);

  part.start_step = 13;
  CHECK_THROWS_AS(run(data, part, second), causalqwen::error);
}

TEST_CASE("loop: checkpoint and evaluation hooks at their intervals and at the end; the CSV log") {
  const auto data = indexed_data(20);
  LoopOptions o;
  o.steps = 10;
  o.batch_size = 4;
  o.checkpoint_every = 3;
  o.evaluate_every = 4;
  o.csv_log = scratch / "loop.csv";
  std::vector<std::size_t> saved;
  std::vector<std::size_t> csv_at_save;
  int evaluations = 0;
  LoopHooks hooks;
  hooks.checkpoint = [&](std::size_t step) { saved.push_back(step); };
  hooks.evaluate = [&] { return 100.0 + ++evaluations; };
  Recorder step;
  const auto report = run(data, o, step, hooks);
  CHECK(saved == std::vector<std::size_t>{3, 6, 9, 10});
  CHECK(evaluations == 3);
  for (const auto& r : report.log) {
    INFO("step ", r.step);
    CHECK(std::isnan(r.held_out_loss) == (r.step != 4 && r.step != 8 && r.step != 10));
  }
  CHECK(report.log[7].held_out_loss == 102.0);
  CHECK(csv_rows(o.csv_log) == 10);

  o.evaluate_every = 2;
  hooks.evaluate = nullptr;  // an interval without an evaluation is an error, not a silent no-op
  CHECK_THROWS_AS(run(data, o, step, hooks), causalqwen::error);
  o.evaluate_every = 0;
  o.batch_size = 0;
  CHECK_THROWS_AS(run(data, o, step, hooks), causalqwen::error);
}

TEST_CASE("progress bar: step, loss, throughput, ETA, held-out loss") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(65.4) == "1:05");
  CHECK(format_duration(3725) == "1:02:05");
  const std::string line = progress_line(5, 10, 1.23456, 2500.4, "tokens", 7.2, std::nan(""));
  CHECK(line.find("[==============>             ]") == 0);
  CHECK(line.find("step 5/10  loss 1.2346  2500 tokens/s  ETA 0:07") != std::string::npos);
  CHECK(line.find("held-out") == std::string::npos);
  CHECK(progress_line(10, 10, 0.5, 1, "samples", 0, 0.75).find("held-out 0.7500") != std::string::npos);

  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  ProgressBar bar(2, 6, "samples", out, 1e9);  // redraws only on the last step
  bar.update(3, 2.0, 10, 1.0);
  bar.update(4, 1.5, 20, 2.0, 1.25);
  bar.update(6, 1.0, 40, 4.0);
  bar.finish();
  std::rewind(out);
  std::string text(256, '\0');
  text.resize(std::fread(text.data(), 1, text.size(), out));
  std::fclose(out);
  std::string expected = "\r";
  expected += progress_line(3, 6, 2.0, 10.0, "samples", 3.0, std::nan(""));
  expected += " \r";
  expected += progress_line(6, 6, 1.0, 10.0, "samples", 0.0, 1.25);
  expected += " \n";
  CHECK(text == expected);
  CHECK_THROWS_AS(ProgressBar(5, 4), causalqwen::error);
}

TEST_CASE("learning-rate schedule: constant, warm-up, cosine; AdamW applies it") {
  LearningRateSchedule<double> constant;
  CHECK(constant.factor(1) == 1.0);
  CHECK(constant.factor(1000) == 1.0);
  LearningRateSchedule<double> warm{ScheduleKind::constant, 4, 0, 0};
  CHECK(warm.factor(1) == 0.25);
  CHECK(warm.factor(4) == 1.0);
  CHECK(warm.factor(5) == 1.0);
  LearningRateSchedule<double> cosine{ScheduleKind::cosine, 2, 12, 0.1};
  CHECK(cosine.factor(1) == 0.5);
  CHECK(cosine.factor(2) == 1.0);
  CHECK(cosine.factor(7) == doctest::Approx(0.55));  // half way: (1 + 0.1) / 2
  CHECK(cosine.factor(12) == doctest::Approx(0.1));
  CHECK(cosine.factor(50) == doctest::Approx(0.1));
  CHECK(cosine.factor(3) < 1.0);
  CHECK(cosine.factor(3) > cosine.factor(4));
  CHECK_THROWS_AS((LearningRateSchedule<double>{ScheduleKind::cosine, 5, 5, 0}.validate()), causalqwen::error);
  CHECK_THROWS_AS((LearningRateSchedule<double>{ScheduleKind::constant, 0, 0, 2}.validate()), causalqwen::error);

  std::mt19937_64 rng(1);
  auto head = head::CausalHead<double>::random(3, 2, 3, rng);
  auto p = head.params();
  const auto g = p;
  AdamWOptions<double> o;
  o.learning_rate = 0.1;
  o.schedule = cosine;
  AdamW<head::HeadParams<double>> optimizer(p, o);
  for (std::size_t s = 1; s <= 12; ++s) CHECK(optimizer.step(p, g).learning_rate == 0.1 * cosine.factor(s));
  o.schedule.total_steps = 1;
  CHECK_THROWS_AS((AdamW<head::HeadParams<double>>(p, o)), causalqwen::error);
}

TEST_CASE("AdamW: moments exist from construction; wrong shapes and states are errors") {
  using P = head::HeadParams<double>;
  std::mt19937_64 rng(2);
  const auto head = head::CausalHead<double>::random(4, 3, 5, rng);
  P p = head.params();
  AdamW<P> optimizer(p);
  const auto state = optimizer.state();
  CHECK(state.steps == 0);
  REQUIRE(state.first.size() == P::block_names().size());
  std::size_t i = 0;
  head::for_each_block(p, [&](const std::string&, const auto& block) {
    CHECK(state.first[i].size() == block.size());
    CHECK(state.second[i].isZero(0));
    ++i;
  });
  const P before = p;
  P wrong = p;
  wrong.b_noise.resize(7);
  CHECK_THROWS_AS(optimizer.step(p, wrong), causalqwen::error);
  CHECK(head::squared_norm(p - before) == 0.0);  // nothing moved
  auto bad_state = state;
  bad_state.first.pop_back();
  CHECK_THROWS_AS(optimizer.restore(bad_state), causalqwen::error);
  bad_state = state;
  bad_state.second[0](0) = -1;
  CHECK_THROWS_AS(optimizer.restore(bad_state), causalqwen::error);
}

TEST_CASE("head training: held-out loss at the evaluation interval, the schedule in the log") {
  SyntheticConfig<float> c;
  c.hidden = 16;
  c.latent = 4;
  c.classes = 6;
  const SyntheticTask<float> task(c);
  const auto data = task.sample(400, 1), held_out = task.sample(200, 2);
  std::mt19937_64 rng(5);
  auto model = head::CausalHead<float>::random(16, 4, 6, rng);
  HeadTrainingOptions<float> o;
  o.epochs = 3;
  o.batch_size = 50;
  o.evaluate_every = 5;
  o.optimizer.schedule = {ScheduleKind::cosine, 4, 24, 0};
  const auto report = train_head(model, data, held_out, o);
  CHECK(report.steps == 24);
  CHECK(report.log[3].learning_rate == doctest::Approx(o.optimizer.learning_rate));
  CHECK(report.log.back().learning_rate == doctest::Approx(0.0));
  CHECK(std::isnan(report.log[3].held_out_loss));
  CHECK(report.log[4].held_out_loss > report.log.back().held_out_loss);
  StepGenerator eval_rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  CHECK(report.log.back().held_out_loss ==
        double(model.loss(held_out.hidden, held_out.targets, o.loss, &eval_rng).total));
  o.evaluate_every = 0;
  o.checkpoint_every = 4;  // without a checkpoint file
  CHECK_THROWS_AS(train_head(model, data, o), causalqwen::error);
}

}  // namespace causalqwen_tests_train_loop
