#pragma once
// Generation with a causal language model. At each step the head turns the last hidden state into
// one-vs-rest probabilities P_k (standard mode: U's own scale plus the exogenous noise); the next
// token is
//   deterministic: argmax_k P_k;
//   sampling:      one individual u ~ Cauchy(loc_U, scale_U) is drawn (causal-sample mode, from a
//                  generator seeded by the options) and the decision is argmax_k (A_k u + B_k - C_k),
//                  the value W u + b; the reported probability is still P_k of the chosen class.
// When the decision is <NUM>, the value (loc_Y, or the individual's value when sampling) is written
// into the text with format_number and fed back in with <NUM> through the value encoding. The
// backbone runs incrementally on its KV cache: one position per step after the prompt.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/tokenizer/numbers.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace causalqwen::model {

struct Generation {
  std::vector<TokenId> tokens;        ///< the new tokens (<NUM> = the model's num_token())
  std::vector<double> values;         ///< the value of each <NUM> (its Cauchy median), NaN elsewhere
  std::vector<double> value_scales;   ///< the Cauchy scale of each <NUM> value (0 when sampled), NaN elsewhere
  std::vector<double> probabilities;  ///< P_k of each chosen decision
  std::string text;                   ///< the new text, numbers written out, stop token left out
  bool stopped = false;               ///< ended on a stop token (not the length limit)
};

struct GenerationOptions {
  std::size_t max_tokens = 32;       ///< new tokens at most (the stop token included)
  bool sample = false;               ///< draw U instead of taking the argmax of P_k
  std::uint64_t seed = 0;            ///< for sampling
  std::vector<TokenId> stop_tokens = {};  ///< empty: <|endoftext|> and <|im_end|> where the tokenizer has them
  bool stop_after_number = false;         ///< end right after the first <NUM> (answering a numeric question)
  /// Called after every decision with the generation so far and whether that decision is the
  /// last; on the last, the generation is complete (text included). Returning false ends the
  /// generation there (a client that went away). model::TextStream turns the calls into text.
  std::function<bool(const Generation& so_far, bool last)> on_decision = {};
};


/// One decision of the head for one hidden state.
struct Decision {
  TokenId token = 0;
  double probability = 0;
  double value = std::numeric_limits<double>::quiet_NaN();        ///< the regression value (every class)
  double value_scale = std::numeric_limits<double>::quiet_NaN();  ///< its Cauchy scale (0 when sampling)
};

namespace detail {
/// The value as the head computed it, in T, read back as the double nearest its shortest decimal
/// spelling: a float value 26.01714f is written "26.01714", not "26.017139434814453", and the
/// value fed back is exactly the one written.
template <Real T>
double written_value(T value) {
  std::array<char, 64> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  double out = 0;
  if (ec != std::errc() || std::from_chars(buffer.data(), end, out).ec != std::errc()) return double(value);
  return out;
}
}  // namespace detail

/// The decision for the last row of `hidden`; `rng` is used only when sampling.
template <class LM>
Decision decide_next(const LM& lm, const RowMatrix<typename LM::scalar_type>& hidden, bool sample, std::mt19937_64& rng) {
  require(hidden.rows() > 0, "decide_next: no hidden state");
  const auto next = lm.head().decide_next(hidden.bottomRows(1), sample, rng);
  return {next.class_id, double(next.probability), detail::written_value(next.value_loc), double(next.value_scale)};
}

namespace detail {
/// The generation's text: its decisions but a final stop token, numbers written out.
template <class LM>
void set_text(const LM& lm, Generation& g) {
  const std::size_t shown = g.tokens.size() - (g.stopped ? 1 : 0);
  g.text = lm.decode(std::span(g.tokens).first(shown), std::span(g.values).first(shown));
}
}  // namespace detail

/// Continues `prompt` (ids and values, as from lm.encode).
template <class LM>
Generation generate(const LM& lm, const NumberedText& prompt, const GenerationOptions& options = {}) {
  require(!prompt.ids.empty(), "generate: the prompt is empty");
  std::vector<TokenId> stops = options.stop_tokens;
  if (stops.empty())
    for (const char* name : {"<|endoftext|>", "<|im_end|>"})
      if (const auto id = lm.tokenizer().token_id(name)) stops.push_back(*id);

  Generation g;
  std::mt19937_64 rng(options.seed);
  auto cache = lm.make_cache();
  auto hidden = lm.hidden_states(prompt.ids, prompt.values, cache);
  while (g.tokens.size() < options.max_tokens) {
    const Decision d = decide_next(lm, hidden, options.sample, rng);
    const bool is_num = d.token == lm.num_token();
    require(!is_num || std::isfinite(d.value), "generate: the head predicted <NUM> with the non-finite value ", d.value);
    g.tokens.push_back(d.token);
    g.values.push_back(is_num ? d.value : std::numeric_limits<double>::quiet_NaN());
    g.value_scales.push_back(is_num ? d.value_scale : std::numeric_limits<double>::quiet_NaN());
    g.probabilities.push_back(d.probability);
    g.stopped = std::find(stops.begin(), stops.end(), d.token) != stops.end();
    const bool last = g.stopped || g.tokens.size() == options.max_tokens || (is_num && options.stop_after_number);
    if (last) detail::set_text(lm, g);
    if (options.on_decision && !options.on_decision(g, last)) break;
    if (last) return g;
    const TokenId token[1] = {d.token};
    const double value[1] = {g.values.back()};
    hidden = lm.hidden_states(token, value, cache);
  }
  detail::set_text(lm, g);
  return g;
}

template <class LM>
Generation generate(const LM& lm, std::string_view prompt, const GenerationOptions& options = {}) {
  return generate(lm, lm.encode(prompt), options);
}

}  // namespace causalqwen::model
