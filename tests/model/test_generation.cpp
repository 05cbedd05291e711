#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/generation.hpp>
#include <causalqwen/model/text_stream.hpp>

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

TEST_CASE("a text stream's pieces are final and add up to the generation's text") {
  const Model lm = tiny_model(7);
  // Sampling over 266 byte-level ids makes partial and ill-formed UTF-8 likely.
  bool split_character = false;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    model::TextStream<Model> stream(lm);
    std::string sent;
    std::size_t calls = 0;
    model::GenerationOptions options{.max_tokens = 40, .sample = true, .seed = seed};
    options.on_decision = [&](const model::Generation& so_far, bool last) {
      CHECK(so_far.tokens.size() == ++calls);
      const std::string piece = stream.next(so_far, last);
      split_character |= piece.empty() && !last;
      sent += piece;
      return true;
    };
    const auto g = model::generate(lm, prompt, options);
    CHECK(calls == g.tokens.size());
    CHECK(sent == g.text);
  }
  CHECK(split_character);

  // By hand: the two bytes of "é" as two tokens, a number, an ill-formed byte at the end.
  const auto byte_token = [&](unsigned char b) {
    return *lm.tokenizer().token_id(byte_level::byte_symbols()[b]);
  };
  model::TextStream<Model> stream(lm);
  CHECK(stream.push(byte_token(0xC3), 0) == "");
  CHECK(stream.push(byte_token(0xA9), 0) == "\xC3\xA9");
  CHECK(stream.push(byte_token(0xC3), 0) == "");
  CHECK(stream.push(lm.num_token(), 42.5) == "\xEF\xBF\xBD" "42.5");  // the run ends repaired
  CHECK(stream.push(byte_token(0xFF), 0) == "");
  CHECK(stream.finish("\xC3\xA9\xEF\xBF\xBD" "42.5\xEF\xBF\xBD") == "\xEF\xBF\xBD");
  CHECK_THROWS_AS(stream.finish("something else"), error);
}

TEST_CASE("on_decision returning false ends the generation there") {
  const Model lm = tiny_model(7);
  model::GenerationOptions options{.max_tokens = 12};
  options.on_decision = [](const model::Generation& so_far, bool) { return so_far.tokens.size() < 3; };
  const auto g = model::generate(lm, prompt, options);
  CHECK(g.tokens.size() == 3);
  CHECK_FALSE(g.stopped);
  CHECK(g.text == lm.decode(g.tokens, g.values));
  CHECK(model::generate(lm, prompt, {.max_tokens = 12}).text.starts_with(g.text));
}

}  // namespace causalqwen_tests_model_generation
