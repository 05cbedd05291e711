#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/generation.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

namespace causalqwen_tests_model_generation {

using namespace causalqwen;
using namespace causalqwen::model::testing;

namespace {
const std::string prompt = "hello world 42.5 hello";
}  // namespace

TEST_CASE("deterministic generation: incremental decoding equals full passes") {
  const Model lm = tiny_model(7);
  const auto g = model::generate(lm, prompt, {.max_tokens = 12});
  REQUIRE(g.tokens.size() == 12);
  CHECK_FALSE(g.stopped);
  NumberedText all = lm.encode(prompt);
  for (std::size_t i = 0; i < g.tokens.size(); ++i) {
    std::mt19937_64 unused;
    const auto d = model::decide_next(lm, lm.hidden_states(all), false, unused);  // a fresh full pass
    CHECK(d.token == g.tokens[i]);
    CHECK(d.probability == doctest::Approx(g.probabilities[i]).epsilon(1e-4));
    CHECK(g.probabilities[i] > 0.0);
    CHECK(g.probabilities[i] < 1.0);
    all.ids.push_back(g.tokens[i]);
    all.values.push_back(g.values[i]);
  }
  CHECK(model::generate(lm, prompt, {.max_tokens = 12}).tokens == g.tokens);
}

TEST_CASE("sampling is reproducible for a seed and depends on it") {
  const Model lm = tiny_model(7);
  const auto a = model::generate(lm, prompt, {.max_tokens = 16, .sample = true, .seed = 11});
  const auto b = model::generate(lm, prompt, {.max_tokens = 16, .sample = true, .seed = 11});
  CHECK(a.tokens == b.tokens);
  CHECK(a.text == b.text);
  CHECK(a.probabilities == b.probabilities);
  bool differs = false;
  for (std::uint64_t seed = 12; seed < 20 && !differs; ++seed)
    differs = model::generate(lm, prompt, {.max_tokens = 16, .sample = true, .seed = seed}).tokens != a.tokens;
  CHECK(differs);
}

TEST_CASE("a <NUM> decision writes its value and feeds it back; end-of-text stops") {
  Model lm = tiny_model(7);
  const auto num = lm.num_token();
  lm.head().update_params([&](head::HeadParams<float>& p) {
    p.action.class_bias(num) = 1e4f;
    p.action.value_weight.setZero();
    p.action.value_bias(0) = 42.5f;
  });
  const auto g = model::generate(lm, prompt, {.max_tokens = 3});
  CHECK(g.tokens == std::vector<TokenId>(3, num));
  CHECK(g.values == std::vector<double>(3, 42.5));
  CHECK(g.text == "42.542.542.5");
  CHECK(g.probabilities[0] > 0.99);

  const TokenId eos = *lm.tokenizer().token_id("<|endoftext|>");
  lm.head().update_params([&](head::HeadParams<float>& p) {
    p.action.class_bias(num) = 0;
    p.action.class_bias(eos) = 1e4f;
  });
  const auto stopped = model::generate(lm, prompt, {.max_tokens = 5});
  CHECK(stopped.stopped);
  CHECK(stopped.tokens == std::vector<TokenId>{eos});
  CHECK(stopped.text.empty());
  CHECK_THROWS_AS(model::generate(lm, "", {}), error);
}

}  // namespace causalqwen_tests_model_generation
