#pragma once
// `causalqwen eval` (and the causal_eval program): how a causal language model scores on
//  - text (--data FILE.txt, one document per line), teacher-forced: next-token accuracy, <NUM>
//    precision / recall / F1, value MAE and median absolute error at <NUM> targets, expected
//    calibration error of P_k and the coverage of the value's central intervals;
//  - prompts whose answer is a number (--prompts FILE.jsonl, {"prompt": ..., "value": ...} per
//    line): greedy decoding up to the first <NUM> (at most --max-tokens), the <NUM>'s Cauchy
//    median as the answer; number rate, errors and interval coverage.
// Printed as a table; --json writes the same scores as one flat JSON object.

#include "cli/model_options.hpp"
#include "cli/plot.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace causalqwen::cli {

/// Teacher-forced scores of `lm` on the lines of a text file; the backbone runs a line at a time,
/// so memory follows the longest line, not the file.
template <class LM>
head::Metrics text_metrics(const LM& lm, const std::vector<std::string>& lines) {
  using T = typename LM::scalar_type;
  std::vector<std::int32_t> predicted;
  std::vector<T> confidence, value_loc, value_scale;
  head::Targets<T> targets;
  std::vector<T> target_values;
  for (const std::string& line : lines) {
    const model::TextSample s = model::text_sample(lm, line);
    if (s.tokens.empty()) continue;
    const auto p = lm.head().predict(lm.hidden_states(s.tokens, s.values));
    predicted.insert(predicted.end(), p.classes.begin(), p.classes.end());
    confidence.insert(confidence.end(), p.confidence.begin(), p.confidence.end());
    value_loc.insert(value_loc.end(), p.value_loc.begin(), p.value_loc.end());
    value_scale.insert(value_scale.end(), p.value_scale.begin(), p.value_scale.end());
    for (std::size_t i = 0; i < s.targets.size(); ++i) {
      targets.classes.push_back(s.targets[i]);
      target_values.push_back(model::head_target_value<T>(s, i, lm.num_token()));
    }
  }
  require(!predicted.empty(), "the text gives no positions to score (every line is shorter than two tokens)");
  const auto vector = [](const std::vector<T>& v) {
    return Vector<T>(Eigen::Map<const Vector<T>>(v.data(), static_cast<Eigen::Index>(v.size())));
  };
  targets.values = vector(target_values);
  return head::evaluate(predicted, vector(confidence), vector(value_loc), vector(value_scale), targets, lm.classes());
}

struct EvalCommand {
  ModelOptions model;
  std::filesystem::path prompts_file, data_file, json_file, plot_file;
  std::size_t max_tokens = 16, show = 0;

  void attach(CLI::App& app) {
    model.attach(app);
    app.add_option("--prompts", prompts_file, "JSONL file, one {\"prompt\": ..., \"value\": ...} per line");
    app.add_option("--data", data_file, "text file, one document per line: teacher-forced scores");
    app.add_option("--json", json_file, "also write the scores as a flat JSON object to this file");
    app.add_option("--plot", plot_file, "also draw the calibration of the intervals on --prompts into this SVG file");
    app.add_option("--max-tokens", max_tokens, "tokens at most before the number (--prompts)")
        ->check(CLI::Range(1, 1024));
    app.add_option("--show", show, "print the first N prompts with their answers (--prompts)");
  }

  int run() const {
    require(!prompts_file.empty() || !data_file.empty(), "give --prompts FILE.jsonl, --data FILE.txt or both");
    require(plot_file.empty() || !prompts_file.empty(), "--plot draws the calibration on --prompts FILE.jsonl");
    const auto lm = model.load();
    nlohmann::ordered_json scores;
    std::optional<model::NumberEvaluation> numbers;
    if (!data_file.empty()) {
      const head::Metrics m = text_metrics(lm, model::read_text_lines(data_file));
      std::printf("%s: %zu positions, %zu with a <NUM> target\n", data_file.string().c_str(), m.positions,
                  m.num_positions);
      std::printf("  next-token accuracy %.4f | <NUM> precision %.4f recall %.4f F1 %.4f | ECE %.4f\n", m.accuracy,
                  m.num_precision, m.num_recall, m.num_f1, m.ece);
      std::printf("  value MAE %.4g | median absolute error %.4g | coverage 50 %% %.3f, 90 %% %.3f, 95 %% %.3f\n",
                  m.value_mae, m.value_median_ae, m.coverage_at(0.5), m.coverage_at(0.9), m.coverage_at(0.95));
      scores.update({{"positions", m.positions},
                     {"num_positions", m.num_positions},
                     {"accuracy", m.accuracy},
                     {"num_precision", m.num_precision},
                     {"num_recall", m.num_recall},
                     {"num_f1", m.num_f1},
                     {"value_mae", m.value_mae},
                     {"value_median_absolute_error", m.value_median_ae},
                     {"ece", m.ece},
                     {"value_coverage_50", m.coverage_at(0.5)},
                     {"value_coverage_90", m.coverage_at(0.9)},
                     {"value_coverage_95", m.coverage_at(0.95)}});
    }
    if (!prompts_file.empty()) {
      const auto prompts = model::read_number_prompts(prompts_file);
      const auto& e =
          numbers.emplace(model::evaluate_numbers(lm, prompts, {.max_tokens = max_tokens, .levels = calibration_levels()}));
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
      std::printf("%s: %zu prompts, %zu answered with a number (number_rate %.3f)\n", prompts_file.string().c_str(),
                  e.prompts, e.answered, e.number_rate);
      std::printf("  median relative error %.4f | MAE %.4g | median absolute error %.4g\n", e.median_relative_error,
                  e.mae, e.median_absolute_error);
      std::printf("  coverage of the central 50 %% interval %.3f, of the 90 %% interval %.3f\n", e.coverage_at(0.5),
                  e.coverage_at(0.9));
      scores.update({{"prompts", e.prompts},
                     {"answered", e.answered},
                     {"number_rate", e.number_rate},
                     {"median_relative_error", e.median_relative_error},
                     {"mae", e.mae},
                     {"median_absolute_error", e.median_absolute_error},
                     {"coverage_50", e.coverage_at(0.5)},
                     {"coverage_90", e.coverage_at(0.9)}});
    }
    if (!json_file.empty()) write_file_atomically(json_file, scores.dump(2) + "\n");
    if (!plot_file.empty()) write_chart(calibration_chart(*numbers, prompts_file), plot_file);
    return 0;
  }
};

}  // namespace causalqwen::cli
