// Golden cases on the real Qwen vocabulary (tests/data/tokenizer/README.md): every case must come
// out id for id. These tests need the vocabulary in the cache folder and say "skipped" without it.

#include "qwen_vocabulary.hpp"

#include <causalqwen/tokenizer/tokenizer.hpp>

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using causalqwen::EncodeOptions;
using causalqwen::TokenId;
using causalqwen::Tokenizer;
namespace test = causalqwen::test;

namespace {
const std::string data_dir = std::string(CAUSALQWEN_TEST_DATA_DIR) + "/tokenizer/";
const EncodeOptions with_special{.parse_special = true};

std::string normalized_nfc(const std::string& text) {
  std::string storage;
  return std::string(causalqwen::normalize_nfc(text, storage));
}

// Runs the cases of a golden.json-shaped array; returns how many passed.
int check_cases(const Tokenizer& tokenizer, const nlohmann::json& cases) {
  int passed = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"], text = c["text"];
    // Our file is the Qwen3 one: where the Qwen3-only added tokens change the ids, those count.
    const auto expected = c.value("qwen3_ids", c["ids"]).get<std::vector<TokenId>>();
    const std::vector<TokenId> ids = tokenizer.encode(text, with_special);
    INFO("case ", name, ": ", text);
    CHECK(ids == expected);
    std::vector<std::string> spellings;
    for (const TokenId id : ids) spellings.push_back(tokenizer.token(id));
    if (!c.contains("qwen3_ids")) CHECK(spellings == c["tokens"].get<std::vector<std::string>>());
    const std::string decoded = tokenizer.decode(ids);
    if (c["roundtrip_ok"].get<bool>()) {
      CHECK(decoded == text);
    } else {
      CHECK(decoded == c["decoded"].get<std::string>());
      CHECK(decoded == normalized_nfc(text));
    }
    passed += ids == expected ? 1 : 0;
  }
  return passed;
}
}  // namespace

TEST_CASE("needs the Qwen vocabulary: golden.json, cases and special cases, id for id") {
  std::string why;
  const Tokenizer* tokenizer = test::qwen_tokenizer(why);
  if (tokenizer == nullptr) {
    MESSAGE(why);
    return;
  }
  const auto golden = test::read_json(data_dir + "golden.json");
  const int cases = check_cases(*tokenizer, golden["cases"]);
  const int specials = check_cases(*tokenizer, golden["special_cases"]);
  MESSAGE("golden.json: ", cases, "/", golden["cases"].size(), " cases, ", specials, "/",
          golden["special_cases"].size(), " special cases");
  CHECK(cases == static_cast<int>(golden["cases"].size()));
  CHECK(specials == static_cast<int>(golden["special_cases"].size()));
}

TEST_CASE("needs the Qwen vocabulary: golden_numbers.json id for id") {
  std::string why;
  const Tokenizer* tokenizer = test::qwen_tokenizer(why);
  if (tokenizer == nullptr) {
    MESSAGE(why);
    return;
  }
  const auto golden = test::read_json(data_dir + "golden_numbers.json");
  const int passed = check_cases(*tokenizer, golden["cases"]);
  MESSAGE("golden_numbers.json: ", passed, "/", golden["cases"].size());
  CHECK(passed == static_cast<int>(golden["cases"].size()));
}

TEST_CASE("needs the Qwen vocabulary: the 46 llama.cpp cases id for id") {
  std::string why;
  const Tokenizer* tokenizer = test::qwen_tokenizer(why);
  if (tokenizer == nullptr) {
    MESSAGE(why);
    return;
  }
  // llama.cpp's convert script writes each case followed by "\n__ggml_vocab_test__\n".
  const std::string input = test::read_file(data_dir + "ggml-vocab-qwen2.gguf.inp");
  const std::string separator = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (std::size_t pos = 0; pos < input.size();) {
    const std::size_t end = input.find(separator, pos);
    REQUIRE(end != std::string::npos);
    texts.push_back(input.substr(pos, end - pos));
    pos = end + separator.size();
  }
  std::istringstream output(test::read_file(data_dir + "ggml-vocab-qwen2.gguf.out"));
  std::vector<std::vector<TokenId>> expected;
  for (std::string line; std::getline(output, line);) {
    std::istringstream numbers(line);
    std::vector<TokenId> ids;
    for (TokenId id; numbers >> id;) ids.push_back(id);
    expected.push_back(ids);
  }
  REQUIRE(texts.size() == 46);
  REQUIRE(expected.size() == 46);
  int passed = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    INFO("llama.cpp case ", i, ": ", texts[i]);
    const auto ids = tokenizer->encode(texts[i]);
    CHECK(ids == expected[i]);
    CHECK(tokenizer->decode(ids) == normalized_nfc(texts[i]));
    passed += ids == expected[i] ? 1 : 0;
  }
  MESSAGE("llama.cpp cases: ", passed, "/", texts.size());
}
