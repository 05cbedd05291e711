// The tokenizer from lists (as GGUF files carry it) and from a GGUF file's tokenizer.ggml.* keys.
#include "../support/errors.hpp"
#include "../support/gguf_bytes.hpp"
#include "../support/scratch.hpp"

#include <causalqwen/io/gguf.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>
#include <causalqwen/tokenizer/gguf_tokenizer.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace causalqwen_tests_tokenizer_gguf_tokenizer {

namespace fs = std::filesystem;
using namespace causalqwen;
using causalqwen::testing::error_of;
using causalqwen::testing::GgufBytes;

namespace {

const fs::path data_dir = CAUSALQWEN_TEST_DATA_DIR;
const fs::path tiny_json = data_dir / "tokenizer" / "tiny_tokenizer.json";
const fs::path tiny_gguf = data_dir / "qwen2" / "gguf" / "model-q8_0.gguf";
const fs::path scratch = causalqwen::testing::scratch_directory(__FILE__);

const std::vector<std::string> texts = {"hello world<|endoftext|>", "Hello, world! 123 hello\n\n  world", "héllo wörld",
                                        "e\xcc\x81 vs \xc3\xa9", ""};

/// The lists a tokenizer.json holds, read with a plain JSON parser.
TokenizerLists lists_of(const fs::path& file) {
  std::ifstream in(file);
  const nlohmann::json json = nlohmann::json::parse(in);
  TokenizerLists lists;
  for (const auto& [spelling, id] : json["model"]["vocab"].items()) lists.vocabulary.emplace_back(spelling, id.get<TokenId>());
  for (const auto& merge : json["model"]["merges"])
    lists.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
  for (const auto& token : json["added_tokens"])
    lists.added_tokens.push_back({.id = token["id"].get<TokenId>(),
                                  .content = token["content"].get<std::string>(),
                                  .special = token["special"].get<bool>()});
  return lists;
}

std::string load_error(const GgufBytes& bytes) {
  const fs::path file = bytes.write(scratch / "broken.gguf");
  const std::string message = error_of([&] { load_tokenizer(file); });
  CHECK_MESSAGE(message.find(file.string()) != std::string::npos, "error does not name the file: ", message);
  return message;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("a tokenizer from lists encodes and decodes as the tokenizer.json they come from") {
  const Tokenizer from_json = Tokenizer::from_file(tiny_json);
  const Tokenizer from_lists = Tokenizer::from_lists(lists_of(tiny_json), "tiny lists");
  CHECK(from_lists.source() == "tiny lists");
  CHECK(from_lists.id_limit() == from_json.id_limit());
  CHECK(from_lists.is_special(265));
  CHECK(from_lists.normalization() == Normalization::nfc);
  for (const std::string& text : texts) {
    for (const bool special : {false, true}) {
      const std::vector<TokenId> ids = from_json.encode(text, {.parse_special = special});
      CHECK(from_lists.encode(text, {.parse_special = special}) == ids);
      CHECK(from_lists.decode(ids) == from_json.decode(ids));
    }
  }
  CHECK(from_lists.encode("hello world") == std::vector<TokenId>{259, 264});

  TokenizerLists plain = lists_of(tiny_json);
  plain.normalization = Normalization::none;
  CHECK(Tokenizer::from_lists(plain, "no NFC").encode("e\xcc\x81") != from_json.encode("e\xcc\x81"));
}

TEST_CASE("lists are validated like a tokenizer.json") {
  TokenizerLists twice = lists_of(tiny_json);
  twice.vocabulary.emplace_back("hello", 300);
  CHECK(contains(error_of([&] { Tokenizer::from_lists(twice, "twice"); }), "twice: vocabulary spelling \"hello\" has two ids"));
  TokenizerLists unknown = lists_of(tiny_json);
  unknown.merges.emplace_back("x", "nothing");
  CHECK(contains(error_of([&] { Tokenizer::from_lists(unknown, "unknown"); }), "unknown: model.merges[9]: token \"nothing\""));
  TokenizerLists clash = lists_of(tiny_json);
  clash.added_tokens.push_back({.id = 265, .content = "<|other|>", .special = true});
  const std::string clash_error = error_of([&] { Tokenizer::from_lists(clash, "clash"); });
  CAPTURE(clash_error);
  CHECK(contains(clash_error, "clash: added_tokens[1] (\"<|other|>\"): id 265 is already taken"));
}

TEST_CASE("the tokenizer of a GGUF file: the byte vocabulary of the golden model") {
  const Tokenizer tokenizer = load_tokenizer(tiny_gguf);
  CHECK(tokenizer.source() == tiny_gguf.string());
  CHECK(tokenizer.id_limit() == 256);
  const std::string text = "hello, wörld\n";
  std::vector<TokenId> bytes;
  for (const unsigned char byte : text) bytes.push_back(*tokenizer.token_id(byte_level::byte_symbols()[byte]));
  CHECK(tokenizer.encode(text) == bytes);
  CHECK(tokenizer.decode(bytes) == text);
  CHECK(tokenizer_from_gguf(io::GgufReader(tiny_gguf)).encode(text) == bytes);
}

TEST_CASE("load_tokenizer takes a tokenizer.json, a directory or a GGUF file") {
  CHECK(load_tokenizer(tiny_json).encode("hello world") == std::vector<TokenId>{259, 264});
  CHECK(contains(error_of([] { load_tokenizer(data_dir / "qwen2"); }), "qwen2/tokenizer.json"));
  const fs::path renamed = scratch / "blob-without-extension";
  fs::copy_file(tiny_gguf, renamed, fs::copy_options::overwrite_existing);
  CHECK(load_tokenizer(renamed).id_limit() == 256);
}

TEST_CASE("GGUF tokenizer metadata this implementation cannot honour is rejected naming the key") {
  const GgufBytes good(tiny_gguf);
  CHECK(contains(load_error(GgufBytes(good).replace("gpt2", "bert")), "'tokenizer.ggml.model' is 'bert', only 'gpt2'"));
  GgufBytes other_pre = good;
  other_pre.bytes.replace(good.after("tokenizer.ggml.pre") + 12, 5, "llama");
  CHECK(contains(load_error(other_pre), "'tokenizer.ggml.pre' is 'llama'"));
  CHECK(contains(load_error(GgufBytes(good).replace("tokenizer.ggml.pre", "tokenizer.ggml.prX")), "'tokenizer.ggml.pre' is missing"));

  const std::size_t types = good.after("tokenizer.ggml.token_type") + 16;  // the first i32 element
  CHECK(contains(load_error(GgufBytes(good).put(types + 4 * 5, std::int32_t{6})), "'tokenizer.ggml.token_type'[5] is 6"));
  CHECK(contains(load_error(GgufBytes(good).put(types + 4 * 7, std::int32_t{-1})), "'tokenizer.ggml.token_type'[7] is -1"));
  // A byte token taken out of the vocabulary (as control, user-defined or unused) leaves a byte
  // without its token.
  for (const std::int32_t type : {3, 4, 5})
    CHECK(contains(load_error(GgufBytes(good).put(types, type)), "lacks the single-byte token for byte 0"));
  CHECK(contains(load_error(GgufBytes(good).put(good.after("tokenizer.ggml.bos_token_id") + 4, std::uint32_t{256})),
                 "'tokenizer.ggml.bos_token_id' is 256, outside the 256 tokens"));
  // A token spelled outside the byte-level alphabet.
  GgufBytes spelled = good;
  spelled.bytes.replace(good.after("tokenizer.ggml.tokens") + 16 + 8 + 2 * 0, 1, "!");  // first token "\xc4\x80" -> "!\x80"
  CHECK(contains(load_error(spelled), "is not spelled in the byte-level alphabet"));
}

}  // namespace causalqwen_tests_tokenizer_gguf_tokenizer
