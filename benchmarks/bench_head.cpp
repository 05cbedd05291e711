// The causal head at the Qwen2.5-0.5B shape (H = D = 896, K+1 = 151937 classes, 256 positions,
// float) beside a plain linear lm_head of the same shape, in one binary. Each causal benchmark
// reports `x_plain`: its time per iteration divided by the plain benchmark's of the same kind
// (forward vs forward GEMM, training step vs a softmax cross-entropy step), so the cost of the
// causal head over a plain head is printed directly.
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/adamw.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>

namespace {
using namespace causalqwen;
using namespace causalqwen::head;

constexpr std::size_t kHidden = 896;
constexpr std::size_t kClasses = 151937;
constexpr Eigen::Index kPositions = 256;

struct Fixture {
  CausalHead<float> head;
  RowMatrix<float> lm_head;  // plain head W [K+1 x H]
  RowMatrix<float> hidden;
  Targets<float> targets;

  static CausalHead<float> make_head() {
    std::mt19937_64 rng(1);
    return CausalHead<float>::random(kHidden, kHidden, kClasses, rng);
  }
  Fixture() : head(make_head()) {
    lm_head = head.action().params().class_weight;
    std::mt19937_64 rng(2);
    std::normal_distribution<float> normal(0, 1);
    hidden.resize(kPositions, static_cast<Eigen::Index>(kHidden));
    for (Eigen::Index i = 0; i < hidden.size(); ++i) hidden.data()[i] = normal(rng);
    std::uniform_int_distribution<std::int32_t> cls(0, static_cast<std::int32_t>(kClasses) - 1);
    targets.values = Vector<float>::Zero(kPositions);
    for (Eigen::Index i = 0; i < kPositions; ++i) {
      targets.classes.push_back(i % 10 == 0 ? static_cast<std::int32_t>(kClasses) - 1 : cls(rng));
      targets.values(i) = normal(rng);
    }
  }
  static Fixture& get() {
    static Fixture f;
    return f;
  }
};

/// Seconds per iteration of the plain benchmarks, for the x_plain ratios.
double plain_forward_seconds = 0;
double plain_step_seconds = 0;

template <class Body>
double timed(benchmark::State& state, Body&& body) {
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.SetItemsProcessed(state.iterations() * kPositions);
  return seconds / double(state.iterations());
}

void ratio(benchmark::State& state, double seconds, double plain) {
  if (plain > 0) state.counters["x_plain"] = seconds / plain;
}

void BM_PlainHeadForward(benchmark::State& state) {
  auto& f = Fixture::get();
  RowMatrix<float> logits(kPositions, static_cast<Eigen::Index>(kClasses));
  plain_forward_seconds = timed(state, [&] {
    logits.noalias() = f.hidden * f.lm_head.transpose();
    benchmark::DoNotOptimize(logits.data());
  });
}

/// Softmax cross-entropy, its gradient, dW and dh: a plain lm_head's training step.
void BM_PlainHeadTrainingStep(benchmark::State& state) {
  auto& f = Fixture::get();
  RowMatrix<float> logits(kPositions, static_cast<Eigen::Index>(kClasses));
  RowMatrix<float> d_weight(f.lm_head.rows(), f.lm_head.cols());
  RowMatrix<float> d_hidden(kPositions, static_cast<Eigen::Index>(kHidden));
  plain_step_seconds = timed(state, [&] {
    logits.noalias() = f.hidden * f.lm_head.transpose();
#pragma omp parallel for
    for (Eigen::Index i = 0; i < kPositions; ++i) {
      auto row = logits.row(i);
      const float m = row.maxCoeff();
      row = (row.array() - m).exp();
      row /= row.sum();
      row(f.targets.classes[static_cast<std::size_t>(i)]) -= 1.0f;
    }
    d_weight.noalias() = logits.transpose() * f.hidden;
    d_hidden.noalias() = logits * f.lm_head;
    benchmark::DoNotOptimize(d_weight.data());
    benchmark::DoNotOptimize(d_hidden.data());
  });
}

void BM_CausalHeadForward(benchmark::State& state) {
  auto& f = Fixture::get();
  const double s = timed(state, [&] {
    auto out = f.head.forward(f.hidden);
    benchmark::DoNotOptimize(out.action.class_scale.data());
  });
  ratio(state, s, plain_forward_seconds);
}

/// Forward plus the OvR probabilities of every class and the argmax decision.
void BM_CausalHeadForwardDecide(benchmark::State& state) {
  auto& f = Fixture::get();
  const double s = timed(state, [&] {
    auto pred = f.head.predict(f.hidden);
    benchmark::DoNotOptimize(pred.classes.data());
  });
  ratio(state, s, plain_forward_seconds);
}

/// Forward, loss, analytic gradients of every parameter and of h (no optimiser update).
void BM_CausalHeadTrainingStep(benchmark::State& state) {
  auto& f = Fixture::get();
  LossOptions<float> options;
  const double s = timed(state, [&] {
    auto [loss, grad] = f.head.loss_and_gradient(f.hidden, f.targets, options);
    benchmark::DoNotOptimize(grad.params.action.class_weight.data());
  });
  ratio(state, s, plain_step_seconds);
}

/// The same plus the AdamW update of all 137M parameters.
void BM_CausalHeadTrainingStepAdamW(benchmark::State& state) {
  auto& f = Fixture::get();
  LossOptions<float> options;
  train::AdamWOptions<float> adam;
  adam.learning_rate = 1e-6f;  // keeps the benchmark's head essentially unchanged
  train::AdamW<HeadParams<float>> optimizer(f.head.params(), adam);
  const double s = timed(state, [&] {
    auto [loss, grad] = f.head.loss_and_gradient(f.hidden, f.targets, options);
    f.head.update_params([&](HeadParams<float>& p) { optimizer.step(p, grad.params); });
  });
  ratio(state, s, plain_step_seconds);
}

}  // namespace

BENCHMARK(BM_PlainHeadForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CausalHeadForward)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CausalHeadForwardDecide)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_PlainHeadTrainingStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CausalHeadTrainingStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CausalHeadTrainingStepAdamW)->Unit(benchmark::kMillisecond)->UseRealTime();
