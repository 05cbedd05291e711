#pragma once
// A small byte-level BPE vocabulary learned from a corpus, written as a Hugging Face
// tokenizer.json in the Qwen2 layout (NFC, Qwen2 split pattern, ByteLevel, no unknown token), so
// that Tokenizer::from_json loads it like a real one. Ids: the 256 byte symbols first, then one
// token per merge in merge order, then the special tokens. Learning is the textbook algorithm:
// split the corpus into pre-tokenizer pieces, start from bytes, repeatedly merge the most frequent
// adjacent pair (ties broken by the pair's spelling, so the result is deterministic).

#include <causalqwen/core/error.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>
#include <causalqwen/tokenizer/pretokenizer.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace causalqwen {

/// A merge of two vocabulary spellings (byte-level alphabet).
using BpeMerge = std::pair<std::string, std::string>;

/// Up to `count` merges learned from `texts` (fewer when no pair occurs twice).
inline std::vector<BpeMerge> learn_bpe_merges(std::span<const std::string> texts, std::size_t count) {
  const Pretokenizer pretokenizer(qwen2_split_pattern);
  std::map<std::vector<std::string>, std::size_t> words;  // piece as symbols -> frequency
  for (const std::string& text : texts)
    pretokenizer.split(text, [&](std::string_view piece) {
      std::vector<std::string> symbols;
      for (unsigned char byte : piece) symbols.push_back(byte_level::byte_symbols()[byte]);
      ++words[symbols];
    });
  std::vector<BpeMerge> merges;
  while (merges.size() < count) {
    std::map<BpeMerge, std::size_t> pairs;
    for (const auto& [symbols, frequency] : words)
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) pairs[{symbols[i], symbols[i + 1]}] += frequency;
    const BpeMerge* best = nullptr;
    std::size_t best_count = 1;
    for (const auto& [pair, n] : pairs)
      if (n > best_count) best = &pair, best_count = n;
    if (best == nullptr) break;
    const BpeMerge merge = *best;
    std::map<std::vector<std::string>, std::size_t> merged;
    for (const auto& [symbols, frequency] : words) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == merge.first && symbols[i + 1] == merge.second) {
          out.push_back(merge.first + merge.second);
          ++i;
        } else {
          out.push_back(symbols[i]);
        }
      }
      merged[std::move(out)] += frequency;
    }
    words = std::move(merged);
    merges.push_back(merge);
  }
  return merges;
}

/// tokenizer.json text for the byte alphabet, `merges` (each must join known spellings) and
/// `special_tokens` (added as special tokens after the vocabulary).
inline std::string byte_level_tokenizer_json(const std::vector<BpeMerge>& merges,
                                             const std::vector<std::string>& special_tokens) {
  using Json = nlohmann::ordered_json;
  Json vocab = Json::object();
  int next = 0;
  for (const std::string& symbol : byte_level::byte_symbols()) vocab[symbol] = next++;
  Json merge_list = Json::array();
  for (const auto& [left, right] : merges) {
    require(vocab.contains(left) && vocab.contains(right), "byte_level_tokenizer_json: merge \"", left, " ", right,
            "\" joins an unknown spelling");
    merge_list.push_back(Json::array({left, right}));
    if (!vocab.contains(left + right)) vocab[left + right] = next++;
  }
  Json added = Json::array();
  for (const std::string& token : special_tokens)
    added.push_back({{"id", next++}, {"content", token}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                     {"normalized", false}, {"special", true}});
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                           {"use_regex", false}};
  Json root = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
               {"normalizer", {{"type", "NFC"}}}};
  root["pre_tokenizer"] = {{"type", "Sequence"},
                           {"pretokenizers", Json::array({{{"type", "Split"},
                                                           {"pattern", {{"Regex", std::string(qwen2_split_pattern)}}},
                                                           {"behavior", "Isolated"},
                                                           {"invert", false}},
                                                          byte_level})}};
  root["post_processor"] = nullptr;
  root["decoder"] = byte_level;
  root["model"] = {{"type", "BPE"},         {"dropout", nullptr},         {"unk_token", nullptr},
                   {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                   {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab},
                   {"merges", merge_list}};
  return root.dump();
}

}  // namespace causalqwen
