// The number experiment: how well small language models trained the same way on the same text
// answer held-out questions whose answer is a number, and what their number handling costs the
// text. Every variant has the same Qwen2 backbone shape, tokenizer, data, optimiser and steps:
//   - CausalQwen: <NUM> decision + Cauchy value head, numbers enter as value encodings
//     (log-signed, as the default model; the design's sigmoid encoding as a variant), with three
//     forms of the value term's gate;
//   - the plain language model: softmax head, numbers spelled in digit tokens;
//   - softmax head + <NUM> + a linear regression head trained with squared error, at three
//     target scales (raw, standardised, log-signed).
// Each is trained with the library's one trainer for every seed and scored on the held-out prompts
// (greedy decoding, at most 16 tokens), teacher-forced on validation text (<NUM>-decision F1) and
// on held-out dictionary text (perplexity of the text tokens). Writes a markdown report
// (atomically) whose prose is derived from the measured numbers.
//
//   number_experiment [--quick] [--corpus DIR] [--report docs/experiments.md] [--steps N] [--seeds N]
#include "cli/program.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <limits>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace cq = causalqwen;
using cq::NumberSpelling;
using cq::TokenId;
using cq::model::TargetScale;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kMaxAnswerTokens = 16;

enum class Kind { causal, digits, regression };

struct Variant {
  std::string name;
  Kind kind = Kind::causal;
  bool sigmoid_encoding = false;
  cq::head::LossOptions<float> loss{};
  TargetScale scale = TargetScale::raw;
};

struct Budget {
  cq::Qwen2Config config;
  std::size_t steps = 0, batch = 0, sequence_length = 0, prompts_per_set = 0, scored_documents = 0;
  float learning_rate = 0;
};

struct Data {
  std::string tokenizer_json;
  std::vector<std::string> training, validation, heldout_text;
  std::vector<cq::model::NumberPrompt> elements, units;
};

/// The scores of one trained model.
struct Scores {
  double number_rate = kNaN, median_relative_error = kNaN, mae = kNaN, exact_match = kNaN, coverage_50 = kNaN,
         coverage_90 = kNaN, num_f1 = kNaN, perplexity = kNaN, final_loss = kNaN, seconds = 0;
  std::size_t text_positions = 0;
};

/// One greedy answer: whether a number came, its point value, its Cauchy scale (NaN when the
/// model gives none) and, for spelled answers, whether it is the reference as written.
struct Answer {
  bool produced = false;
  double value = kNaN, scale = kNaN;
  bool exact = false;
};

/// A trained model's answers to every prompt and its teacher-forced and training scores.
struct Trained {
  std::vector<Answer> answers;
  Scores scores;
};

/// Counts of a teacher-forced pass: the <NUM> decision's confusion and the text tokens' NLL.
struct TeacherForced {
  std::size_t true_positive = 0, false_positive = 0, false_negative = 0, text_positions = 0;
  double text_nll = 0;
  void decision(bool predicted, bool target) {
    true_positive += predicted && target;
    false_positive += predicted && !target;
    false_negative += !predicted && target;
  }
  double f1() const {
    const double denominator = 2.0 * double(true_positive) + double(false_positive) + double(false_negative);
    return denominator > 0 ? 2.0 * double(true_positive) / denominator : kNaN;
  }
};

/// Whether the token is text: not <NUM> and no digit in its spelling. Every variant reads the text
/// between numbers in the same tokens, so these positions are the same for all of them.
bool is_text_token(const cq::Tokenizer& tokenizer, TokenId id, TokenId num) {
  if (id == num) return false;
  const std::string s = tokenizer.decode(std::span(&id, 1));
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with_digit(const cq::Tokenizer& tokenizer, TokenId id) {
  const std::string s = tokenizer.decode(std::span(&id, 1));
  return !s.empty() && s.front() >= '0' && s.front() <= '9';
}

cq::NumberedText first_tokens(cq::NumberedText text, std::size_t n) {
  if (text.ids.size() > n) {
    text.ids.resize(n);
    text.values.resize(n);
  }
  return text;
}

/// Scores the answers (errors over answered prompts, coverage of the Cauchy intervals where given).
void score_answers(std::span<const Answer> answers, std::span<const cq::model::NumberPrompt> prompts, Scores& s) {
  std::vector<double> absolute, relative;
  std::size_t exact = 0, covered_50 = 0, covered_90 = 0, with_scale = 0;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    const Answer& a = answers[i];
    if (!a.produced) continue;
    const double truth = prompts[i].value;
    absolute.push_back(std::abs(a.value - truth));
    if (truth != 0) relative.push_back(absolute.back() / std::abs(truth));
    exact += a.exact;
    if (std::isfinite(a.scale)) {
      ++with_scale;
      covered_50 += cq::model::central_interval(a.value, a.scale, 0.5).contains(truth);
      covered_90 += cq::model::central_interval(a.value, a.scale, 0.9).contains(truth);
    }
  }
  s.number_rate = double(absolute.size()) / double(prompts.size());
  if (!absolute.empty()) {
    s.mae = std::accumulate(absolute.begin(), absolute.end(), 0.0) / double(absolute.size());
    s.exact_match = double(exact) / double(absolute.size());
  }
  if (!relative.empty()) s.median_relative_error = cq::sample_median(relative);
  if (with_scale > 0) {
    s.coverage_50 = double(covered_50) / double(with_scale);
    s.coverage_90 = double(covered_90) / double(with_scale);
  }
}

// ---- CausalQwen ------------------------------------------------------------------------------

template <class Encoding>
Trained run_causal(const Data& data, const cq::model::SequenceSet& training, const Budget& budget,
                  const cq::model::CausalTrainingOptions<float>& options, std::span<const cq::model::NumberPrompt> prompts,
                  const cq::Qwen2Parameters<float>& base, const std::filesystem::path& scratch, int threads) {
  using Trainable = cq::model::TrainableCausalLM<cq::CpuBackend<float>, cq::head::ExpLink, cq::head::LearnedThresholds, Encoding>;
  using Inference = cq::model::CausalLM<cq::Qwen2<>, cq::head::ExpLink, cq::head::LearnedThresholds, Encoding>;
  Trained out;
  Scores& s = out.scores;
  {
    auto lm = Trainable::from_base(data.tokenizer_json, base, {}, cq::CpuBackend<float>(threads), "tokenizer.json");
    const auto report = cq::model::train_causal_lm(lm, training, {}, options);
    s.seconds = report.seconds;
    s.final_loss = report.log.empty() ? kNaN : report.log.back().loss;
    lm.save(scratch);
  }
  const auto lm = cq::model::load_causal_lm<Inference>(scratch, cq::CpuBackend<float>(threads));
  const TokenId num = lm.num_token();

  const auto e = cq::model::evaluate_numbers(lm, prompts, {.max_tokens = kMaxAnswerTokens, .levels = {0.5, 0.9}});
  for (const auto& a : e.answers) out.answers.push_back({a.produced, a.median, a.scale, false});

  const auto probabilities = [&](const cq::NumberedText& text) {
    const auto f = lm.head().forward(lm.hidden_states(text.ids, text.values));
    return cq::head::ovr_probabilities(f.action.class_loc, f.action.class_scale, lm.head().action().threshold());
  };
  TeacherForced decisions, text;
  for (const std::string& doc : data.validation) {
    const auto t = first_tokens(lm.encode(doc), budget.sequence_length);
    if (t.ids.size() < 2) continue;
    const auto p = probabilities(t);
    for (std::size_t i = 0; i + 1 < t.ids.size(); ++i) {
      Eigen::Index best = 0;
      p.row(Eigen::Index(i)).maxCoeff(&best);
      decisions.decision(best == num, t.ids[i + 1] == num);
    }
  }
  // One-vs-rest probabilities are not a distribution over the classes; the text perplexity uses
  // them normalised, P_k / sum_j P_j.
  for (const std::string& doc : data.heldout_text) {
    const auto t = first_tokens(lm.encode(doc), budget.sequence_length);
    if (t.ids.size() < 2) continue;
    const auto p = probabilities(t);
    for (std::size_t i = 0; i + 1 < t.ids.size(); ++i) {
      const TokenId target = t.ids[i + 1];
      if (!is_text_token(lm.tokenizer(), target, num)) continue;
      const auto row = p.row(Eigen::Index(i)).template cast<double>();
      text.text_nll -= std::log(row(target) / row.sum());
      ++text.text_positions;
    }
  }
  s.num_f1 = decisions.f1();
  s.text_positions = text.text_positions;
  s.perplexity = text.text_positions > 0 ? std::exp(text.text_nll / double(text.text_positions)) : kNaN;
  return out;
}

// ---- the softmax models ----------------------------------------------------------------------

using SoftmaxLM = cq::model::TrainableSoftmaxLM<cq::CpuBackend<float>>;

/// Greedy decoding (a full forward per step): up to <NUM> for the regression model, for spelled
/// numbers until the first number is followed by other text (or the text ends).
Answer answer_softmax(const SoftmaxLM& lm, const cq::model::NumberPrompt& prompt) {
  const cq::Tokenizer& tokenizer = lm.tokenizer();
  const TokenId num = lm.num_token();
  const bool spelled = lm.numbers() == NumberSpelling::digits;
  const std::optional<TokenId> end = tokenizer.token_id("<|endoftext|>");
  cq::NumberedText text = cq::encode_with_numbers(tokenizer, prompt.prompt, num, {}, lm.numbers());
  std::vector<TokenId> written;
  const auto spelled_answer = [&](bool complete) -> std::optional<Answer> {
    const std::string s = tokenizer.decode(written);
    const auto numbers = cq::find_numbers(s);
    if (numbers.empty() || (!complete && numbers.front().end == s.size())) return std::nullopt;
    const double value = numbers.front().value;
    return Answer{true, value, kNaN, value == prompt.value};
  };
  const auto positions = static_cast<std::size_t>(lm.backbone().config().max_position_embeddings);
  for (std::size_t step = 0; step < kMaxAnswerTokens && text.ids.size() < positions; ++step) {
    const auto out = lm.outputs(text.ids, text.values);
    const auto last = out.logits.row(out.logits.rows() - 1);
    Eigen::Index best = 0;
    // A spelling model has a <NUM> row (from the shared embedding) that no target ever names.
    last.head(spelled ? num : last.size()).maxCoeff(&best);
    const auto token = static_cast<TokenId>(best);
    if (!spelled && token == num) return {true, out.value(out.value.size() - 1), kNaN, false};
    if (end && token == *end) break;
    text.ids.push_back(token);
    text.values.push_back(kNaN);
    if (spelled) {
      written.push_back(token);
      if (const auto a = spelled_answer(false)) return *a;
    }
  }
  if (spelled)
    if (const auto a = spelled_answer(true)) return *a;
  return {};
}

Trained run_softmax(const Variant& v, const Data& data, const cq::model::SequenceSet& training, const Budget& budget,
                   const cq::model::CausalTrainingOptions<float>& options,
                   std::span<const cq::model::NumberPrompt> prompts, const cq::Qwen2Parameters<float>& base,
                   const cq::model::TargetTransform& target, int threads, std::uint64_t seed) {
  const NumberSpelling spelling = v.kind == Kind::digits ? NumberSpelling::digits : NumberSpelling::num_token;
  auto lm = SoftmaxLM::from_base(data.tokenizer_json, base, spelling, target, cq::CpuBackend<float>(threads),
                                 "tokenizer.json", seed);
  Trained out;
  Scores& s = out.scores;
  const auto report = cq::model::train_causal_lm(lm, training, {}, options);
  s.seconds = report.seconds;
  s.final_loss = report.log.empty() ? kNaN : report.log.back().loss;

  for (const auto& p : prompts) out.answers.push_back(answer_softmax(lm, p));

  const cq::Tokenizer& tokenizer = lm.tokenizer();
  const TokenId num = lm.num_token();
  const auto encode = [&](const std::string& doc) {
    return first_tokens(cq::encode_with_numbers(tokenizer, doc, num, {}, spelling), budget.sequence_length);
  };
  TeacherForced decisions, text;
  for (const std::string& doc : data.validation) {
    const auto t = encode(doc);
    if (t.ids.size() < 2) continue;
    const auto o = lm.outputs(t.ids, t.values);
    for (std::size_t i = 0; i + 1 < t.ids.size(); ++i) {
      Eigen::Index best = 0;
      o.logits.row(Eigen::Index(i)).maxCoeff(&best);
      const auto predicted = static_cast<TokenId>(best);
      // A number starts at the next position: <NUM>, or (spelled) a token whose value is beside it.
      if (spelling == NumberSpelling::digits)
        decisions.decision(starts_with_digit(tokenizer, predicted), std::isfinite(t.values[i + 1]));
      else
        decisions.decision(predicted == num, t.ids[i + 1] == num);
    }
  }
  for (const std::string& doc : data.heldout_text) {
    const auto t = encode(doc);
    if (t.ids.size() < 2) continue;
    const auto o = lm.outputs(t.ids, t.values);
    for (std::size_t i = 0; i + 1 < t.ids.size(); ++i) {
      const TokenId target = t.ids[i + 1];
      if (!is_text_token(tokenizer, target, num)) continue;
      const auto row = o.logits.row(Eigen::Index(i)).template cast<double>();
      const double top = row.maxCoeff();
      text.text_nll += top + std::log((row.array() - top).exp().sum()) - row(target);
      ++text.text_positions;
    }
  }
  s.num_f1 = decisions.f1();
  s.text_positions = text.text_positions;
  s.perplexity = text.text_positions > 0 ? std::exp(text.text_nll / double(text.text_positions)) : kNaN;
  return out;
}

// ---- the report ------------------------------------------------------------------------------

struct Summary {
  double mean = kNaN, spread = kNaN;  ///< over the seeds whose value is finite; spread: sample std
  std::size_t finite = 0;
};

Summary summarise(const std::vector<Scores>& runs, double Scores::*field) {
  std::vector<double> x;
  for (const Scores& s : runs)
    if (std::isfinite(s.*field)) x.push_back(s.*field);
  Summary out;
  out.finite = x.size();
  if (x.empty()) return out;
  out.mean = std::accumulate(x.begin(), x.end(), 0.0) / double(x.size());
  double squares = 0;
  for (const double xi : x) squares += (xi - out.mean) * (xi - out.mean);
  out.spread = x.size() > 1 ? std::sqrt(squares / double(x.size() - 1)) : 0.0;
  return out;
}

std::string cell(const Summary& s, const char* format) {
  if (s.finite == 0) return "—";
  char a[64], b[64];
  std::snprintf(a, sizeof a, format, s.mean);
  std::snprintf(b, sizeof b, format, s.spread);
  return std::string(a) + " ± " + b;
}

struct Row {
  Variant variant;
  std::vector<Scores> set_scores[2];  ///< per seed: elements, units
  std::vector<Scores> pooled;         ///< per seed: both prompt sets together, plus the text scores
};

double mean_of(const Row& r, double Scores::*field) { return summarise(r.pooled, field).mean; }

/// Whether a is below b by more than 1 % of b: closer results are called equal in the prose.
bool clearly_lower(double a, double b) { return std::isfinite(a) && std::isfinite(b) && a < b - 0.01 * std::abs(b); }

/// "what x vs y (better / worse / about equal)" of two rows' means, saying over how many seeds a
/// mean was taken when some seeds gave no value (no number answered).
std::string compare(const Row& ours, const Row& theirs, double Scores::*field, bool lower_is_better, const char* what) {
  const Summary a = summarise(ours.pooled, field), b = summarise(theirs.pooled, field);
  char buffer[320];
  if (a.finite == 0 || b.finite == 0) {
    std::snprintf(buffer, sizeof buffer, "%s cannot be compared (%s produced no number)", what,
                  a.finite == 0 ? "this side" : "the other side");
    return buffer;
  }
  const bool better = lower_is_better ? clearly_lower(a.mean, b.mean) : clearly_lower(b.mean, a.mean);
  const bool worse = lower_is_better ? clearly_lower(b.mean, a.mean) : clearly_lower(a.mean, b.mean);
  std::string seeds;
  const auto over = [&](const Summary& s, const Row& r, const char* side) {
    if (s.finite < r.pooled.size())
      seeds += std::string(seeds.empty() ? "" : ", ") + side + " over " + std::to_string(s.finite) + " of " +
               std::to_string(r.pooled.size()) + " seeds";
  };
  over(a, ours, "the first");
  over(b, theirs, "the second");
  std::snprintf(buffer, sizeof buffer, "%s %.3g vs %.3g (%s%s%s)", what, a.mean, b.mean,
                better ? "better" : worse ? "worse" : "about equal", seeds.empty() ? "" : "; ", seeds.c_str());
  return buffer;
}

std::string report(const std::vector<Row>& rows, const Budget& budget, const Data& data, std::size_t seeds,
                   std::size_t tokens, bool quick, double wall_seconds) {
  std::ostringstream o;
  const cq::Qwen2Config& c = budget.config;
  o << "# Experiment: numbers in a small language model, three ways\n\n"
    << "<!-- Generated by examples/number_experiment" << (quick ? " --quick" : "")
    << "; do not edit by hand. The domain-knowledge experiment is in experiments_domain_fusion.md. -->\n\n"
    << "Every variant is the same Qwen2 backbone (" << c.num_hidden_layers << " layers, hidden " << c.hidden_size
    << ", " << c.num_attention_heads << " heads / " << c.num_key_value_heads << " key-value, intermediate "
    << c.intermediate_size << ", tied embeddings), trained from the same random initialisation per seed with the "
    << "library's one trainer (`train_causal_lm`, AdamW, learning rate " << budget.learning_rate
    << ", cosine schedule) for " << budget.steps << " steps of " << budget.batch << " sequences of " << budget.sequence_length
    << " tokens (" << tokens << " training tokens in the <NUM> packing), on " << data.training.size()
    << " training documents, with the default model's byte-level BPE vocabulary (" << c.vocab_size - 1
    << " tokens + <NUM>). " << seeds << " seed" << (seeds > 1 ? "s" : "") << "; a cell is the mean ± the sample "
    << "standard deviation over the seeds. " << (quick ? "**Quick mode** (the CI smoke run): a tiny model and budget "
    "on the test fixtures; its numbers show that the pipeline runs, not what the variants can do. " : "")
    << "This budget is far below the default model's (`models/causalqwen-mini`), so absolute numbers are weak; the "
    << "comparison is the point. The whole run took " << std::lround(wall_seconds / 60) << " min.\n\n"
    << "Scores:\n"
    << "- **answers**: greedy decoding (at most " << kMaxAnswerTokens << " tokens) on held-out prompts whose answer is a "
    << "number (" << data.elements.size() << " about held-out elements, " << data.units.size()
    << " about held-out unit pairs): the fraction that produced a number, the median relative error |ŷ − v| / |v| and "
    << "the MAE over those that did, for spelled answers the fraction equal to the reference as written, and for the "
    << "Cauchy answers the coverage of the central 50 % / 90 % intervals (a calibrated model covers 0.5 / 0.9);\n"
    << "- **<NUM> F1**: teacher-forced on " << data.validation.size() << " validation documents (first "
    << budget.sequence_length << " tokens each), the decision \"a number comes next\": the argmax is <NUM> "
    << "(spelled: the argmax token starts with a digit) against the next token being a number;\n"
    << "- **text perplexity**: on " << data.heldout_text.size() << " held-out dictionary entries (first "
    << budget.sequence_length << " tokens each), exp of the mean negative log-likelihood of the text tokens (not "
    << "<NUM>, no digit in them: the same positions for every variant). For CausalQwen the one-vs-rest "
    << "probabilities are normalised, P_k / Σ_j P_j.\n\n";

  o << "## Results\n\n| variant | answered | median rel. error | MAE | exact | cover 50 % | cover 90 % | <NUM> F1 | "
       "text ppl | final loss |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const Row& r : rows) {
    const auto s = [&](double Scores::*f, const char* format) { return cell(summarise(r.pooled, f), format); };
    o << "| " << r.variant.name << " | " << s(&Scores::number_rate, "%.2f") << " | "
      << s(&Scores::median_relative_error, "%.3f") << " | " << s(&Scores::mae, "%.3g") << " | "
      << (r.variant.kind == Kind::digits ? s(&Scores::exact_match, "%.3f") : "—") << " | "
      << s(&Scores::coverage_50, "%.2f") << " | " << s(&Scores::coverage_90, "%.2f") << " | "
      << s(&Scores::num_f1, "%.3f") << " | " << s(&Scores::perplexity, "%.1f") << " | "
      << s(&Scores::final_loss, "%.3f") << " |\n";
  }
  o << "\nThe final loss is each variant's own training loss (different losses; not comparable across kinds).\n\n"
    << "### Per prompt set (median relative error / answered)\n\n| variant | elements | unit pairs |\n|---|---|---|\n";
  for (const Row& r : rows) {
    o << "| " << r.variant.name;
    for (const auto& set : r.set_scores)
      o << " | " << cell(summarise(set, &Scores::median_relative_error), "%.3f") << " / "
        << cell(summarise(set, &Scores::number_rate), "%.2f");
    o << " |\n";
  }

  // ---- what the numbers show -----------------------------------------------------------------
  const auto find = [&](const std::string& prefix) -> const Row& {
    for (const Row& r : rows)
      if (r.variant.name.starts_with(prefix)) return r;
    cq::fail("number_experiment: no variant ", prefix);
  };
  const Row& causal = find("CausalQwen");
  const Row& digits = find("softmax, digits");
  o << "\n## What the numbers show\n\n";
  o << "- **CausalQwen against the plain language model** (spelled digits): "
    << compare(causal, digits, &Scores::median_relative_error, true,
               "median relative error")
    << "; " << compare(causal, digits, &Scores::number_rate, false, "answered")
    << "; " << compare(causal, digits, &Scores::num_f1, false, "<NUM> F1")
    << "; " << compare(causal, digits, &Scores::perplexity, true, "text perplexity")
    << ". The plain model answers exactly (as written) in " << cell(summarise(digits.pooled, &Scores::exact_match), "%.3f")
    << " of its answers.\n";
  const Row* best_regression = nullptr;
  for (const Row& r : rows)
    if (r.variant.kind == Kind::regression && std::isfinite(mean_of(r, &Scores::median_relative_error)) &&
        (!best_regression ||
         mean_of(r, &Scores::median_relative_error) < mean_of(*best_regression, &Scores::median_relative_error)))
      best_regression = &r;
  if (!best_regression)
    o << "- **against softmax + <NUM> + squared error**: no target scale produced a number.\n";
  else
    o << "- **against softmax + <NUM> + squared error**: the target scale with the lowest median relative error is "
      << best_regression->variant.name
      << "; against it CausalQwen has "
      << compare(causal, *best_regression, &Scores::median_relative_error, true, "median relative error")
      << " and " << compare(causal, *best_regression, &Scores::perplexity, true,
                            "text perplexity")
      << ". The squared-error heads give a point only; the Cauchy head's intervals cover "
      << cell(summarise(causal.pooled, &Scores::coverage_50), "%.2f") << " (50 %) and "
      << cell(summarise(causal.pooled, &Scores::coverage_90), "%.2f") << " (90 %).\n";
  const Row& sigmoid = find("CausalQwen, sigmoid");
  o << "- **encoding**: the sigmoid encoding against the log-signed one: "
    << compare(sigmoid, causal, &Scores::median_relative_error, true,
               "median relative error")
    << "; " << compare(sigmoid, causal, &Scores::perplexity, true, "text perplexity")
    << ".\n";
  o << "- **the gate**:";
  for (const std::string prefix : {"gate: design", "gate: P held", "no gate"}) {
    const Row& g = find(prefix);
    o << " " << g.variant.name << ": answered " << cell(summarise(g.pooled, &Scores::number_rate), "%.2f")
      << ", median relative error " << cell(summarise(g.pooled, &Scores::median_relative_error), "%.3f") << ", F1 "
      << cell(summarise(g.pooled, &Scores::num_f1), "%.3f") << ";";
  }
  const Row& design_gate = find("gate: design");
  o << " against the design's gate the default (α = 0.5, P held) has "
    << compare(causal, design_gate, &Scores::num_f1, false, "<NUM> F1") << " and "
    << compare(causal, design_gate, &Scores::median_relative_error, true, "median relative error")
    << ".\n";
  o << "- **where the design loses** here (their score vs CausalQwen's):";
  bool any = false;
  for (const Row& r : rows) {
    if (r.variant.kind == Kind::causal) continue;
    std::string wins;
    const auto beats = [&](double Scores::*field, bool lower_is_better, const char* what) {
      const double ours = mean_of(causal, field), theirs = mean_of(r, field);
      if (lower_is_better ? clearly_lower(theirs, ours) : clearly_lower(ours, theirs)) {
        char buffer[160];
        std::snprintf(buffer, sizeof buffer, "%s%s %.3g vs %.3g", wins.empty() ? "" : ", ", what, theirs, ours);
        wins += buffer;
      }
    };
    beats(&Scores::number_rate, false, "answered");
    beats(&Scores::median_relative_error, true, "median relative error");
    beats(&Scores::num_f1, false, "<NUM> F1");
    beats(&Scores::perplexity, true, "text perplexity");
    if (wins.empty()) continue;
    o << (any ? ";" : "") << " " << r.variant.name << " is ahead in " << wins;
    any = true;
  }
  o << (any ? "." : " nowhere in these scores.") << "\n\n";
  o << "## Reproduce\n\n```\nscripts/run-experiment.sh\n```\n\nThe script installs the corpus packages, builds "
       "the corpus (`scripts/build_corpus.py`) and runs `build/examples/number_experiment --corpus <corpus> --report "
       "docs/experiments.md`; `--steps` and `--seeds` set the budget.\n";
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains the number-handling variants of a small language model and writes the comparison report."};
  bool quick = false;
  std::string report_path, corpus_dir, train_file, tokenizer_file;
  std::size_t steps = 0, seeds = 3;
  int threads = 2;
  app.add_flag("--quick", quick, "a tiny model and budget on the test fixtures (a CI smoke run)");
  app.add_option("--corpus", corpus_dir, "corpus directory (train.jsonl, validation.jsonl, heldout_text.jsonl)");
  app.add_option("--train", train_file, "quick mode: JSONL training documents (a tenth is held out for validation)");
  app.add_option("--tokenizer", tokenizer_file, "tokenizer.json (default: the default model's)");
  app.add_option("--report", report_path, "write the markdown report here (atomically)");
  app.add_option("--steps", steps, "optimiser steps per run (default: 4 quick, 1500 full)");
  app.add_option("--seeds", seeds, "seeds per variant")->check(CLI::PositiveNumber);
  app.add_option("--threads", threads, "threads")->check(CLI::PositiveNumber);
  return causalqwen::programs::run_program("number_experiment", app, argc, argv, [&] {
    const std::filesystem::path model_dir = CAUSALQWEN_DEFAULT_MODEL_DIR, eval_dir = CAUSALQWEN_DEFAULT_EVAL_DIR;
    cq::require(quick ? !train_file.empty() : !corpus_dir.empty(),
                "number_experiment: give --corpus DIR, or --quick with --train FILE");
    if (quick && !app.count("--seeds")) seeds = 1;
    if (steps == 0) steps = quick ? 4 : 1500;
    Data data;
    data.tokenizer_json = cq::io::read_file(
        tokenizer_file.empty() ? model_dir / "tokenizer.json" : std::filesystem::path(tokenizer_file),
        "tokenizer file");
    const cq::Tokenizer tokenizer = cq::Tokenizer::from_json(data.tokenizer_json);
    const TokenId num = cq::num_token_id(tokenizer);
    Budget budget;
    cq::Qwen2Config& c = budget.config;
    c.vocab_size = num;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.tie_word_embeddings = true;
    if (quick) {
      c.hidden_size = 32, c.intermediate_size = 64, c.num_hidden_layers = 1, c.head_dim = 8;
      budget.batch = 4, budget.sequence_length = 32, budget.prompts_per_set = 6, budget.scored_documents = 8;
      budget.learning_rate = 3e-3f;
      auto documents = cq::model::read_documents(train_file);
      auto split = cq::model::split_documents(std::move(documents), 0.1, 1);
      data.training = std::move(split.training);
      data.validation = std::move(split.validation);
      data.heldout_text = data.validation;
    } else {
      c.hidden_size = 128, c.intermediate_size = 352, c.num_hidden_layers = 2, c.head_dim = 32;
      budget.batch = 8, budget.sequence_length = 64, budget.prompts_per_set = 0, budget.scored_documents = 200;
      budget.learning_rate = 2e-3f;
      const std::filesystem::path dir = corpus_dir;
      data.training = cq::model::read_documents(dir / "train.jsonl");
      data.validation = cq::model::read_documents(dir / "validation.jsonl");
      data.heldout_text = cq::model::read_documents(dir / "heldout_text.jsonl");
    }
    // Room for a prompt and its answer beyond the training length (positions are rotary).
    c.max_position_embeddings = std::int64_t(budget.sequence_length) + 64;
    budget.steps = steps;
    const auto limit = [](auto& v, std::size_t n) {
      if (n > 0 && v.size() > n) v.resize(n);
    };
    limit(data.validation, budget.scored_documents);
    limit(data.heldout_text, budget.scored_documents);
    data.elements = cq::model::read_number_prompts(eval_dir / "elements.jsonl");
    data.units = cq::model::read_number_prompts(eval_dir / "units.jsonl");
    limit(data.elements, budget.prompts_per_set);
    limit(data.units, budget.prompts_per_set);
    std::vector<cq::model::NumberPrompt> prompts = data.elements;
    prompts.insert(prompts.end(), data.units.begin(), data.units.end());

    const auto as_num = cq::model::pack_documents(tokenizer, num, data.training, budget.sequence_length);
    const auto spelled =
        cq::model::pack_documents(tokenizer, num, data.training, budget.sequence_length, NumberSpelling::digits);

    std::vector<Variant> variants;
    const auto causal = [&](std::string name, bool sigmoid, float alpha, bool gradient) {
      Variant v{std::move(name), Kind::causal, sigmoid, {}, TargetScale::raw};
      v.loss.lambda = 5, v.loss.gate_alpha = alpha, v.loss.gate_gradient = gradient;
      variants.push_back(v);
    };
    causal("CausalQwen (log-signed encoding, gate α = 0.5, P held)", false, 0.5f, false);
    causal("CausalQwen, sigmoid encoding", true, 0.5f, false);
    causal("gate: design (α = 0, P trained)", false, 0.0f, true);
    causal("gate: P held constant (α = 0)", false, 0.0f, false);
    causal("no gate (α = 1)", false, 1.0f, false);
    variants.push_back({"softmax, digits", Kind::digits, false, {}, TargetScale::raw});
    for (const TargetScale scale : {TargetScale::raw, TargetScale::standardised, TargetScale::log_signed}) {
      Variant v{"softmax + <NUM> + MSE, " + std::string(cq::model::to_string(scale)) + " target", Kind::regression, false, {}, scale};
      v.loss.lambda = 1;
      variants.push_back(v);
    }

    const std::filesystem::path scratch = std::filesystem::temp_directory_path() / "causalqwen_number_experiment";
    const auto started = std::chrono::steady_clock::now();
    std::vector<Row> rows;
    for (const Variant& v : variants) {
      Row row{v, {}, {}};
      for (std::size_t seed = 1; seed <= seeds; ++seed) {
        const auto base = cq::load_qwen2_parameters<float>(c, cq::model::random_qwen2_tensors(c, seed, 0.02f), "fresh");
        cq::model::CausalTrainingOptions<float> options;
        options.steps = budget.steps;
        options.batch_size = budget.batch;
        options.seed = seed;
        options.optimizer.learning_rate = budget.learning_rate;
        options.optimizer.schedule.kind = cq::train::ScheduleKind::cosine;
        options.optimizer.schedule.total_steps = budget.steps;
        options.optimizer.schedule.warmup_steps = std::min<std::size_t>(50, budget.steps / 10);
        options.optimizer.schedule.final_fraction = 0.05f;
        options.loss = v.loss;
        Trained trained;
        if (v.kind == Kind::causal) {
          trained = v.sigmoid_encoding
                        ? run_causal<cq::model::SigmoidValueEncoding<float>>(data, as_num, budget, options, prompts,
                                                                             base, scratch, threads)
                        : run_causal<cq::model::LogSignedValueEncoding<float>>(data, as_num, budget, options, prompts,
                                                                               base, scratch, threads);
        } else {
          options.parts.frozen = {};  // the softmax is the tied embedding: it trains
          const auto target = cq::model::TargetTransform::fit(v.scale, as_num, num);
          trained = run_softmax(v, data, v.kind == Kind::digits ? spelled : as_num, budget, options, prompts, base,
                                target, threads, seed);
        }
        const std::span<const Answer> answers(trained.answers);
        Scores pooled = trained.scores;
        score_answers(answers, prompts, pooled);
        row.pooled.push_back(pooled);
        const std::size_t e = data.elements.size();
        score_answers(answers.first(e), std::span(prompts).first(e), row.set_scores[0].emplace_back());
        score_answers(answers.subspan(e), std::span(prompts).subspan(e), row.set_scores[1].emplace_back());
        std::printf("%-56s seed %zu: answered %.2f, median rel. error %.3f, F1 %.3f, ppl %.1f (%.0f s)\n",
                    v.name.c_str(), seed, pooled.number_rate, pooled.median_relative_error, pooled.num_f1,
                    pooled.perplexity, pooled.seconds);
        std::fflush(stdout);
      }
      rows.push_back(std::move(row));
    }
    std::filesystem::remove_all(scratch);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::string text = report(rows, budget, data, seeds, as_num.targets(), quick, wall);
    if (report_path.empty()) {
      std::fputs(text.c_str(), stdout);
    } else {
      cq::write_file_atomically(report_path, text);
      std::printf("wrote %s\n", report_path.c_str());
    }
    return 0;
  });
}
