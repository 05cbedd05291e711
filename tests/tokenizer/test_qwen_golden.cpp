// Golden cases on the real Qwen vocabulary (tests/data/tokenizer/README.md): every case must come
// out id for id. These tests need the vocabulary in the cache folder and say "skipped" without it.

#include "qwen_vocabulary_or_skip.hpp"

#include <causalqwen/tokenizer/tokenizer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace causalqwen_tests_tokenizer_qwen_golden {

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
enum class Profile { qwen3, qwen25 };

int check_cases(const Tokenizer& tokenizer, const nlohmann::json& cases, Profile profile = Profile::qwen3) {
  int passed = 0;
  for (const auto& c : cases) {
    const std::string name = c["name"], text = c["text"];
    // The cached file is the Qwen3 one: where its four extra added tokens change the ids, the
    // qwen3_ids count; `ids` are those of Qwen2.5.
    const bool qwen3_differs = profile == Profile::qwen3 && c.contains("qwen3_ids");
    const auto expected = (qwen3_differs ? c["qwen3_ids"] : c["ids"]).get<std::vector<TokenId>>();
    const std::vector<TokenId> ids = tokenizer.encode(text, with_special);
    INFO("case ", name, ": ", text);
    CHECK(ids == expected);
    std::vector<std::string> spellings;
    for (const TokenId id : ids) spellings.push_back(tokenizer.token(id));
    CHECK(spellings == c[qwen3_differs ? "qwen3_tokens" : "tokens"].get<std::vector<std::string>>());
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
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  const auto golden = test::read_json(data_dir + "golden.json");
  const int cases = check_cases(*tokenizer, golden["cases"]);
  const int specials = check_cases(*tokenizer, golden["special_cases"]);
  MESSAGE("golden.json: ", cases, "/", golden["cases"].size(), " cases, ", specials, "/",
          golden["special_cases"].size(), " special cases");
  CHECK(cases == static_cast<int>(golden["cases"].size()));
  CHECK(specials == static_cast<int>(golden["special_cases"].size()));
}

TEST_CASE("needs the Qwen vocabulary: golden_numbers.json id for id") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  const auto golden = test::read_json(data_dir + "golden_numbers.json");
  const int passed = check_cases(*tokenizer, golden["cases"]);
  MESSAGE("golden_numbers.json: ", passed, "/", golden["cases"].size());
  CHECK(passed == static_cast<int>(golden["cases"].size()));
}

TEST_CASE("needs the Qwen vocabulary: the 46 llama.cpp cases id for id") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
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

TEST_CASE("needs the Qwen vocabulary: Qwen2.5 profile (Qwen3-only added tokens removed) gives the ids column") {
  if (test::qwen_tokenizer_or_skip() == nullptr) return;  // reported to ctest as skipped; a failure under CI
  const Tokenizer qwen25 = test::qwen25_tokenizer();
  CHECK(qwen25.id_limit() == 151665);
  const auto golden = test::read_json(data_dir + "golden.json");
  const auto numbers = test::read_json(data_dir + "golden_numbers.json");
  const int passed = check_cases(qwen25, golden["cases"], Profile::qwen25) +
                     check_cases(qwen25, golden["special_cases"], Profile::qwen25) +
                     check_cases(qwen25, numbers["cases"], Profile::qwen25);
  const auto total = golden["cases"].size() + golden["special_cases"].size() + numbers["cases"].size();
  MESSAGE("Qwen2.5 profile: ", passed, "/", total);
  CHECK(passed == static_cast<int>(total));
}

TEST_CASE("needs the Qwen vocabulary: special tokens only when asked, added non-special tokens always") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  const std::string chat = "<|im_start|>user\nhi<|im_end|>";
  CHECK(tokenizer->encode(chat, with_special) == std::vector<TokenId>{151644, 872, 198, 6023, 151645});
  const auto plain = tokenizer->encode(chat);
  CHECK(plain.size() > 5);
  CHECK(std::find(plain.begin(), plain.end(), 151644) == plain.end());
  CHECK(tokenizer->decode(plain) == chat);
  // <think> is added but not special in Qwen3: matched either way.
  CHECK(tokenizer->encode("<think>") == std::vector<TokenId>{151667});
  CHECK(tokenizer->is_special(151644));
  CHECK_FALSE(tokenizer->is_special(151667));
  CHECK(tokenizer->decode(std::vector<TokenId>{151644, 872, 151645}, {.skip_special = true}) == "user");
}

TEST_CASE("needs the Qwen vocabulary: invalid UTF-8, invalid ids, partial characters") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  for (const std::string bad : {"abc\xFF", "\xC3", "\xED\xA0\x80", "\xC0\xAF", "ok \xF4\x90\x80\x80", "\xE4\xBD"}) {
    INFO("input bytes: ", bad.size());
    CHECK_THROWS_AS(tokenizer->encode(bad), causalqwen::error);
    const auto ids = tokenizer->encode(bad, {.invalid_utf8 = causalqwen::utf8::Policy::replace});
    CHECK(tokenizer->decode(ids).find("\xEF\xBF\xBD") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(tokenizer->encode("abc\xFF"), doctest::Contains("byte offset 3"), causalqwen::error);
  CHECK_THROWS_AS(tokenizer->decode(std::vector<TokenId>{9707, 151669}), causalqwen::error);
  CHECK_THROWS_AS(tokenizer->decode(std::vector<TokenId>{-1}), causalqwen::error);
  // A rare character (U+20000) is several byte tokens: decoding one of them alone gives U+FFFD,
  // or an error when asked, and its raw byte on request.
  const auto ids = tokenizer->encode("\xF0\xA0\x80\x80");
  REQUIRE(ids.size() > 1);
  const std::vector<TokenId> first{ids[0]};
  CHECK(tokenizer->decode(first) == "\xEF\xBF\xBD");
  CHECK_THROWS_AS(tokenizer->decode(first, {.invalid_utf8 = causalqwen::utf8::Policy::reject}), causalqwen::error);
  CHECK(tokenizer->decode_bytes(ids) == "\xF0\xA0\x80\x80");
}

TEST_CASE("needs the Qwen vocabulary: long inputs stay linear (no regex or BPE blow-up)") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  for (const char c : {' ', 'a', '\n', '7', '!'}) {
    const std::string text(200000, c);
    const auto ids = tokenizer->encode(text);
    CHECK(tokenizer->decode(ids) == text);
  }
  std::string mixed;
  for (int i = 0; i < 20000; ++i) mixed += "x \n\t ";
  CHECK(tokenizer->decode(tokenizer->encode(mixed)) == mixed);
}

}  // namespace causalqwen_tests_tokenizer_qwen_golden
