// A trained model directory for inference (load_causal_lm), and the numeric evaluation: prompt
// files, greedy decoding to the first <NUM>, Cauchy intervals and their coverage.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/model/causal_lm_files.hpp>
#include <causalqwen/model/causal_lm_trainer.hpp>
#include <causalqwen/model/number_evaluation.hpp>

#include "../support/errors.hpp"
#include "../support/scratch.hpp"
#include "trainer_fixtures.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace causalqwen_tests_model_number_evaluation {

using namespace causalqwen;
using causalqwen::testing::error_of;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);
using Setup = model::testing::TrainerSetup<float>;
using model::testing::same_blocks;
using Inference = model::CausalLM<Qwen2<>>;

/// A briefly trained tiny model saved as a causal model directory.
std::filesystem::path trained_model_dir(io::DType dtype, const std::string& name) {
  const Setup setup;
  auto lm = setup.fresh();
  model::CausalTrainingOptions<float> o;
  o.steps = 8;
  o.batch_size = 4;
  o.optimizer.learning_rate = 3e-3f;
  model::train_causal_lm(lm, lm.pack(setup.documents, 24), {}, o);
  const auto dir = scratch / name;
  lm.save(dir, dtype);
  return dir;
}
}  // namespace

TEST_CASE("load_causal_lm: a saved model directory runs inference with its trained head and encoding") {
  const auto dir = trained_model_dir(io::DType::F32, "model_f32");
  const auto trained = model::TrainableCausalLM<CpuBackend<float>>::load(dir);
  const Inference lm = model::load_causal_lm<Inference>(dir);
  CHECK(lm.num_token() == trained.num_token());
  CHECK(same_blocks(lm.head().params(), trained.head().params()));
  CHECK(same_blocks(lm.encoding().params(), trained.encoding().params()));
  // The backbone is the trained one: the hidden states of a text agree with the training path's.
  const auto text = lm.encode("The price of the book is 12.5 dollars.");
  const RowMatrix<float> hidden = lm.hidden_states(text);
  CHECK(hidden.allFinite());
  const auto g1 = model::generate(lm, "The price of the book is", {.max_tokens = 6});
  const auto g2 = model::generate(model::load_causal_lm<Inference>(dir), "The price of the book is", {.max_tokens = 6});
  CHECK(g1.tokens == g2.tokens);

  // bf16 weights load the same way; the head stays in float.
  const Inference half = model::load_causal_lm<Inference>(trained_model_dir(io::DType::BF16, "model_bf16"));
  CHECK(same_blocks(half.head().params(), model::load_causal_lm<Inference>(scratch / "model_bf16").head().params()));

  // A value encoding of the other form is refused, naming the file and the field.
  std::filesystem::copy(dir, scratch / "model_other_encoding", std::filesystem::copy_options::recursive |
                                                                  std::filesystem::copy_options::overwrite_existing);
  model::save_value_encoding(model::SigmoidValueEncoding<float>::initial(RowVector<float>::Ones(32), 0.02f, 1),
                             scratch / "model_other_encoding" / model::kValueEncodingFile);
  const std::string message = error_of([&] { model::load_causal_lm<Inference>(scratch / "model_other_encoding"); });
  CHECK(message.find("value_encoding.safetensors") != std::string::npos);
  CHECK(message.find("'encoding' is 'sigmoid'") != std::string::npos);
}

TEST_CASE("generation can stop at its first number; each number carries its Cauchy scale") {
  // The embedded default model writes a number after this prompt, and text after the number.
  const Inference lm = model::load_causal_lm<Inference>(std::filesystem::path(CAUSALQWEN_TEST_DATA_DIR) / ".." / ".." /
                                                        "models" / "causalqwen-mini");
  const char* prompt = "Sodium (Na) has atomic number 11 and atomic weight";
  const auto whole = model::generate(lm, prompt, {.max_tokens = 12});
  const auto stopped = model::generate(lm, prompt, {.max_tokens = 12, .stop_after_number = true});
  REQUIRE(!stopped.tokens.empty());
  CHECK(stopped.tokens.back() == lm.num_token());
  CHECK(stopped.tokens.size() < whole.tokens.size());
  CHECK(std::equal(stopped.tokens.begin(), stopped.tokens.end(), whole.tokens.begin()));
  for (const auto* g : {&whole, &stopped}) {
    REQUIRE(g->tokens.size() == g->value_scales.size());
    for (std::size_t i = 0; i < g->tokens.size(); ++i) {
      const bool num = g->tokens[i] == lm.num_token();
      CHECK(num == std::isfinite(g->values[i]));
      CHECK(num == (g->value_scales[i] > 0));
    }
  }
}

TEST_CASE("central intervals of the Cauchy law") {
  const auto half = model::central_interval(10.0, 2.0, 0.5);  // tan(pi/4) = 1
  CHECK(half.low == doctest::Approx(8.0).epsilon(1e-14));
  CHECK(half.high == doctest::Approx(12.0).epsilon(1e-14));
  const auto ninety = model::central_interval(0.0, 1.0, 0.9);  // tan(0.45 pi)
  CHECK(ninety.high == doctest::Approx(6.313751514675043).epsilon(1e-13));
  CHECK(ninety.contains(-6.3));
  CHECK_FALSE(ninety.contains(6.32));
  CHECK(error_of([] { model::central_interval(0.0, 1.0, 1.0); }).find("level") != std::string::npos);
}

TEST_CASE("evaluate_numbers: the scores are those of its answers") {
  const Inference lm = model::load_causal_lm<Inference>(trained_model_dir(io::DType::F32, "model_eval"));
  const std::vector<model::NumberPrompt> prompts = {
      {"The price of the book is", 12}, {"Alice is", 31}, {"The temperature in Oslo is", -4}, {"In 2001 the town had", 0}};
  const auto e = model::evaluate_numbers(lm, prompts, {.max_tokens = 16});
  REQUIRE(e.answers.size() == prompts.size());
  std::size_t answered = 0, inside = 0;
  double absolute = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const auto& a = e.answers[i];
    if (!a.produced) continue;
    ++answered;
    CHECK(a.scale > 0);
    absolute += std::abs(a.median - prompts[i].value);
    inside += model::central_interval(a.median, a.scale, 0.9).contains(prompts[i].value) ? 1 : 0;
  }
  CHECK(e.answered == answered);
  CHECK(e.number_rate == double(answered) / 4.0);
  if (answered > 0) {
    CHECK(e.mae == doctest::Approx(absolute / double(answered)));
    CHECK(e.coverage_at(0.9) == doctest::Approx(double(inside) / double(answered)));
    CHECK(e.coverage_at(0.5) <= e.coverage_at(0.9));
  } else {
    CHECK(std::isnan(e.mae));
  }
}

TEST_CASE("read_number_prompts: lines of prompts with values; errors name the file and line") {
  const auto file = scratch / "prompts.jsonl";
  write_file_atomically(file, "{\"prompt\": \"12 feet in meters is\", \"value\": 3.658}\n\n{\"prompt\": \"x\", \"value\": -2}\n");
  const auto prompts = model::read_number_prompts(file);
  REQUIRE(prompts.size() == 2);
  CHECK(prompts[0].prompt == "12 feet in meters is");
  CHECK(prompts[0].value == 3.658);
  CHECK(prompts[1].value == -2);
  const auto message_for = [&](const std::string& text) {
    write_file_atomically(file, text);
    return error_of([&] { model::read_number_prompts(file); });
  };
  CHECK(message_for("{\"prompt\": \"a\", \"value\": 1}\n{\"prompt\": \"b\"}\n").find("prompts.jsonl:2") != std::string::npos);
  CHECK(message_for("{\"prompt\": \"a\", \"value\": \"one\"}\n").find("field \"value\"") != std::string::npos);
  CHECK(message_for("{\"prompt\": \"\", \"value\": 1}\n").find("\"prompt\"") != std::string::npos);
  CHECK(message_for("not json\n").find("prompts.jsonl:1: not valid JSON") != std::string::npos);
  CHECK(message_for("\n\n").find("holds no prompts") != std::string::npos);
  CHECK(message_for("{\"prompt\": \"\xff\", \"value\": 1}\n").find("invalid UTF-8") != std::string::npos);
  CHECK(error_of([&] { model::read_number_prompts(scratch / "missing.jsonl"); }).find("missing.jsonl") != std::string::npos);
}

}  // namespace causalqwen_tests_model_number_evaluation
