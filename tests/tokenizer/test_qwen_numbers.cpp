// <NUM> extraction on the real Qwen vocabulary (fetched by scripts/fetch-test-data.sh).
#include "qwen_vocabulary_or_skip.hpp"

#include <causalqwen/tokenizer/numbers.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace causalqwen_tests_tokenizer_qwen_numbers {

using namespace causalqwen;

TEST_CASE("needs the Qwen vocabulary: <NUM> ids and numbers in Qwen text") {
  const Tokenizer* tokenizer = test::qwen_tokenizer_or_skip();
  if (tokenizer == nullptr) return;  // reported to ctest as skipped; a failure under CI
  CHECK(num_token_id(*tokenizer) == 151669);
  CHECK(num_token_id(test::qwen25_tokenizer()) == 151665);
  const TokenId num = num_token_id(*tokenizer);
  // "年龄25岁, 收入8k": golden ids 102185 [17 20] 92015 11 80090 114 17254 [23] 74; 25 is a
  // number, 8k is not.
  const auto age = encode_with_numbers(*tokenizer, "年龄25岁, 收入8k", num);
  CHECK(age.ids == std::vector<TokenId>{102185, num, 92015, 11, 80090, 114, 17254, 23, 74});
  CHECK(age.values[1] == 25.0);
  CHECK(decode_with_numbers(*tokenizer, age.ids, age.values, num) == "年龄25岁, 收入8k");
  // "temperature -3.5e2 K": golden 34558 481(" -") 18 13 20 68 17 730(" K").
  const auto temp = encode_with_numbers(*tokenizer, "temperature -3.5e2 K", num);
  CHECK(temp.ids == std::vector<TokenId>{34558, 220, num, 730});
  CHECK(temp.values[2] == -350.0);
  CHECK(decode_with_numbers(*tokenizer, temp.ids, temp.values, num) == "temperature -350 K");
  // Text without numbers encodes exactly as encode() does.
  const std::string plain = "Hello, world! 你好";
  CHECK(encode_with_numbers(*tokenizer, plain, num).ids == tokenizer->encode(plain));
}

}  // namespace causalqwen_tests_tokenizer_qwen_numbers
