// Peak resident memory of building and running a CausalLM from a bf16 checkpoint of the
// Qwen2.5-0.5B shape, against its budget: the base model's bytes plus one action matrix A in the
// model's dtype (A is the one array the causal model adds). A child process writes the checkpoint
// (random weights, the real Qwen vocabulary that scripts/fetch-test-data.sh caches; skipped
// without it) before this process touches any weight, so the parent's peak (getrusage's
// ru_maxrss) is that of loading the checkpoint, initialising the causal head from its lm_head and
// decoding 16 tokens. Run it alone (--benchmark_filter selects nothing else: the peak is per process).
#include <causalqwen/causalqwen.hpp>

#include <benchmark/benchmark.h>

#include "../tests/tokenizer/qwen_vocabulary.hpp"
#include "qwen2_shapes.hpp"

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace {
using namespace causalqwen;

/// config.json, tokenizer.json and a bf16 model.safetensors in `dir`, written by a child process
/// so that none of its memory is this process's.
bool write_checkpoint(const std::filesystem::path& dir, const Qwen2Config& config) {
  const pid_t child = fork();
  if (child == 0) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "config.json") << qwen2_config_json(config);
    std::filesystem::copy_file(test::qwen_vocabulary_path(), dir / "tokenizer.json",
                               std::filesystem::copy_options::overwrite_existing);
    io::SafetensorsWriter writer;
    model::for_each_random_qwen2_tensor(config, 1, 0.02f, [&](const std::string& name, const auto& tensor) {
      writer.add_as(name, io::DType::BF16, tensor);
    });
    writer.write(dir / "model.safetensors");
    _exit(0);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

double peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return double(usage.ru_maxrss) * 1024.0;  // Linux reports kilobytes
}

void BM_causal_lm_peak_memory(benchmark::State& state) {
  if (!std::filesystem::exists(test::qwen_vocabulary_path())) {
    state.SkipWithError(("skipped: the Qwen vocabulary " + test::qwen_vocabulary_path().string() +
                         " is missing (scripts/fetch-test-data.sh fetches it)").c_str());
    return;
  }
  const Qwen2Config config = benchmarks::qwen25_05b();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("causalqwen-memory-" + std::to_string(getpid()));
  if (!write_checkpoint(dir, config)) {
    state.SkipWithError("could not write the checkpoint");
    return;
  }
  const double file_bytes = double(std::filesystem::file_size(dir / "model.safetensors"));
  const double before = peak_resident_bytes();
  double a_bytes = 0;
  for (auto _ : state) {
    const auto lm = model::load_causal_lm(dir, CpuBackend<float>(static_cast<int>(state.range(0))));
    a_bytes = double(lm.head().classes()) * double(lm.head().latent_size()) * 2.0;
    benchmark::DoNotOptimize(model::generate(lm, "The atomic weight of gold is", {.max_tokens = 16}).text.data());
  }
  std::filesystem::remove_all(dir);
  const double peak = peak_resident_bytes();
  state.counters["peak_MB"] = peak / 1e6;
  state.counters["before_load_MB"] = before / 1e6;
  state.counters["base_MB"] = file_bytes / 1e6;
  state.counters["A_MB"] = a_bytes / 1e6;
  state.counters["x_budget"] = peak / (file_bytes + a_bytes);
}

}  // namespace

BENCHMARK(BM_causal_lm_peak_memory)->Arg(2)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
