#include <causalqwen/backbone/qwen2.hpp>
#include <causalqwen/tokenizer/bpe_training.hpp>
#include <causalqwen/model/causal_lm.hpp>
#include <causalqwen/model/random_qwen2.hpp>

#include "fixtures.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

namespace causalqwen_tests_model_causal_lm {

using namespace causalqwen;
using namespace causalqwen::model::testing;

namespace {
const std::filesystem::path data_dir = CAUSALQWEN_TEST_DATA_DIR;

/// A byte-level tokenizer whose ids (0..255) fit the golden model's 256 rows; <NUM> becomes 256.
Tokenizer byte_tokenizer() { return Tokenizer::from_json(byte_level_tokenizer_json({}, {}), "bytes"); }
}  // namespace

TEST_CASE("init: the causal head starts as the base model (golden tiny Qwen2)") {
  const Qwen2<> base(data_dir / "qwen2");
  Model lm = Model::from_base(byte_tokenizer(), Qwen2<>(data_dir / "qwen2"));
  CHECK(lm.num_token() == 256);
  CHECK(lm.classes() == 257);
  CHECK(lm.backbone().vocab_size() == 257);  // the <NUM> row was appended
  // 64 positions of byte text; the base model sees the same ids.
  const std::string text = "The price is 42.5 dollars and the tiny model predicts the next byte of this line.";
  std::vector<TokenId> ids;
  for (unsigned char c : text) ids.push_back(static_cast<TokenId>(c));
  const std::vector<double> values(ids.size(), std::numeric_limits<double>::quiet_NaN());
  const RowMatrix<float> logits = base.logits(std::span<const TokenId>(ids));
  const RowMatrix<float> hidden = lm.hidden_states(ids, values);
  CHECK((hidden - base.hidden_states(std::span<const TokenId>(ids))).cwiseAbs().maxCoeff() == 0.0f);

  const auto agreement = [&](head::InferenceMode mode) {
    auto head = lm.head();
    head.set_noise_settings({mode, 1.0f});
    const auto decisions = head.predict(hidden);
    std::size_t same = 0;
    for (Eigen::Index t = 0; t < logits.rows(); ++t) {
      Eigen::Index best = 0;
      logits.row(t).maxCoeff(&best);
      same += decisions.classes[static_cast<std::size_t>(t)] == best ? 1 : 0;
    }
    return double(same) / double(logits.rows());
  };
  const double deterministic = agreement(head::InferenceMode::deterministic);
  const double standard = agreement(head::InferenceMode::standard);
  MESSAGE("top decision == base argmax: deterministic ", deterministic, ", standard (OvR probabilities) ", standard,
          " over ", logits.rows(), " positions");
  CHECK(deterministic == 1.0);
  CHECK(standard >= 0.55);
}

TEST_CASE("a prompt with numbers round-trips through <NUM>") {
  Model lm = Model::from_base(tiny_tokenizer(), model::random_qwen2(small_config(266, true), 3));
  CHECK(lm.num_token() == 266);
  const std::string text = "hello world -3.5e2 and 1,299.99 hello 0.001";
  const NumberedText encoded = lm.encode(text);
  std::vector<double> numbers;
  for (std::size_t i = 0; i < encoded.ids.size(); ++i)
    if (encoded.ids[i] == lm.num_token()) numbers.push_back(encoded.values[i]);
  CHECK(numbers == std::vector<double>{-350.0, 1299.99, 0.001});
  CHECK(lm.decode(encoded.ids, encoded.values) == "hello world -350 and 1299.99 hello 0.001");
  // The value reaches the backbone: different values, different hidden states at and after <NUM>.
  NumberedText other = encoded;
  for (double& v : other.values)
    if (!std::isnan(v)) v += 1;
  const RowMatrix<float> a = lm.hidden_states(encoded), b = lm.hidden_states(other);
  CHECK((a.topRows(2) - b.topRows(2)).cwiseAbs().maxCoeff() == 0.0f);
  CHECK((a.bottomRows(1) - b.bottomRows(1)).cwiseAbs().maxCoeff() > 1e-4f);
}

TEST_CASE("untied backbones get an lm_head row for <NUM>; mismatched vocabularies are refused") {
  Model lm = Model::from_base(tiny_tokenizer(), model::random_qwen2(small_config(266, false), 4));
  CHECK(lm.backbone().vocab_size() == 267);
  const RowVector<float> mean_row = [&] {
    RowVector<float> m = RowVector<float>::Zero(32);
    for (TokenId id = 0; id < 266; ++id) m += lm.backbone().output_row(id);
    return RowVector<float>(m / 266.0f);
  }();
  CHECK((lm.backbone().output_row(266) - mean_row).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK((lm.head().action().params().class_weight.row(266) - mean_row).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK((lm.head().action().params().class_weight.row(17) - lm.backbone().output_row(17)).cwiseAbs().maxCoeff() ==
        0.0f);
  CHECK_THROWS_AS(Model::from_base(tiny_tokenizer(), model::random_qwen2(small_config(100, true), 4)), error);
}

TEST_CASE("spare embedding rows (as in Qwen2.5) are used as they are") {
  Model lm = Model::from_base(tiny_tokenizer(), model::random_qwen2(small_config(300, true), 5));
  CHECK(lm.backbone().vocab_size() == 300);
  CHECK(lm.classes() == 267);
}

TEST_CASE("a <NUM> without a finite value is an error") {
  Model lm = Model::from_base(tiny_tokenizer(), model::random_qwen2(small_config(266, true), 3));
  const std::vector<TokenId> ids{259, lm.num_token()};
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    const std::vector<double> values{0.0, bad};
    CHECK_THROWS_AS(lm.hidden_states(ids, values), error);
  }
  const std::vector<double> short_values{0.0};
  CHECK_THROWS_AS(lm.hidden_states(ids, short_values), error);
  const std::vector<TokenId> outside{500};
  CHECK_THROWS_AS(lm.hidden_states(outside, short_values), error);
}

}  // namespace causalqwen_tests_model_causal_lm
