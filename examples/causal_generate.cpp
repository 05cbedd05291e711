// Generates with a causal language model — a causal model directory (its trained head), or a
// Qwen2 / Qwen2.5 checkpoint (a Hugging Face directory or a GGUF file) with the head initialised
// from its lm_head: each step decides a token or a <NUM> with its value, printed with the
// probability P_k of the decision; a number also with its Cauchy scale and central 90 % interval.
// Without --model the embedded default model is used. The same as `causalqwen generate`.
//
//   causal_generate [--model DIR|FILE.gguf] --prompt "..." [--tokenizer FILE] [--max-tokens N]
//                   [--sample --seed S] [--head FILE] [--threads N] [--level L]

#include "cli/generate.hpp"
#include "cli/program.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Causal generation on a Qwen2 checkpoint: tokens and numbers with their probabilities"};
  causalqwen::cli::GenerateCommand command;
  command.attach(app);
  return causalqwen::programs::run_program("causal_generate", app, argc, argv, [&] { return command.run(); });
}
