#pragma once
// The --model and --threads options every subcommand that runs a model shares, and the model
// they name: a causal model directory, a Qwen2 / Qwen2.5 checkpoint (Hugging Face directory or
// GGUF file, the head then initialised from its lm_head), or without --model the embedded default.

#include "cli/default_model.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <filesystem>

namespace causalqwen::cli {

using Model = model::CausalLM<Qwen2<>>;

struct ModelOptions {
  std::filesystem::path path = programs::default_model_dir();
  int threads = 1;
  bool exact = false;

  void attach(CLI::App& app) {
    app.add_option("--model", path,
                   "causal model directory, Hugging Face Qwen2 checkpoint directory or GGUF file (default: the "
                   "embedded model)")
        ->capture_default_str();
    app.add_option("--threads", threads, "CPU threads")->check(CLI::Range(1, 1024));
    app.add_flag("--exact", exact,
                 "bfloat16 models: multiply prompts with float activations (the float32 model's numbers, about "
                 "half the prompt speed) instead of rounding them to bfloat16");
  }

  CpuBackend<float> backend() const {
    return CpuBackend<float>(threads, exact ? kernels::MatmulPrecision::exact : kernels::MatmulPrecision::bf16_activations);
  }
  Model load() const { return model::load_causal_lm<Model>(path, backend()); }
};

}  // namespace causalqwen::cli
