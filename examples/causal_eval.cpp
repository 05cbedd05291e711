// Scores a causal language model on prompts whose answer is a number: greedy decoding up to the
// first <NUM> (at most 16 tokens), the <NUM>'s Cauchy median as the answer, and how often the
// central 50 % and 90 % intervals hold the true value; with --data also teacher-forced on text.
// The same as `causalqwen eval`.
//
//   causal_eval [--model DIR|FILE.gguf] --prompts FILE.jsonl [--data FILE.txt] [--json FILE] [--show N]
//
// Each line of the prompts file is {"prompt": "...", "value": 12.5}. Without --model the
// embedded default model (models/) is used.

#include "cli/eval.hpp"
#include "cli/program.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"Numeric answers of a causal language model: number rate, errors, interval coverage"};
  causalqwen::cli::EvalCommand command;
  command.attach(app);
  return causalqwen::programs::run_program("causal_eval", app, argc, argv, [&] { return command.run(); });
}
