#pragma once
// `causalqwen generate` (and the causal_generate program) and `causalqwen chat`: each step
// decides a token or a <NUM> with its value, printed as it is made with the probability P_k of the
// decision; a number also with its Cauchy scale and central interval at the chosen level.

#include "cli/model_options.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <span>
#include <string>

namespace causalqwen::cli {

struct GenerationSettings {
  std::size_t max_tokens = 32;
  bool sample = false;
  std::uint64_t seed = 0;
  double level = 0.9;

  void attach(CLI::App& app) {
    app.add_option("--max-tokens", max_tokens, "new tokens at most")->check(CLI::Range(1, 100000));
    app.add_flag("--sample", sample, "sample an individual U per step instead of the argmax of P_k");
    app.add_option("--seed", seed, "seed of the sampling");
    app.add_option("--level", level, "level of the central interval printed with each number")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
  }

  model::GenerationOptions options() const {
    require(level > 0 && level < 1, "--level must lie strictly between 0 and 1, got ", level);
    return {.max_tokens = max_tokens, .sample = sample, .seed = seed};
  }
};

/// The text of one generated token (a number written out, a special token by its name).
template <class LM>
std::string piece_of(const LM& lm, const model::Generation& g, std::size_t i) {
  if (g.tokens[i] == lm.num_token()) return format_number(g.values[i]);
  return lm.tokenizer().is_special(g.tokens[i]) ? lm.tokenizer().token(g.tokens[i])
                                                : lm.tokenizer().decode(std::span(&g.tokens[i], 1));
}

/// Generates, printing one line per decision as it is made, then the prompt with its continuation.
template <class LM>
void generate_printing(const LM& lm, std::string_view prompt, model::GenerationOptions options, double level) {
  options.on_decision = [&](const model::Generation& g, bool) {
    const std::size_t i = g.tokens.size() - 1;
    const bool num = g.tokens[i] == lm.num_token();
    std::printf("%4zu  %-7s %8d  P=%.4f  %s", i, num ? "<NUM>" : "token", g.tokens[i], g.probabilities[i],
                piece_of(lm, g, i).c_str());
    if (num && g.value_scales[i] > 0) {
      const auto interval = model::central_interval(g.values[i], g.value_scales[i], level);
      std::printf("  (scale %s, %g%% interval %s .. %s)", format_number(g.value_scales[i]).c_str(), 100 * level,
                  format_number(interval.low).c_str(), format_number(interval.high).c_str());
    }
    std::printf("\n");
    std::fflush(stdout);
    return true;
  };
  const model::Generation g = model::generate(lm, prompt, options);
  std::printf("%.*s%s\n", int(prompt.size()), prompt.data(), g.text.c_str());
}

struct GenerateCommand {
  ModelOptions model;
  GenerationSettings settings;
  std::filesystem::path tokenizer_path, head_file;
  std::string prompt;

  void attach(CLI::App& app) {
    model.attach(app);
    settings.attach(app);
    app.add_option("--prompt", prompt, "text to continue")->required();
    app.add_option("--tokenizer", tokenizer_path,
                   "tokenizer.json or GGUF file (default: the model directory's tokenizer.json, or the GGUF model's own)");
    app.add_option("--head", head_file,
                   "a trained causal head (head checkpoint); default: the model directory's, else initialised from "
                   "the lm_head");
  }

  int run() const {
    const auto options = settings.options();
    Model lm = tokenizer_path.empty() ? model.load()
                                      : Model::from_base(load_tokenizer(tokenizer_path),
                                                         load_qwen2(model.path, model.backend()));
    if (!head_file.empty()) {
      const head::HeadShape shape{lm.head().hidden_size(), lm.head().latent_size(), lm.classes() - 1};
      lm.set_head(head::load_head<float>(head_file, shape));
    }
    generate_printing(lm, prompt, options, settings.level);
    return 0;
  }
};

/// A prompt per line on stdin, each answered as `generate` does; an empty line or end of input ends.
struct ChatCommand {
  ModelOptions model;
  GenerationSettings settings;

  void attach(CLI::App& app) {
    model.attach(app);
    settings.attach(app);
  }

  int run() const {
    const auto options = settings.options();
    const Model lm = model.load();
    std::string line;
    while (std::fputs("> ", stdout), std::fflush(stdout), std::getline(std::cin, line) && !line.empty())
      generate_printing(lm, line, options, settings.level);
    return 0;
  }
};

}  // namespace causalqwen::cli
