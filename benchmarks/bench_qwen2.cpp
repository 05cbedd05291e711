// Qwen2 backbone throughput at the exact Qwen2.5-0.5B shape (random weights made in memory):
// prompt processing of 128 and 512 tokens and decoding 64 tokens after a 128-token prompt, with
// float32 and bfloat16 weights on 1 and 2 threads; bfloat16 weights at the backend's default
// precision (activations rounded to bfloat16 in prompt GEMMs, label "bf16") and at exact precision
// (float activations, label "bf16-exact"). Baselines measured in the same binary: a plain
// Eigen GEMM of one layer's MLP shape (arithmetic bound) and a streaming read of the bf16 weights
// (bandwidth bound), so figures on a noisy shared machine can be compared as ratios.
//
// Rates are per wall-clock second. Run with e.g. --benchmark_min_time=0.1 (each prompt/decode case
// runs one iteration anyway).

#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/head/causal_head.hpp>
#include <causalqwen/io/tensor_store.hpp>

#include "qwen2_shapes.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

using namespace causalqwen;

namespace {

/// Cheap reproducible values in [-0.05, 0.05] (norm weights near 1): a normal generator would
/// take longer than the benchmark for half a billion weights.
void fill(std::vector<float>& values, std::uint64_t seed, float offset) {
  std::uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (float& v : values) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    v = offset + (static_cast<float>(state >> 40) / 16777216.0f - 0.5f) * 0.1f;
  }
}

io::TensorStore random_weights(const Qwen2Config& c, io::DType dtype) {
  io::TensorStore store;
  std::uint64_t seed = 0;
  const auto add = [&](const std::string& name, std::vector<std::int64_t> shape, float offset) {
    std::vector<float> values(static_cast<std::size_t>(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>())));
    fill(values, ++seed, offset);
    const io::DType stored = shape.size() == 1 ? io::DType::F32 : dtype;
    std::vector<std::byte> bytes(values.size() * io::dtype_size(stored));
    io::store_elements(stored, values.data(), values.size(), bytes.data());
    store.add_raw(name, stored, std::move(shape), bytes);
  };
  add("model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, 0);
  for (std::int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", {c.hidden_size}, 1);
    add(p + "self_attn.q_proj.weight", {c.q_size(), c.hidden_size}, 0);
    add(p + "self_attn.q_proj.bias", {c.q_size()}, 0);
    add(p + "self_attn.k_proj.weight", {c.kv_size(), c.hidden_size}, 0);
    add(p + "self_attn.k_proj.bias", {c.kv_size()}, 0);
    add(p + "self_attn.v_proj.weight", {c.kv_size(), c.hidden_size}, 0);
    add(p + "self_attn.v_proj.bias", {c.kv_size()}, 0);
    add(p + "self_attn.o_proj.weight", {c.hidden_size, c.q_size()}, 0);
    add(p + "post_attention_layernorm.weight", {c.hidden_size}, 1);
    add(p + "mlp.gate_proj.weight", {c.intermediate_size, c.hidden_size}, 0);
    add(p + "mlp.up_proj.weight", {c.intermediate_size, c.hidden_size}, 0);
    add(p + "mlp.down_proj.weight", {c.hidden_size, c.intermediate_size}, 0);
  }
  add("model.norm.weight", {c.hidden_size}, 1);
  return store;
}

/// Weight kinds of the benchmarks' first argument: 0 float32, 1 bfloat16 at the default precision
/// (bfloat16 activations in GEMMs), 2 bfloat16 at exact precision (float activations).
const char* kind_label(std::int64_t kind) { return kind == 0 ? "f32" : kind == 1 ? "bf16" : "bf16-exact"; }
kernels::MatmulPrecision kind_precision(std::int64_t kind) {
  return kind == 2 ? kernels::MatmulPrecision::exact : kernels::MatmulPrecision::bf16_activations;
}

/// One model per weight kind and thread count, built on first use.
Qwen2<>& model(std::int64_t kind, int threads) {
  static std::map<std::pair<std::int64_t, int>, std::unique_ptr<Qwen2<>>> models;
  auto& slot = models[{kind, threads}];
  if (!slot) {
    models.clear();  // keep one model in memory at a time
    const Qwen2Config c = benchmarks::qwen25_05b();
    const io::TensorStore store = random_weights(c, kind == 0 ? io::DType::F32 : io::DType::BF16);
    auto built = std::make_unique<Qwen2<>>(c, store, CpuBackend<float>(threads, kind_precision(kind)), WeightFormat::as_stored,
                                           "random");
    models[{kind, threads}] = std::move(built);
    return *models[{kind, threads}];
  }
  return *slot;
}

std::vector<TokenId> tokens(std::size_t n) {
  std::vector<TokenId> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<TokenId>((i * 7919 + 13) % 151000);
  return out;
}

// Args: {weight kind (0/1/2), prompt tokens, threads}
void BM_prompt(benchmark::State& state) {
  const Qwen2<>& m = model(state.range(0), static_cast<int>(state.range(2)));
  const std::vector<TokenId> prompt = tokens(static_cast<std::size_t>(state.range(1)));
  for (auto _ : state) {
    auto cache = m.make_cache();
    const RowMatrix<float> h = m.hidden_states(std::span<const TokenId>(prompt), cache);
    benchmark::DoNotOptimize(m.logits(RowMatrix<float>(h.bottomRows(1))).data());  // next-token logits
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetLabel(kind_label(state.range(0)));
}

/// The causal head a CausalLM puts on `m` (CausalLM::from_base's construction): identity
/// abduction, A = the output layer's rows on the backend in the model's format plus a <NUM> row.
head::CausalHead<float> causal_head(const Qwen2<>& m) {
  const auto& backend = m.backend();
  const auto hidden = static_cast<std::size_t>(m.config().hidden_size);
  auto a = backend.leading_weight_rows(m.output_weight(), m.vocab_size(), RowMatrix<float>(m.output_row(0)));
  auto small = head::ActionParams<float>::zeros(static_cast<std::size_t>(m.vocab_size()) + 1, hidden);
  small.value_weight.setConstant(0.01f);
  return head::CausalHead<float>(head::AbductionNetwork<float>::identity(hidden, hidden, 0.1f, backend),
                                 head::ActionNetwork<float>(std::move(a), std::move(small), backend),
                                 Vector<float>::Constant(static_cast<Eigen::Index>(hidden), 0.01f));
}

/// 64 tokens one by one after a 128-token prompt; `next(hidden)` picks each token.
template <class Next>
void decode(benchmark::State& state, const Qwen2<>& m, Next&& next) {
  const std::vector<TokenId> prompt = tokens(128);
  for (auto _ : state) {
    state.PauseTiming();
    auto cache = m.make_cache();
    m.hidden_states(std::span<const TokenId>(prompt), cache);
    state.ResumeTiming();
    TokenId token = 1;
    for (int i = 0; i < 64; ++i) token = next(m.hidden_states(std::span<const TokenId>(&token, 1), cache));
  }
  state.SetItemsProcessed(state.iterations() * 64);
  state.SetLabel(kind_label(state.range(0)));
}

// Args: {weight kind (0/1), threads}: the base model's greedy decoding (logits, argmax).
void BM_base_decode(benchmark::State& state) {
  const Qwen2<>& m = model(state.range(0), static_cast<int>(state.range(1)));
  decode(state, m, [&](const RowMatrix<float>& hidden) {
    Eigen::Index best;
    m.logits(hidden).row(0).maxCoeff(&best);
    return static_cast<TokenId>(best);
  });
}

// Args: {weight kind (0/1), threads}: the causal model's greedy decoding on the same backbone
// (abduction, action in one pass over A, the argmax decision and its probability).
void BM_causal_decode(benchmark::State& state) {
  const Qwen2<>& m = model(state.range(0), static_cast<int>(state.range(1)));
  const auto head = causal_head(m);
  std::mt19937_64 rng(0);
  decode(state, m, [&](const RowMatrix<float>& hidden) {
    const auto d = head.decide_next(hidden, false, rng);
    return std::min<TokenId>(d.class_id, static_cast<TokenId>(m.vocab_size() - 1));  // <NUM> fed as a token
  });
}

// Baseline: plain Eigen GEMM [128 x 896] x [896 x 4864] (the gate projection of a 128-token prompt).
void BM_baseline_eigen_gemm(benchmark::State& state) {
  const RowMatrix<float> x = RowMatrix<float>::Random(128, 896), w = RowMatrix<float>::Random(4864, 896);
  RowMatrix<float> out(128, 4864);
  kernels::parallel_chunks(1, 1, 1, 1 << 20, [&](std::int64_t, std::int64_t) {  // single-threaded Eigen
    for (auto _ : state) {
      out.noalias() = x * w.transpose();
      benchmark::DoNotOptimize(out.data());
    }
  });
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * 128 * 896 * 4864 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

// Baseline: our matmul on the same shape, weight kinds 0/1/2, 1 and 2 threads.
void BM_matmul_gemm(benchmark::State& state) {
  const RowMatrix<float> x = RowMatrix<float>::Random(128, 896), w = RowMatrix<float>::Random(4864, 896);
  const auto weight = state.range(0) ? [&] {
    std::vector<std::uint16_t> bits(static_cast<std::size_t>(w.size()));
    for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = io::float_to_bf16(w.data()[i]);
    return kernels::Weight<float>::from_bf16(w.rows(), w.cols(), std::move(bits));
  }() : kernels::Weight<float>::from_dense(w);
  RowMatrix<float> out;
  for (auto _ : state) {
    kernels::matmul(x, weight, out, static_cast<int>(state.range(1)), kind_precision(state.range(0)));
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOPS"] = benchmark::Counter(2.0 * 128 * 896 * 4864 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.SetLabel(kind_label(state.range(0)));
}

// Baseline: reading 1 GB (the bf16 model's weights) once, the bound of bf16 decoding. The sum
// prefetches each line 8 KiB ahead into L2 as the decoding kernels do: the best of the reads
// tried on the Zen 4 VM (a plain sum, or prefetches a block at a time, read 0-10 % less).
float read_sum(const float* data, std::int64_t begin, std::int64_t end) {
#if defined(__AVX512F__)
  constexpr std::int64_t ahead = 2048;  // floats: 8 KiB
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  std::int64_t i = begin;
  for (; i + 64 <= end; i += 64) {
    for (int line = 0; line < 4; ++line) {
      if (i + ahead + 16 * line < end) kernels::detail::prefetch_stream(data + i + ahead + 16 * line);
      acc[line] = _mm512_add_ps(acc[line], _mm512_loadu_ps(data + i + 16 * line));
    }
  }
  return kernels::detail::horizontal_sum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]))) +
         Eigen::Map<const Eigen::VectorXf>(data + i, end - i).sum();
#else
  return Eigen::Map<const Eigen::VectorXf>(data + begin, end - begin).sum();
#endif
}

void BM_baseline_read_bandwidth(benchmark::State& state) {
  std::vector<float> data(std::size_t{1} << 28, 1.0f);
  for (auto _ : state) {
    float sum = 0;
    kernels::parallel_chunks(static_cast<int>(state.range(0)), static_cast<std::int64_t>(data.size()), 4096, 1 << 20,
                             [&](std::int64_t b, std::int64_t e) {
                               const float s = read_sum(data.data(), b, e);
#pragma omp atomic
                               sum += s;
                             });
    benchmark::DoNotOptimize(sum);
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * static_cast<double>(data.size()) * static_cast<double>(state.iterations()),
                                              benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
}

}  // namespace

BENCHMARK(BM_baseline_eigen_gemm)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_matmul_gemm)->ArgsProduct({{0, 1, 2}, {1, 2}})->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_baseline_read_bandwidth)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_prompt)
    ->ArgsProduct({{0}, {128, 512}, {1, 2}})
    ->ArgsProduct({{1}, {128, 512}, {1, 2}})
    ->ArgsProduct({{2}, {128, 512}, {1, 2}})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_base_decode)->ArgsProduct({{0, 1}, {1, 2}})->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_causal_decode)->ArgsProduct({{0, 1}, {1, 2}})->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
