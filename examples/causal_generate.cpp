// Generates with a causal language model — a causal model directory (its trained head), or a
// Qwen2 / Qwen2.5 checkpoint (a Hugging Face directory or a GGUF file) with the head initialised
// from its lm_head: each step decides a token or a <NUM> with its value, printed with the
// probability P_k of the decision; a number also with its Cauchy scale and central 90 % interval.
// Without --model the embedded default model is used.
//
//   causal_generate [--model DIR|FILE.gguf] --prompt "..." [--tokenizer FILE] [--max-tokens N]
//                   [--sample --seed S] [--head FILE] [--threads N]

#include "default_model.hpp"
#include "program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <string>

using namespace causalqwen;
using Model = model::CausalLM<Qwen2<>>;

int main(int argc, char** argv) {
  CLI::App app{"Causal generation on a Qwen2 checkpoint: tokens and numbers with their probabilities"};
  std::filesystem::path model_path = programs::default_model_dir(), tokenizer_path, head_file;
  std::string prompt;
  std::size_t max_tokens = 32;
  bool sample = false;
  std::uint64_t seed = 0;
  int threads = 1;
  app.add_option("--model", model_path,
                 "causal model directory, Hugging Face checkpoint directory (config.json, *.safetensors) or GGUF file")
      ->capture_default_str();
  app.add_option("--prompt", prompt, "text to continue")->required();
  app.add_option("--tokenizer", tokenizer_path,
                 "tokenizer.json or GGUF file (default: the model directory's tokenizer.json, or the GGUF model's own)");
  app.add_option("--max-tokens", max_tokens, "new tokens at most")->check(CLI::Range(1, 100000));
  app.add_flag("--sample", sample, "sample an individual U per step instead of the argmax of P_k");
  app.add_option("--seed", seed, "seed of the sampling");
  app.add_option("--head", head_file,
                 "a trained causal head (head checkpoint); default: the model directory's, else initialised from the "
                 "lm_head");
  app.add_option("--threads", threads, "CPU threads of the backbone")->check(CLI::Range(1, 1024));
  return causalqwen::programs::run_program("causal_generate", app, argc, argv, [&] {
    Model lm = tokenizer_path.empty()
                   ? model::load_causal_lm<Model>(model_path, CpuBackend<float>(threads))
                   : Model::from_base(load_tokenizer(tokenizer_path), load_qwen2(model_path, CpuBackend<float>(threads)));
    if (!head_file.empty()) {
      const head::HeadShape shape{lm.head().hidden_size(), lm.head().latent_size(), lm.classes() - 1};
      lm.set_head(head::load_head<float>(head_file, shape));
    }
    const auto g = model::generate(lm, prompt, {.max_tokens = max_tokens, .sample = sample, .seed = seed});
    for (std::size_t i = 0; i < g.tokens.size(); ++i) {
      const bool num = g.tokens[i] == lm.num_token();
      const std::string piece = num ? format_number(g.values[i])
                                    : lm.tokenizer().is_special(g.tokens[i])
                                          ? lm.tokenizer().token(g.tokens[i])
                                          : lm.tokenizer().decode(std::span(&g.tokens[i], 1));
      std::printf("%4zu  %-7s %8d  P=%.4f  %s", i, num ? "<NUM>" : "token", g.tokens[i], g.probabilities[i],
                  piece.c_str());
      if (num && g.value_scales[i] > 0) {
        const auto interval = model::central_interval(g.values[i], g.value_scales[i], 0.9);
        std::printf("  (scale %s, 90%% interval %s .. %s)", format_number(g.value_scales[i]).c_str(),
                    format_number(interval.low).c_str(), format_number(interval.high).c_str());
      }
      std::printf("\n");
    }
    std::printf("%s%s\n", prompt.c_str(), g.text.c_str());
    return 0;
  });
}
