#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/text_data.hpp>
#include <causalqwen/train/head_training.hpp>

#include "fixtures.hpp"
#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace causalqwen_tests_model_text_training {

using namespace causalqwen;
using namespace causalqwen::model::testing;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);
}  // namespace

TEST_CASE("templated sentences: deterministic, with numbers") {
  const auto a = model::templated_sentences(40, 5);
  CHECK(a.size() == 40);
  CHECK(a == model::templated_sentences(40, 5));
  CHECK(a != model::templated_sentences(40, 6));
  for (const auto& line : a) CHECK_FALSE(find_numbers(line).empty());
}

TEST_CASE("a line becomes inputs and next-token targets with values") {
  const Model lm = tiny_model(9, 256);
  const auto s = model::text_sample(lm, "hello 42.5 world");
  const TokenId hello = *lm.tokenizer().token_id("hello"), eos = *lm.tokenizer().token_id("<|endoftext|>");
  const TokenId world = *lm.tokenizer().token_id("Ġworld"), space = *lm.tokenizer().token_id("Ġ");
  CHECK(s.tokens == std::vector<TokenId>{hello, space, lm.num_token(), world});
  CHECK(s.targets == std::vector<std::int32_t>{space, lm.num_token(), world, eos});
  CHECK(s.target_values[1] == 42.5);
  CHECK(s.values[2] == 42.5);
  CHECK(std::isnan(s.target_values[0]));

  const std::vector<std::string> lines{"hello 42.5 world", "", "hello -7 hello 3"};
  const auto data = model::text_dataset(lm, lines);
  CHECK(data.size() == 4 + model::text_sample(lm, lines[2]).tokens.size());
  CHECK(data.targets.values(1) == 42.5f);
  // Cached states are the model's own: position 2 of line 1 seen with its prefix.
  const auto direct = lm.hidden_states(s.tokens, s.values);
  CHECK((data.hidden.topRows(4) - direct).cwiseAbs().maxCoeff() == 0.0f);
}

TEST_CASE("text files: lines read, bad files refused") {
  const auto file = scratch / "lines.txt";
  {
    std::ofstream out(file, std::ios::binary);
    out << "The price is 42.5 dollars.\r\n\n   \nShe is 30 years old.";
  }
  CHECK(model::read_text_lines(file) == std::vector<std::string>{"The price is 42.5 dollars.", "She is 30 years old."});
  CHECK_THROWS_AS(model::read_text_lines(scratch / "missing.txt"), error);
  {
    std::ofstream out(scratch / "blank.txt");
    out << "\n \n";
  }
  CHECK_THROWS_AS(model::read_text_lines(scratch / "blank.txt"), error);
  {
    std::ofstream out(scratch / "latin1.txt", std::ios::binary);
    out << "caf\xc3\xa9 is fine\nna\xefve is not\n";
  }
  CHECK_THROWS_WITH_AS(model::read_text_lines(scratch / "latin1.txt"),
                       doctest::Contains("latin1.txt: line 2 is not valid UTF-8 (byte 3)"), error);
  const Model lm = tiny_model(9, 256);
  const std::vector<std::string> overflow{"hello 1e39 world"};  // finite double, infinite float
  CHECK_THROWS_AS(model::text_dataset(lm, overflow), error);
}

TEST_CASE("training on text lowers the loss; a resumed run continues bit for bit") {
  const Model lm = tiny_model(9, 256);
  const auto lines = model::templated_sentences(24, 3);
  const auto data = model::text_dataset(lm, lines);
  train::HeadTrainingOptions<float> options;
  options.steps = 24;
  options.batch_size = 64;
  options.optimizer.learning_rate = 0.02f;
  options.seed = 4;
  options.checkpoint = scratch / "straight.head";
  options.checkpoint_every = 6;

  auto straight = lm.head();
  const float before = straight.loss(data.hidden, data.targets, options.loss).total;
  const auto report = train::train_head(straight, data, options);
  CHECK(report.steps == 24);
  const float after = straight.loss(data.hidden, data.targets, options.loss).total;
  MESSAGE("loss per position ", before, " -> ", after);
  CHECK(after < 0.8f * before);

  auto interrupted = lm.head();
  auto first = options;
  first.steps = 12;
  first.checkpoint = scratch / "resumed.head";
  train::train_head(interrupted, data, first);
  auto resumed = lm.head();  // a fresh process: the start state, then the files
  auto second = first;
  second.steps = 24;
  second.resume = true;
  const auto rest = train::train_head(resumed, data, second);
  CHECK(rest.steps == 12);
  CHECK(rest.log.front().step == 13);
  bool identical = true;
  const auto straight_params = straight.params(), resumed_params = resumed.params();
  head::for_each_block_pair(straight_params, resumed_params,
                            [&](const auto&, const auto& a, const auto& b) { identical = identical && a == b; });
  CHECK(identical);

  // An optimizer file that belongs to another head is refused.
  train::train_head(interrupted, data, first);  // resumed.head back at step 12
  std::filesystem::copy_file(scratch / "straight.head.optimizer", scratch / "resumed.head.optimizer",
                             std::filesystem::copy_options::overwrite_existing);
  auto fresh = lm.head();
  auto more = second;
  more.steps = 30;
  CHECK_THROWS_AS(train::train_head(fresh, data, more), error);
  std::filesystem::resize_file(scratch / "resumed.head", 100);
  CHECK_THROWS_AS(train::train_head(fresh, data, more), error);
}

}  // namespace causalqwen_tests_model_text_training
