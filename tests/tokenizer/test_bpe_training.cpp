// BPE vocabulary learning: the incremental learner gives exactly the merges of the textbook
// algorithm (recount every pair after every merge), and the vocabulary it writes loads and
// round-trips text.

#include <causalqwen/tokenizer/bpe_training.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_tokenizer_bpe_training {

using namespace causalqwen;

namespace {

std::vector<BpeMerge> textbook_merges(const std::vector<std::string>& texts, std::size_t count) {
  const Pretokenizer pretokenizer(qwen2_split_pattern);
  std::map<std::vector<std::string>, std::size_t> words;
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

// Words from a small alphabet, so that pairs tie often and repeated letters ("aaaa") overlap.
std::vector<std::string> random_texts(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> letter(0, 4), length(1, 7), words(1, 12);
  std::vector<std::string> texts;
  for (int t = 0; t < 60; ++t) {
    std::string text;
    for (int w = words(rng); w > 0; --w) {
      text += w % 3 == 0 ? " " : "  ";
      for (int n = length(rng); n > 0; --n) text += char('a' + letter(rng));
    }
    texts.push_back(text + (t % 4 == 0 ? ", é ü!" : "."));
  }
  return texts;
}

}  // namespace

TEST_CASE("the incremental BPE learner gives the textbook algorithm's merges") {
  for (std::uint64_t seed : {1, 2, 3}) {
    const auto texts = random_texts(seed);
    const auto expected = textbook_merges(texts, 400);
    const auto merges = learn_bpe_merges(texts, 400);
    CHECK(merges.size() == expected.size());
    CHECK(merges == expected);
  }
  const std::vector<std::string> sentences = {"the cat sat on the mat", "the hat", "that cat", "a bat and a cat"};
  CHECK(learn_bpe_merges(sentences, 50) == textbook_merges(sentences, 50));
  CHECK(learn_bpe_merges(sentences, 3) == textbook_merges(sentences, 3));
  CHECK(learn_bpe_merges(std::vector<std::string>{}, 10).empty());
}

TEST_CASE("a learned vocabulary loads and round-trips text; numbers are left to <NUM>") {
  const std::vector<std::string> corpus = {"Sodium has atomic number 11 and weight 22.99.",
                                           "Potassium has atomic number 19 and weight 39.1.",
                                           "A foot is 0.3048 meters; 12 feet in meters is 3.658."};
  std::vector<std::string> words;
  for (const std::string& line : corpus) words.push_back(without_numbers(line));
  CHECK(words[0] == "Sodium has atomic number  and weight .");
  CHECK(without_numbers("no numbers here") == "no numbers here");
  CHECK(without_numbers("-3.5e2") == "");
  const auto merges = learn_bpe_merges(words, 40);
  for (const auto& [left, right] : merges) {
    CHECK(left.find_first_of("0123456789") == std::string::npos);
    CHECK(right.find_first_of("0123456789") == std::string::npos);
  }
  const Tokenizer tokenizer = Tokenizer::from_json(byte_level_tokenizer_json(merges, {"<|endoftext|>"}), "learned");
  CHECK(tokenizer.id_limit() == 256 + merges.size() + 1);
  for (const std::string& line : corpus) {
    const auto ids = tokenizer.encode(line);
    CHECK(tokenizer.decode(ids) == line);
    CHECK(ids.size() < line.size());
  }
}

}  // namespace causalqwen_tests_tokenizer_bpe_training
