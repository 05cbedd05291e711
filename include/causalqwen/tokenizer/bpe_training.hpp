#pragma once
// A small byte-level BPE vocabulary learned from a corpus, written as a Hugging Face
// tokenizer.json in the Qwen2 layout (NFC, Qwen2 split pattern, ByteLevel, no unknown token), so
// that Tokenizer::from_json loads it like a real one. Ids: the 256 byte symbols first, then one
// token per merge in merge order, then the special tokens. Learning is the textbook algorithm:
// split the corpus into pre-tokenizer pieces, start from bytes, repeatedly merge the most frequent
// adjacent pair (ties broken by the pair's spelling, so the result is deterministic), kept
// incremental so that a corpus of tens of megabytes takes seconds.

#include <causalqwen/core/error.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>
#include <causalqwen/tokenizer/pretokenizer.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace causalqwen {

/// A merge of two vocabulary spellings (byte-level alphabet).
using BpeMerge = std::pair<std::string, std::string>;

/// Up to `count` merges learned from `texts` (fewer when no pair occurs twice).
///
/// Each merge touches only the words that hold its pair: the pair counts live in an ordered set
/// (most frequent first, ties by spelling) and every pair remembers the words it occurs in, so a
/// merge costs the length of those words, not a pass over the corpus. A word listed under a pair
/// it no longer holds is skipped when it is visited.
inline std::vector<BpeMerge> learn_bpe_merges(std::span<const std::string> texts, std::size_t count) {
  const Pretokenizer pretokenizer(qwen2_split_pattern);
  std::vector<std::string> spelling;
  std::unordered_map<std::string, int> symbol_of;
  const auto symbol = [&](const std::string& s) {
    const auto [it, added] = symbol_of.try_emplace(s, int(spelling.size()));
    if (added) spelling.push_back(s);
    return it->second;
  };
  std::map<std::string, std::size_t, std::less<>> piece_frequency;
  for (const std::string& text : texts)
    pretokenizer.split(text, [&](std::string_view piece) {
      const auto it = piece_frequency.find(piece);
      if (it == piece_frequency.end()) piece_frequency.emplace(std::string(piece), 1);
      else ++it->second;
    });
  struct Word {
    std::vector<int> symbols;
    std::size_t frequency;
  };
  std::vector<Word> words;
  words.reserve(piece_frequency.size());
  for (const auto& [piece, frequency] : piece_frequency) {
    Word w{{}, frequency};
    for (unsigned char byte : piece) w.symbols.push_back(symbol(byte_level::byte_symbols()[byte]));
    words.push_back(std::move(w));
  }

  using Pair = std::pair<int, int>;
  const auto key = [](Pair p) { return (std::uint64_t(std::uint32_t(p.first)) << 32) | std::uint32_t(p.second); };
  std::unordered_map<std::uint64_t, std::size_t> pair_count;
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> words_with;
  struct Ranked {
    std::size_t count;
    Pair pair;
  };
  // spelling grows while the set lives, but a symbol's spelling never changes.
  const auto before = [&](const Ranked& a, const Ranked& b) {
    if (a.count != b.count) return a.count > b.count;
    const int left = spelling[std::size_t(a.pair.first)].compare(spelling[std::size_t(b.pair.first)]);
    if (left != 0) return left < 0;
    return spelling[std::size_t(a.pair.second)] < spelling[std::size_t(b.pair.second)];
  };
  std::set<Ranked, decltype(before)> ranking(before);
  const auto for_each_pair = [](const Word& w, auto&& f) {
    for (std::size_t i = 0; i + 1 < w.symbols.size(); ++i) f(Pair{w.symbols[i], w.symbols[i + 1]});
  };
  for (std::size_t i = 0; i < words.size(); ++i)
    for_each_pair(words[i], [&](Pair p) {
      pair_count[key(p)] += words[i].frequency;
      auto& list = words_with[key(p)];
      if (list.empty() || list.back() != i) list.push_back(i);
    });
  for (const auto& [k, n] : pair_count) ranking.insert({n, Pair{int(k >> 32), int(k & 0xffffffffu)}});

  std::unordered_map<std::uint64_t, std::ptrdiff_t> change;  // pair -> count delta of one merge
  std::vector<BpeMerge> merges;
  while (merges.size() < count && !ranking.empty() && ranking.begin()->count > 1) {
    const Pair best = ranking.begin()->pair;
    const int joined = symbol(spelling[std::size_t(best.first)] + spelling[std::size_t(best.second)]);
    merges.emplace_back(spelling[std::size_t(best.first)], spelling[std::size_t(best.second)]);
    change.clear();
    const std::vector<std::size_t> visit = std::move(words_with[key(best)]);
    words_with.erase(key(best));
    for (const std::size_t index : visit) {
      Word& w = words[index];
      std::vector<int> out;
      out.reserve(w.symbols.size());
      for (std::size_t i = 0; i < w.symbols.size(); ++i) {
        if (i + 1 < w.symbols.size() && w.symbols[i] == best.first && w.symbols[i + 1] == best.second) {
          out.push_back(joined);
          ++i;
        } else {
          out.push_back(w.symbols[i]);
        }
      }
      if (out.size() == w.symbols.size()) continue;  // listed under a pair it no longer holds
      const auto delta = std::ptrdiff_t(w.frequency);
      for_each_pair(w, [&](Pair p) { change[key(p)] -= delta; });
      w.symbols = std::move(out);
      for_each_pair(w, [&](Pair p) {
        change[key(p)] += delta;
        if (p.first == joined || p.second == joined) {
          auto& list = words_with[key(p)];
          if (list.empty() || list.back() != index) list.push_back(index);
        }
      });
    }
    for (const auto& [k, d] : change) {
      if (d == 0) continue;
      const Pair p{int(k >> 32), int(k & 0xffffffffu)};
      std::size_t& n = pair_count[k];
      if (n > 0) ranking.erase({n, p});
      n = std::size_t(std::ptrdiff_t(n) + d);
      if (n > 0) ranking.insert({n, p});
      else pair_count.erase(k);
    }
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
