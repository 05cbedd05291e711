// causalqwen: the whole workflow of a causal language model in one command.
//
//   causalqwen init     --model QWEN2_DIR --out DIR          a causal model from a Qwen2 checkpoint
//   causalqwen train    --model DIR --data FILE --out DIR    end-to-end training
//   causalqwen eval     [--model DIR] --data FILE.txt | --prompts FILE.jsonl
//   causalqwen adapt    --model DIR --data DOMAIN.txt --eps E --out delta.safetensors
//   causalqwen fuse     --model DIR --delta a --delta b --alpha 0.5,0.5 --out DIR
//   causalqwen verify   [--model DIR] --delta a --delta b --data FILE.txt
//   causalqwen generate [--model DIR] --prompt TEXT          (chat: a prompt per line on stdin)
//   causalqwen serve    [--model DIR] [--port 0]             HTTP: /health, /v1/completions, /v1/causal
//   causalqwen plot     --log | --fusion | --calibration | --density ... --out FILE.svg
//
// Without --model a subcommand runs the embedded default model. Every error is one line naming
// the file or field, with exit code 1; `verify` exits with 3 if a certified bound fails.

#include "cli/domain.hpp"
#include "cli/eval.hpp"
#include "cli/generate.hpp"
#include "cli/init.hpp"
#include "cli/plot.hpp"
#include "cli/program.hpp"
#include "cli/serve.hpp"
#include "cli/train.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  namespace cli = causalqwen::cli;
  CLI::App app{"CausalQwen: causal language models — train, evaluate, adapt and fuse domains, generate, serve"};
  app.require_subcommand(1);
  cli::InitCommand init;
  cli::TrainCommand train;
  cli::EvalCommand eval;
  cli::AdaptCommand adapt;
  cli::FuseCommand fuse;
  cli::VerifyCommand verify;
  cli::GenerateCommand generate;
  cli::ChatCommand chat;
  cli::ServeCommand serve;
  cli::PlotCommand plot;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands;
  const auto add = [&](auto& command, const char* name, const char* description) {
    CLI::App* sub = app.add_subcommand(name, description);
    command.attach(*sub);
    commands.emplace_back(sub, [&command] { return command.run(); });
  };
  add(init, "init", "a causal model from a Qwen2 checkpoint, its head initialised from the lm_head");
  add(train, "train", "train a causal model end to end on text with numbers");
  add(eval, "eval", "score a causal model on text (teacher-forced) or numeric prompts");
  add(adapt, "adapt", "adapt the abduction to a domain's text under a KL budget: a knowledge delta");
  add(fuse, "fuse", "fuse knowledge deltas into a new causal model directory");
  add(verify, "verify", "check a fusion on real text: exact KL, design estimate, certified bound");
  add(generate, "generate", "continue a prompt: tokens and numbers with P_k and intervals");
  add(chat, "chat", "generate for each line read from stdin");
  add(serve, "serve", "HTTP server: /health, /v1/completions, /v1/causal");
  add(plot, "plot", "SVG pictures: loss curves, fusion reports, calibration, densities");
  return causalqwen::programs::run_program("causalqwen", app, argc, argv, [&] {
    for (const auto& [sub, run] : commands)
      if (sub->parsed()) return run();
    return 1;  // unreachable: CLI11 requires one subcommand
  });
}
