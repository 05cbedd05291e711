// A Qwen2 training step (forward keeping activations + backward to every parameter gradient)
// against the inference forward pass, on a small shape: hidden 256, 4 layers, 4 query heads over
// 2 KV heads of 64, intermediate 704, vocabulary 1024, tied embeddings, 256 tokens, float32.
//
// GFLOP/s counts model FLOPs: the forward's multiply-adds (projections, and attention over the
// causal half of the score matrix) times 2; a training step counts 3 forwards (the backward's
// dX and dW products), as is customary, so the attention probabilities recomputed in the backward
// are work the figure does not credit. Rates are per wall-clock second.

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/model/random_qwen2.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

using namespace causalqwen;

namespace {

constexpr std::int64_t tokens_per_step = 256;

Qwen2Config small_shape() {
  Qwen2Config c;
  c.vocab_size = 1024;
  c.hidden_size = 256;
  c.intermediate_size = 704;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.max_position_embeddings = 1024;
  c.tie_word_embeddings = true;
  return c;
}

double forward_flops(const Qwen2Config& c, std::int64_t t) {
  const double projections = double(c.hidden_size) * double(c.q_size() + 2 * c.kv_size()) +
                             double(c.q_size()) * double(c.hidden_size) +
                             3.0 * double(c.hidden_size) * double(c.intermediate_size);
  const double attention = 2.0 * double(c.num_attention_heads) * double(c.head_dim) * double(t) * double(t + 1) / 2.0;
  return 2.0 * double(c.num_hidden_layers) * (double(t) * projections + attention);
}

std::vector<TokenId> sequence(const Qwen2Config& c) {
  std::vector<TokenId> tokens(static_cast<std::size_t>(tokens_per_step));
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<TokenId>((i * 37 + 11) % std::size_t(c.vocab_size));
  return tokens;
}

void report(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["tokens/s"] = benchmark::Counter(double(tokens_per_step), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_inference_forward(benchmark::State& state) {
  const Qwen2Config c = small_shape();
  const Qwen2<> model(c, model::random_qwen2_tensors(c, 1, 0.05f), CpuBackend<float>(int(state.range(0))),
                      WeightFormat::dense, "random Qwen2");
  const std::vector<TokenId> tokens = sequence(c);
  for (auto _ : state) benchmark::DoNotOptimize(model.hidden_states(std::span<const TokenId>(tokens)));
  report(state, forward_flops(c, tokens_per_step));
}

void BM_training_forward(benchmark::State& state) {
  const Qwen2Config c = small_shape();
  const TrainableQwen2<> model(load_qwen2_parameters<float>(c, model::random_qwen2_tensors(c, 1, 0.05f), "random Qwen2"),
                               CpuBackend<float>(int(state.range(0))));
  const std::vector<TokenId> tokens = sequence(c);
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(std::span<const TokenId>(tokens)));
  report(state, forward_flops(c, tokens_per_step));
}

void BM_training_step(benchmark::State& state) {
  const Qwen2Config c = small_shape();
  const TrainableQwen2<> model(load_qwen2_parameters<float>(c, model::random_qwen2_tensors(c, 1, 0.05f), "random Qwen2"),
                               CpuBackend<float>(int(state.range(0))));
  const std::vector<TokenId> tokens = sequence(c);
  const RowMatrix<float> upstream = RowMatrix<float>::Constant(tokens_per_step, c.hidden_size, 0.01f);
  auto gradients = model.zero_gradients();
  for (auto _ : state) {
    const auto tape = model.forward(std::span<const TokenId>(tokens));
    model.embeddings_backward(tokens, model.backward(tape, upstream, gradients), gradients);
    benchmark::DoNotOptimize(gradients.norm.data());
  }
  report(state, 3 * forward_flops(c, tokens_per_step));
}

}  // namespace

BENCHMARK(BM_inference_forward)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_training_forward)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_training_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
