// Scores a causal language model on prompts whose answer is a number: greedy decoding up to the
// first <NUM> (at most 16 tokens), the <NUM>'s Cauchy median as the answer, and how often the
// central 50 % and 90 % intervals hold the true value.
//
//   causal_eval [--model DIR|FILE.gguf] --prompts FILE.jsonl [--json FILE] [--show N]
//
// Each line of the prompts file is {"prompt": "...", "value": 12.5}. Without --model the
// embedded default model (models/) is used.

#include "default_model.hpp"
#include "program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

using namespace causalqwen;

int main(int argc, char** argv) {
  CLI::App app{"Numeric answers of a causal language model: number rate, errors, interval coverage"};
  std::filesystem::path model_path = programs::default_model_dir(), prompts_file, json_file;
  std::size_t max_tokens = 16, show = 0;
  int threads = 1;
  app.add_option("--model", model_path, "causal model directory, Qwen2 checkpoint directory or GGUF file")
      ->capture_default_str();
  app.add_option("--prompts", prompts_file, "JSONL file, one {\"prompt\": ..., \"value\": ...} per line")->required();
  app.add_option("--json", json_file, "also write the scores as a flat JSON object to this file");
  app.add_option("--max-tokens", max_tokens, "tokens at most before the number")->check(CLI::Range(1, 1024));
  app.add_option("--show", show, "print the first N prompts with their answers");
  app.add_option("--threads", threads, "CPU threads")->check(CLI::Range(1, 1024));
  return programs::run_program("causal_eval", app, argc, argv, [&] {
    const auto prompts = model::read_number_prompts(prompts_file);
    const auto lm = model::load_causal_lm(model_path, CpuBackend<float>(threads));
    const auto e = model::evaluate_numbers(lm, prompts, {.max_tokens = max_tokens});
    for (std::size_t i = 0; i < std::min(show, prompts.size()); ++i) {
      const auto& a = e.answers[i];
      if (a.produced) {
        const auto interval = model::central_interval(a.median, a.scale, 0.9);
        std::printf("  %s|%s  (true %g; median %g, 90%% interval [%g, %g])\n", prompts[i].prompt.c_str(),
                    a.text.c_str(), prompts[i].value, a.median, interval.low, interval.high);
      } else {
        std::printf("  %s|%s  (true %g; no number)\n", prompts[i].prompt.c_str(), a.text.c_str(), prompts[i].value);
      }
    }
    const nlohmann::ordered_json scores = {{"prompts", e.prompts},
                                           {"answered", e.answered},
                                           {"number_rate", e.number_rate},
                                           {"median_relative_error", e.median_relative_error},
                                           {"mae", e.mae},
                                           {"median_absolute_error", e.median_absolute_error},
                                           {"coverage_50", e.coverage_at(0.5)},
                                           {"coverage_90", e.coverage_at(0.9)}};
    std::printf("%s: %zu prompts, %zu answered with a number (number_rate %.3f)\n", prompts_file.string().c_str(),
                e.prompts, e.answered, e.number_rate);
    std::printf("  median relative error %.4f | MAE %.4g | median absolute error %.4g\n", e.median_relative_error, e.mae,
                e.median_absolute_error);
    std::printf("  coverage of the central 50 %% interval %.3f, of the 90 %% interval %.3f\n", e.coverage_at(0.5),
                e.coverage_at(0.9));
    if (!json_file.empty()) write_file_atomically(json_file, scores.dump(2) + "\n");
    return 0;
  });
}
