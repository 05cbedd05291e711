// Number extraction: which spellings are numbers (table), and <NUM> encoding on a small written
// vocabulary and on the real Qwen vocabulary.

#include <causalqwen/tokenizer/numbers.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

namespace causalqwen_tests_tokenizer_numbers {

using namespace causalqwen;

namespace {
struct Found {
  std::string spelling;
  double value;
  friend bool operator==(const Found&, const Found&) = default;
};

std::vector<Found> numbers_in(std::string_view text) {
  std::vector<Found> out;
  for (const NumberSpan& n : find_numbers(text)) out.push_back({std::string(text.substr(n.begin, n.end - n.begin)), n.value});
  return out;
}

// The 256 single-byte tokens only: every character is spelled byte by byte, which makes the
// positions of <NUM> easy to predict.
Tokenizer bytes_only_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_level::byte_symbols()[b]] = b;
  const nlohmann::json root = {
      {"added_tokens", nlohmann::json::array({{{"id", 256}, {"content", "<|end|>"}, {"special", true}}})},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}}};
  return Tokenizer::from_json(root.dump(), "bytes.json");
}
}  // namespace

TEST_CASE("number spellings: the documented table") {
  struct Case {
    const char* text;
    std::vector<Found> numbers;
  };
  const std::vector<Case> table = {
      // integers, decimals, signs, exponents
      {"42", {{"42", 42}}},
      {"x = -17;", {{"-17", -17}}},
      {"+5 and -0.25", {{"+5", 5}, {"-0.25", -0.25}}},
      {"pi is 3.14159", {{"3.14159", 3.14159}}},
      {"temperature -3.5e2 K", {{"-3.5e2", -350}}},
      {"6.02E+23 and 1e-3", {{"6.02E+23", 6.02e23}, {"1e-3", 1e-3}}},
      {"007", {{"007", 7}}},
      {"It costs 3.", {{"3", 3}}},
      // thousands separators
      {"1,234,567 people", {{"1,234,567", 1234567}}},
      {"$1,299.99", {{"1,299.99", 1299.99}}},
      {"增长了12.5%，达到3,000万元", {{"12.5", 12.5}, {"3,000", 3000}}},
      {"[1,2,3]", {{"1", 1}, {"2", 2}, {"3", 3}}},
      {"1,2345", {{"1", 1}, {"2345", 2345}}},
      {"[1,234]", {{"1,234", 1234}}},
      // Chinese and other neighbours
      {"年龄25岁, 收入8k", {{"25", 25}}},
      {"50%", {{"50", 50}}},
      {"(12) [7] {9}", {{"12", 12}, {"7", 7}, {"9", 9}}},
      {"5 kg, 12 km/h, 37.5°C", {{"5", 5}, {"12", 12}, {"37.5", 37.5}}},
      {"COVID-19", {{"19", 19}}},
      {"年龄-5岁", {{"-5", -5}}},
      // not numbers
      {"v2.0.1 and 1.2.3", {}},
      {"On 2023-12-31 at 23:59", {}},
      {"pages 10-20, ratio 16:9, half 1/2", {}},
      {"5-3", {}},
      {"f(x)-1", {{"1", 1}}},
      {"1st 2nd 3rd 4th", {}},
      {"0x1F 0xdeadbeef", {}},
      {"w048 H2O 5kg 8k 3e", {}},
      {"a.5 .5", {}},
      {"\u0663\u0664\u0665 \uFF15", {}},
      {"1e999 1e-999", {}},
      {"", {}},
  };
  for (const Case& c : table) {
    INFO("text: ", std::string(c.text));
    CHECK(numbers_in(c.text) == c.numbers);
  }
}

TEST_CASE("<NUM> encoding on a byte vocabulary: positions, values, round trip") {
  const Tokenizer tokenizer = bytes_only_tokenizer();
  const TokenId num = num_token_id(tokenizer);
  CHECK(num == 257);
  const auto out = encode_with_numbers(tokenizer, "a -3.5e2 b 25", num);
  REQUIRE(out.ids == std::vector<TokenId>{'a', ' ', num, ' ', 'b', ' ', num});
  REQUIRE(out.values.size() == out.ids.size());
  CHECK(out.values[2] == -350.0);
  CHECK(out.values[6] == 25.0);
  for (const std::size_t i : {0, 1, 3, 4, 5}) CHECK(std::isnan(out.values[i]));
  CHECK(decode_with_numbers(tokenizer, out.ids, out.values, num) == "a -350 b 25");

  // Added tokens are matched first; numbers only in the ordinary text between them.
  const auto chat = encode_with_numbers(tokenizer, "7<|end|>8", num, {.parse_special = true});
  CHECK(chat.ids == std::vector<TokenId>{num, 256, num});
  CHECK(chat.values[0] == 7.0);
  CHECK(std::isnan(chat.values[1]));
  CHECK(chat.values[2] == 8.0);

  // Spelled, a number is its ordinary tokens, with its value beside the first; the text encodes as plain text.
  const auto spelled = encode_with_numbers(tokenizer, "a -3.5e2 b 25", num, {}, NumberSpelling::digits);
  CHECK(spelled.ids == tokenizer.encode("a -3.5e2 b 25"));
  REQUIRE(spelled.values.size() == spelled.ids.size());
  for (std::size_t i = 0; i < spelled.ids.size(); ++i) {
    INFO("position ", i);
    if (i == 2) CHECK(spelled.values[i] == -350.0);
    else if (i == 11) CHECK(spelled.values[i] == 25.0);
    else CHECK(std::isnan(spelled.values[i]));
  }
  CHECK_NOTHROW(encode_with_numbers(tokenizer, "1", 65, {}, NumberSpelling::digits));  // no <NUM> id is used

  CHECK_THROWS_AS(encode_with_numbers(tokenizer, "1", 65), error);  // an existing token
  CHECK_THROWS_AS(encode_with_numbers(tokenizer, "1\xFF", num), error);
  CHECK(encode_with_numbers(tokenizer, "1\xFF", num, {.invalid_utf8 = utf8::Policy::replace}).ids.size() == 4);
  const std::vector<TokenId> ids{num};
  const std::vector<double> nan{std::nan("")};
  CHECK_THROWS_AS(decode_with_numbers(tokenizer, ids, nan, num), error);
  CHECK_THROWS_AS(decode_with_numbers(tokenizer, ids, std::vector<double>{}, num), error);
  CHECK(format_number(1299.99) == "1299.99");
  CHECK(format_number(-350) == "-350");
  CHECK(format_number(0.1) == "0.1");
}

}  // namespace causalqwen_tests_tokenizer_numbers
