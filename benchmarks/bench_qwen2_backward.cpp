// A Qwen2 training step (forward keeping activations + backward to every parameter gradient)
// against the inference forward pass, on a small shape: hidden 256, 4 layers, 4 query heads over
// 2 KV heads of 64, intermediate 704, vocabulary 1024, tied embeddings, 256 tokens, float32.
//
// BM_causal_lm_step/<shape>/<threads> is the whole end-to-end training step of the causal model
// (backbone + <NUM> encoding + causal head: loss, every gradient, AdamW update with clipping) on
// 256 tokens: shape 0 is the small shape above, 1 the Qwen2.5-0.5B shape (hidden 896, 24 layers,
// 14 query heads over 2 KV heads of 64, intermediate 4864, K + 1 = 151 666 classes, tied). Its
// peer is benchmarks/peers/torch_causal_lm_step.py with the same shapes.
//
// GFLOP/s counts model FLOPs: the forward's multiply-adds (projections, and attention over the
// causal half of the score matrix) times 2; a training step counts 3 forwards (the backward's
// dX and dW products), as is customary, so the attention probabilities recomputed in the backward
// are work the figure does not credit. Rates are per wall-clock second.

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/backbone/qwen2_parameters.hpp>
#include <causalqwen/backbone/qwen2_training.hpp>
#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/model/random_qwen2.hpp>
#include <causalqwen/model/trainable_causal_lm.hpp>
#include <causalqwen/tokenizer/bpe_training.hpp>

#include "qwen2_shapes.hpp"

#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>
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

/// A byte-level tokenizer.json with `ids` ids (the bytes, then placeholder tokens): the causal
/// model's classes need a tokenizer of the shape's size, not its text.
std::string tokenizer_of_size(std::int64_t ids) {
  nlohmann::json json = nlohmann::json::parse(byte_level_tokenizer_json({}, {}));
  for (std::int64_t id = 256; id < ids; ++id) json["model"]["vocab"]["<t" + std::to_string(id) + ">"] = id;
  return json.dump();
}

void BM_causal_lm_step(benchmark::State& state) {
  Qwen2Config c = small_shape();
  if (state.range(0) == 1) {
    c = benchmarks::qwen25_05b();
    c.vocab_size = 151666;  // Qwen2.5's tokenizer uses 151 665 ids; <NUM> is the next
  }
  using Model = model::TrainableCausalLM<CpuBackend<float>>;
  Model lm = Model::from_base(tokenizer_of_size(c.vocab_size - 1),
                              load_qwen2_parameters<float>(c, model::random_qwen2_tensors(c, 1, 0.02f), "random Qwen2"),
                              {}, CpuBackend<float>(int(state.range(1))));
  // One sequence of 257 tokens (256 next-token positions) with a <NUM> every 16 tokens.
  model::SequenceSet data;
  model::TrainingSequence& s = data.sequences.emplace_back();
  for (std::int64_t t = 0; t <= tokens_per_step; ++t) {
    const bool num = t % 16 == 15;
    s.ids.push_back(num ? lm.num_token() : static_cast<TokenId>((t * 37 + 11) % (c.vocab_size - 1)));
    s.values.push_back(num ? 1.5 * double(t) : std::nan(""));
  }
  model::CausalTrainingOptions<float> options;
  options.optimizer.learning_rate = 1e-5f;
  options.optimizer.max_grad_norm = 1;
  model::CausalLMTrainer<Model> trainer(lm, options);
  train::StepGenerator rng(1);
  trainer.step(data.sequences, rng);  // the first step touches every buffer; the timed steps are warm
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(data.sequences, rng).loss);
  report(state, 3 * (forward_flops(c, tokens_per_step) +
                     2.0 * double(tokens_per_step) * double(c.vocab_size) * double(c.hidden_size) * 2.0));
}

}  // namespace

BENCHMARK(BM_inference_forward)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_training_forward)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_training_step)->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_causal_lm_step)->ArgNames({"shape", "threads"})->ArgsProduct({{0, 1}, {1, 2}})->Unit(benchmark::kMillisecond)
    ->UseRealTime()->MinTime(2.0);
