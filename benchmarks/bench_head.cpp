// The causal head at the Qwen2.5-0.5B shape (H = D = 896, K+1 = 151937 classes, 256 positions)
// beside the strongest plain baseline in the same binary: the lm_head product on the backend's own
// kernel for the same shape, weight type and threads (BM_lm_head, with its GFLOP/s and GB/s), and
// a plain softmax cross-entropy training step on the same kernels, without and with its AdamW
// update (BM_softmax_step, BM_softmax_step_adamw). Every causal case reports `x_baseline`: its
// time divided by that baseline's of the same weights and threads.
// Arguments: {weights (0 = f32, 1 = bf16), threads}; training cases are f32 (a bf16 head trains in
// float).
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/train/adamw.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {
using namespace causalqwen;
using namespace causalqwen::head;

constexpr std::size_t kHidden = 896;
constexpr std::size_t kClasses = 151937;
constexpr Eigen::Index kPositions = 256;

using Head = CausalHead<float>;

struct Fixture {
  RowMatrix<float> hidden;
  Targets<float> targets;
  std::map<std::pair<std::int64_t, int>, std::unique_ptr<Head>> heads;

  Fixture() {
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
  /// The head for (weights, threads): A random, in float or rounded to bfloat16 on the backend.
  Head& head(std::int64_t weights, int threads) {
    auto& slot = heads[{weights, threads}];
    if (!slot) {
      heads.clear();  // one 0.5-GB head at a time
      std::mt19937_64 rng(1);
      const CpuBackend<float> backend(threads);
      auto random = Head::random(kHidden, kHidden, kClasses, rng, {}, {}, backend);
      if (weights == 1) {
        auto small = random.action().params();
        auto a = backend.upload_weight(std::move(small.class_weight), WeightFormat::bf16);
        typename Head::action_type action(std::move(a), std::move(small), backend);
        random = Head(random.abduction(), std::move(action), random.b_noise());
      }
      heads[{weights, threads}] = std::make_unique<Head>(std::move(random));
      return *heads[{weights, threads}];
    }
    return *slot;
  }
};

std::map<std::pair<std::int64_t, int>, double> lm_head_seconds, lm_head_decode_seconds, softmax_step_seconds,
    softmax_adamw_step_seconds;

std::pair<std::int64_t, int> key(const benchmark::State& state) {
  return {state.range(0), static_cast<int>(state.range(1))};
}

/// Mean seconds of body() over the iterations, after one untimed call: every case is measured
/// warm (outputs and workspaces allocated, pages touched), as in a running model.
template <class Body>
double timed(benchmark::State& state, Body&& body) {
  body();
  double seconds = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  state.SetItemsProcessed(state.iterations() * kPositions);
  state.SetLabel(state.range(0) == 0 ? "f32" : "bf16");
  return seconds / double(state.iterations());
}

/// Keeps a baseline's fastest time over repetitions, so that x_baseline is never flattered by a
/// slow repetition of the baseline.
void record_baseline(std::map<std::pair<std::int64_t, int>, double>& baseline, const benchmark::State& state,
                     double seconds) {
  const auto [it, added] = baseline.try_emplace(key(state), seconds);
  if (!added) it->second = std::min(it->second, seconds);
}

void x_baseline(benchmark::State& state, double seconds, const std::map<std::pair<std::int64_t, int>, double>& baseline) {
  const auto it = baseline.find(key(state));
  if (it != baseline.end() && it->second > 0) state.counters["x_baseline"] = seconds / it->second;
}

/// The head's A as a plain lm_head weight on its backend, in the case's format.
auto lm_head_weight(const Head& head, const benchmark::State& state) {
  return head.backend().upload_weight(head.action().params().class_weight,
                                      state.range(0) == 1 ? WeightFormat::bf16 : WeightFormat::dense);
}

/// logits = h A^T on the backend's matmul: what a plain lm_head costs with the same kernels.
void BM_lm_head(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  const auto& backend = head.backend();
  const auto weight = lm_head_weight(head, state);
  RowMatrix<float> logits;
  const double s = timed(state, [&] {
    backend.matmul(f.hidden, weight, logits);
    benchmark::DoNotOptimize(logits.data());
  });
  record_baseline(lm_head_seconds, state, s);
  const double flops = 2.0 * double(kPositions) * double(kHidden) * double(kClasses);
  const double bytes = double(kHidden) * double(kClasses) * (state.range(0) == 1 ? 2.0 : 4.0);
  state.counters["GFLOP/s"] = flops / s / 1e9;
  state.counters["GB/s"] = bytes / s / 1e9;
}

/// The head's laws for every position, into buffers kept from call to call as BM_lm_head keeps
/// its logits.
void BM_causal_forward(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  HeadForward<float> out;
  const double s = timed(state, [&] {
    head.forward(f.hidden, out);
    benchmark::DoNotOptimize(out.action.class_scale.data());
  });
  x_baseline(state, s, lm_head_seconds);
}

/// Forward plus the argmax decision of every position (no arctangent but the winner's).
void BM_causal_forward_decide(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  HeadForward<float> out;
  const double s = timed(state, [&] {
    head.forward(f.hidden, out);
    const auto pred = head.decide(out.action);
    benchmark::DoNotOptimize(pred.classes.data());
  });
  x_baseline(state, s, lm_head_seconds);
}

/// One decoding step's output layer: the logits of one hidden state and their argmax, as the base
/// model decodes greedily. Measured here, apart from the backbone, because a whole decode's run to
/// run spread on a shared machine is larger than the head's share of it.
void BM_lm_head_decode(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  const auto& backend = head.backend();
  const auto weight = lm_head_weight(head, state);
  const RowMatrix<float> one = f.hidden.topRows(1);
  RowMatrix<float> logits;
  const double s = timed(state, [&] {
    backend.matmul(one, weight, logits);
    Eigen::Index best;
    logits.row(0).maxCoeff(&best);
    benchmark::DoNotOptimize(best);
  });
  state.SetItemsProcessed(state.iterations());
  record_baseline(lm_head_decode_seconds, state, s);
  state.counters["GB/s"] = double(kHidden) * double(kClasses) * (state.range(0) == 1 ? 2.0 : 4.0) / s / 1e9;
}

/// The causal head's decision for one hidden state (generation's deterministic step: abduction,
/// the action in one pass over A, the margin argmax and the winner's probability).
void BM_causal_decide_next(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  const RowMatrix<float> one = f.hidden.topRows(1);
  std::mt19937_64 rng(0);
  const double s = timed(state, [&] {
    const auto d = head.decide_next(one, false, rng);
    benchmark::DoNotOptimize(d.class_id);
  });
  state.SetItemsProcessed(state.iterations());
  x_baseline(state, s, lm_head_decode_seconds);
}

/// A plain lm_head's training step on the same kernels: logits, softmax cross-entropy and its
/// gradient, dA = dlogits^T h and dh = dlogits A.
void softmax_gradients(const CpuBackend<float>& backend, const CpuBackend<float>::Weight& weight, const Fixture& f,
                       RowMatrix<float>& logits, RowMatrix<float>& d_weight, RowMatrix<float>& d_hidden) {
  backend.matmul(f.hidden, weight, logits);
  backend.softmax_rows(logits);
  for (Eigen::Index i = 0; i < kPositions; ++i) logits(i, f.targets.classes[static_cast<std::size_t>(i)]) -= 1.0f;
  backend.multiply(logits, kernels::Op::transpose, f.hidden, kernels::Op::none, d_weight);
  backend.matmul_backward_input(logits, weight, d_hidden);
}

/// The lm_head as a parameter set, for the optimiser.
struct LmHeadParams {
  using scalar_type = float;
  RowMatrix<float> weight;
  auto blocks() { return std::tie(weight); }
  auto blocks() const { return std::tie(weight); }
  static std::vector<std::string> block_names() { return {"weight"}; }
};

train::AdamWOptions<float> benchmark_adamw() {
  train::AdamWOptions<float> adam;
  adam.learning_rate = 1e-6f;  // keeps the benchmark's weights essentially unchanged
  return adam;
}

void BM_softmax_step(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  const auto& backend = head.backend();
  const auto weight = backend.upload_weight(head.action().params().class_weight, WeightFormat::dense);
  RowMatrix<float> logits, d_weight, d_hidden;
  const double s = timed(state, [&] {
    softmax_gradients(backend, weight, f, logits, d_weight, d_hidden);
    benchmark::DoNotOptimize(d_weight.data());
    benchmark::DoNotOptimize(d_hidden.data());
  });
  record_baseline(softmax_step_seconds, state, s);
}

/// The same plus the AdamW update of A, its state allocated before timing; the weight leaves the
/// backend for the update and returns without a copy, as the causal head's does.
void BM_softmax_step_adamw(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  const auto& backend = head.backend();
  LmHeadParams params{head.action().params().class_weight}, gradients;
  train::AdamW<LmHeadParams> optimizer(params, benchmark_adamw());
  auto weight = backend.upload_weight(std::move(params.weight), WeightFormat::dense);
  RowMatrix<float> logits, d_hidden;
  const double s = timed(state, [&] {
    softmax_gradients(backend, weight, f, logits, gradients.weight, d_hidden);
    params.weight = backend.download_weight(std::move(weight));
    optimizer.step(params, gradients);
    weight = backend.upload_weight(std::move(params.weight), WeightFormat::dense);
  });
  record_baseline(softmax_adamw_step_seconds, state, s);
}

/// Forward, loss, analytic gradients of every parameter and of h (no optimiser update), its
/// buffers kept from step to step as a training loop keeps them.
void BM_causal_training_step(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  LossOptions<float> options;
  HeadWorkspace<float> workspace;
  const double s = timed(state, [&] {
    const auto loss = head.loss_and_gradient(f.hidden, f.targets, options, workspace);
    benchmark::DoNotOptimize(loss.total);
    benchmark::DoNotOptimize(workspace.gradient.params.action.class_weight.data());
  });
  x_baseline(state, s, softmax_step_seconds);
}

/// The same plus the AdamW update of all 137M parameters, its state allocated before timing;
/// its baseline is the softmax step with its AdamW update (BM_softmax_step_adamw).
void BM_causal_training_step_adamw(benchmark::State& state) {
  auto& f = Fixture::get();
  Head& head = f.head(state.range(0), static_cast<int>(state.range(1)));
  LossOptions<float> options;
  train::AdamW<HeadParams<float>> optimizer(head.params(), benchmark_adamw());
  HeadWorkspace<float> workspace;
  const double s = timed(state, [&] {
    head.loss_and_gradient(f.hidden, f.targets, options, workspace);
    head.update_params([&](HeadParams<float>& p) { optimizer.step(p, workspace.gradient.params); });
  });
  x_baseline(state, s, softmax_adamw_step_seconds);
}

}  // namespace

BENCHMARK(BM_lm_head)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_forward)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_forward_decide)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_lm_head_decode)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_decide_next)->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_softmax_step)->ArgsProduct({{0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_softmax_step_adamw)->ArgsProduct({{0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_training_step)->ArgsProduct({{0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_training_step_adamw)->ArgsProduct({{0}, {1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();
