#pragma once
// The tokenizer a GGUF file carries (llama.cpp's `tokenizer.ggml.*` keys), and load_tokenizer(),
// which takes a tokenizer.json, a checkpoint directory holding one, or a GGUF file.
//
// Only the byte-level BPE of Qwen2 is read: tokenizer.ggml.model = gpt2 and pre = qwen2. Token
// types follow llama.cpp: NORMAL tokens are the BPE vocabulary, CONTROL tokens become special
// added tokens, USER_DEFINED ones added tokens that are not special, UNUSED ones (the padding
// rows of the embedding) no token at all. NFC normalisation is applied as the Hugging Face
// tokenizer.json of every Qwen2 release specifies (GGUF does not record it).

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/io/gguf.hpp>
#include <causalqwen/tokenizer/added_tokens.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen {

/// llama.cpp's token types (tokenizer.ggml.token_type).
enum class GgufTokenType : std::int64_t { normal = 1, unknown = 2, control = 3, user_defined = 4, unused = 5, byte = 6 };

inline Tokenizer tokenizer_from_gguf(const io::GgufReader& file) {
  const std::string where = file.path().string();
  const auto bad_key = [&](std::string_view key, const auto&... parts) {
    fail(where, ": GGUF metadata key '", key, "'", parts...);
  };
  const std::string_view model = file.string("tokenizer.ggml.model");
  if (model != "gpt2") bad_key("tokenizer.ggml.model", " is '", model, "', only 'gpt2' (byte-level BPE) is supported");
  const std::string_view pre = file.string("tokenizer.ggml.pre");
  if (pre != "qwen2") bad_key("tokenizer.ggml.pre", " is '", pre, "', only the 'qwen2' pre-tokenizer is supported");

  const std::span<const std::string_view> tokens = file.strings("tokenizer.ggml.tokens");
  if (tokens.size() > static_cast<std::size_t>(std::numeric_limits<TokenId>::max()))
    bad_key("tokenizer.ggml.tokens", " has ", tokens.size(), " entries, more than token ids can number");
  // llama.cpp reads every token as NORMAL when the file has no types.
  const std::vector<std::int64_t> types = file.has("tokenizer.ggml.token_type")
                                              ? file.integers("tokenizer.ggml.token_type")
                                              : std::vector<std::int64_t>(tokens.size(), 1);
  if (types.size() != tokens.size())
    bad_key("tokenizer.ggml.token_type", " has ", types.size(), " entries, tokenizer.ggml.tokens ", tokens.size());

  TokenizerLists lists;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const auto id = static_cast<TokenId>(i);
    switch (static_cast<GgufTokenType>(types[i])) {
      case GgufTokenType::normal: lists.vocabulary.emplace_back(tokens[i], id); break;
      case GgufTokenType::control: lists.added_tokens.push_back({.id = id, .content = std::string(tokens[i]), .special = true}); break;
      case GgufTokenType::user_defined: lists.added_tokens.push_back({.id = id, .content = std::string(tokens[i])}); break;
      case GgufTokenType::unused: break;
      default:
        bad_key("tokenizer.ggml.token_type", "[", i, "] is ", types[i],
                ", expected 1 (normal), 3 (control), 4 (user-defined) or 5 (unused) in a gpt2 vocabulary");
    }
  }
  if (file.has("tokenizer.ggml.merges")) {
    const std::span<const std::string_view> merges = file.strings("tokenizer.ggml.merges");
    lists.merges.reserve(merges.size());
    for (std::size_t i = 0; i < merges.size(); ++i) {
      const std::string_view merge = merges[i];
      const std::size_t space = merge.find(' ');
      if (space == std::string_view::npos || space == 0 || space + 1 == merge.size() ||
          merge.find(' ', space + 1) != std::string_view::npos)
        bad_key("tokenizer.ggml.merges", "[", i, "] = \"", merge, "\" is not two tokens separated by one space");
      lists.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
    }
  }
  for (const std::string_view key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                     "tokenizer.ggml.padding_token_id"})
    if (file.has(key) && file.unsigned_integer(key) >= tokens.size())
      bad_key(key, " is ", file.unsigned_integer(key), ", outside the ", tokens.size(), " tokens");
  return Tokenizer::from_lists(lists, where);
}

/// A tokenizer from a tokenizer.json, a directory holding one, or a GGUF file (recognised by its
/// content: ollama's blobs have no extension).
inline Tokenizer load_tokenizer(const std::filesystem::path& path) {
  if (std::filesystem::is_directory(path)) return Tokenizer::from_file(path / "tokenizer.json");
  if (io::is_gguf_file(path)) return tokenizer_from_gguf(io::GgufReader(path));
  return Tokenizer::from_file(path);
}

}  // namespace causalqwen
