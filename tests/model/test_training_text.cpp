#include <causalqwen/model/training_text.hpp>
#include <causalqwen/tokenizer/bpe_training.hpp>

#include "../support/errors.hpp"
#include "../support/scratch.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace causalqwen_tests_model_training_text {

using namespace causalqwen;
using causalqwen::testing::error_of;

namespace {
const std::filesystem::path scratch = causalqwen::testing::scratch_directory(__FILE__);

std::filesystem::path write(const std::string& name, const std::string& bytes) {
  const auto path = scratch / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

Tokenizer bytes_with_end() {
  return Tokenizer::from_json(byte_level_tokenizer_json({}, {"<|endoftext|>"}), "bytes");  // <|endoftext|> = 256
}
}  // namespace

TEST_CASE("read_documents: plain text splits at blank lines, JSONL takes each line's text") {
  const auto plain = model::read_documents(write("plain.txt", "first line\nsecond line\r\n\n  \nnext doc\n\n\n"));
  REQUIRE(plain.size() == 2);
  CHECK(plain[0] == "first line\nsecond line");
  CHECK(plain[1] == "next doc");
  const auto jsonl = model::read_documents(write("docs.jsonl", "{\"text\": \"a 1\"}\n\n{\"text\": \"b\\nc\", \"id\": 3}\n"));
  REQUIRE(jsonl.size() == 2);
  CHECK(jsonl[1] == "b\nc");
}

TEST_CASE("read_documents: errors name the file and the line") {
  CHECK(error_of([] { model::read_documents(write("bad.jsonl", "{\"text\": \"a\"}\n{\"txt\": 1}\n")); })
            .find("bad.jsonl:2: expected an object") != std::string::npos);
  CHECK(error_of([] { model::read_documents(write("broken.jsonl", "{\"text\": \n")); }).find("broken.jsonl:1: not valid JSON") !=
        std::string::npos);
  CHECK(error_of([] { model::read_documents(write("utf8.txt", "ok\nbad \xff byte\n")); }).find("utf8.txt:2: invalid UTF-8") !=
        std::string::npos);
  CHECK(error_of([] { model::read_documents(write("empty.txt", "\n \n")); }).find("holds no documents") != std::string::npos);
  CHECK(error_of([] { model::read_documents(scratch); }).find("is a directory") != std::string::npos);
}

TEST_CASE("split_documents: by document, deterministic, every document in exactly one part") {
  std::vector<std::string> docs;
  for (int i = 0; i < 20; ++i) docs.push_back("doc " + std::to_string(i));
  const auto a = model::split_documents(docs, 0.25, 7), b = model::split_documents(docs, 0.25, 7);
  CHECK(a.validation == b.validation);
  CHECK(a.validation.size() == 5);
  CHECK(a.training.size() == 15);
  std::set<std::string> all(a.training.begin(), a.training.end());
  all.insert(a.validation.begin(), a.validation.end());
  CHECK(all.size() == 20);
  CHECK(model::split_documents(docs, 0.25, 8).validation != a.validation);
  CHECK(model::split_documents({"one"}, 0.5, 1).validation.empty());  // a single document always trains
  CHECK(error_of([&] { model::split_documents(docs, 1.0, 1); }).find("validation fraction") != std::string::npos);
}

TEST_CASE("pack_documents: fixed-length sequences overlapping by one token, document starts never targets") {
  const Tokenizer tokenizer = bytes_with_end();
  const TokenId num = num_token_id(tokenizer), end = 256;
  const std::vector<std::string> docs = {"ab 12 c", "xyz"};
  const model::SequenceSet set = model::pack_documents(tokenizer, num, docs, 4);
  // Stream: a b ' ' <NUM> ' ' c <eot> | x y z <eot>  (11 tokens) -> sequences start at 0, 3, 6, 9.
  REQUIRE(set.size() == 4);
  CHECK(set.sequences[0].ids == std::vector<TokenId>{'a', 'b', ' ', num});
  CHECK(set.sequences[1].ids == std::vector<TokenId>{num, ' ', 'c', end});
  CHECK(set.sequences[1].values[0] == 12.0);
  CHECK(std::isnan(set.sequences[1].values[1]));
  CHECK(set.sequences[2].ids == std::vector<TokenId>{end, 'x', 'y', 'z'});
  CHECK(set.sequences[2].ignore == std::vector<std::uint8_t>{1, 0, 0});  // <eot> -> 'x' crosses the boundary
  CHECK(set.sequences[3].ids == std::vector<TokenId>{'z', end});
  CHECK(set.targets() == 9);  // 10 next-token pairs, one across documents
  const auto picked = set.select({3, 0});
  CHECK(picked.sequences[0].ids == set.sequences[3].ids);
  CHECK(error_of([&] { set.select({4}); }).find("out of range") != std::string::npos);
  CHECK(error_of([&] { model::pack_documents(tokenizer, num, docs, 1); }).find("at least 2") != std::string::npos);
}

}  // namespace causalqwen_tests_model_training_text
