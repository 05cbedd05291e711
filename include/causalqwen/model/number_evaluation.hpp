#pragma once
// How well a causal language model answers questions whose answer is a number.
//
// A prompt ends where its number should follow ("12 feet in meters is"). The model continues it
// greedily up to its first <NUM> (at most `max_tokens` tokens); the answer is that <NUM>'s value
// law Cauchy(loc, scale): its median loc is the point answer and loc ± scale tan(π level / 2) the
// central interval at `level`. Errors and coverages are taken over the prompts that produced a
// number; `number_rate` says how many did.

#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/sample_median.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/model/generation.hpp>
#include <causalqwen/tokenizer/text_lines.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causalqwen::model {

/// A prompt and the number that should follow it.
struct NumberPrompt {
  std::string prompt;
  double value = 0;
};

/// JSONL, one `{"prompt": "...", "value": 12.5}` per non-empty line; errors name the file and line.
inline std::vector<NumberPrompt> read_number_prompts(const std::filesystem::path& file) {
  const std::string bytes = io::read_file(file, "prompts file");
  const std::string where = file.string();
  std::vector<NumberPrompt> prompts;
  for_each_text_line(bytes, where, [&](std::string_view line, std::size_t line_number) {
    if (blank_line(line)) return;
    const nlohmann::json object = json_object_line(line, where, line_number);
    require(object.contains("prompt") && object["prompt"].is_string() && !object["prompt"].get<std::string>().empty(),
            where, ":", line_number, ": expected a non-empty string field \"prompt\"");
    require(object.contains("value") && object["value"].is_number(), where, ":", line_number,
            ": expected a number field \"value\"");
    const double value = object["value"].get<double>();
    require(std::isfinite(value), where, ":", line_number, ": field \"value\" is not finite");
    prompts.push_back({object["prompt"].get<std::string>(), value});
  });
  require(!prompts.empty(), where, ": holds no prompts");
  return prompts;
}

/// The model's answer to one prompt.
struct NumberAnswer {
  bool produced = false;  ///< a <NUM> came within the token limit
  double median = std::numeric_limits<double>::quiet_NaN();
  double scale = std::numeric_limits<double>::quiet_NaN();
  double probability = std::numeric_limits<double>::quiet_NaN();  ///< P_<NUM> of that decision
  std::string text;  ///< what the model wrote, the number included
};

struct NumberEvaluationOptions {
  std::size_t max_tokens = 16;
  std::vector<double> levels = {0.5, 0.9};  ///< central interval levels whose coverage is counted
};

struct NumberEvaluation {
  std::size_t prompts = 0, answered = 0;
  double number_rate = 0;  ///< answered / prompts
  double mae = std::numeric_limits<double>::quiet_NaN();
  double median_absolute_error = std::numeric_limits<double>::quiet_NaN();
  double median_relative_error = std::numeric_limits<double>::quiet_NaN();  ///< |loc - v| / |v|, over v != 0
  std::vector<double> levels, coverage;  ///< fraction of true values inside the central interval at each level
  std::vector<NumberAnswer> answers;     ///< beside the prompts

  /// Coverage at `level` (which must be one of the evaluated levels).
  double coverage_at(double level) const {
    for (std::size_t i = 0; i < levels.size(); ++i)
      if (levels[i] == level) return coverage[i];
    fail("NumberEvaluation: level ", level, " was not evaluated");
  }
};

/// The central interval at `level` of Cauchy(median, scale): median ± scale tan(π level / 2).
struct Interval {
  double low = 0, high = 0;
  bool contains(double value) const { return value >= low && value <= high; }
};
inline Interval central_interval(double median, double scale, double level) {
  require(level > 0 && level < 1, "central_interval: level ", level, " is not in (0, 1)");
  const double half_width = scale * quantile(Cauchy<double>(0.0, 1.0), 0.5 + level / 2);
  return {median - half_width, median + half_width};
}

/// Answers every prompt (greedy decoding, see the file comment) and scores the answers.
template <class LM>
NumberEvaluation evaluate_numbers(const LM& lm, std::span<const NumberPrompt> prompts,
                                  const NumberEvaluationOptions& options = {}) {
  require(!prompts.empty(), "evaluate_numbers: no prompts");
  NumberEvaluation e;
  e.prompts = prompts.size();
  e.levels = options.levels;
  e.coverage.assign(e.levels.size(), 0.0);
  std::vector<double> absolute, relative;
  for (const NumberPrompt& p : prompts) {
    const Generation g = generate(lm, p.prompt, {.max_tokens = options.max_tokens, .stop_after_number = true});
    NumberAnswer a;
    a.text = g.text;
    if (!g.tokens.empty() && g.tokens.back() == lm.num_token()) {
      a.produced = true;
      a.median = g.values.back();
      a.scale = g.value_scales.back();
      a.probability = g.probabilities.back();
      absolute.push_back(std::abs(a.median - p.value));
      if (p.value != 0) relative.push_back(absolute.back() / std::abs(p.value));
      for (std::size_t i = 0; i < e.levels.size(); ++i)
        e.coverage[i] += central_interval(a.median, a.scale, e.levels[i]).contains(p.value) ? 1 : 0;
    }
    e.answers.push_back(std::move(a));
  }
  e.answered = absolute.size();
  e.number_rate = double(e.answered) / double(e.prompts);
  for (double& c : e.coverage) c = e.answered > 0 ? c / double(e.answered) : std::numeric_limits<double>::quiet_NaN();
  if (e.answered > 0) {
    double sum = 0;
    for (double d : absolute) sum += d;
    e.mae = sum / double(e.answered);
  }
  e.median_absolute_error = sample_median(std::move(absolute));
  e.median_relative_error = sample_median(std::move(relative));
  return e;
}

}  // namespace causalqwen::model
