// Encode throughput of the byte-level BPE tokenizer on a few MB of mixed English / Chinese / code
// text, generated deterministically here. Beside it, in the same binary: the split regex alone
// (the floor any encoder on this pattern pays) and BPE with the textbook quadratic merge loop.
// Needs the real Qwen vocabulary in the cache folder (scripts/fetch-test-data.sh); without it
// each benchmark reports itself skipped. Set CAUSALQWEN_BENCH_TEXT to a path to also write the
// text there (to time another tokenizer on the same input).

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include <benchmark/benchmark.h>

#include "../tests/tokenizer/qwen_vocabulary.hpp"

#include <array>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace causalqwen;

// The vocabulary is found exactly as the tests find it.
std::filesystem::path vocabulary_path() { return test::qwen_vocabulary_path(); }

const Tokenizer* tokenizer() {
  std::string why;
  return test::qwen_tokenizer(why);
}

// About 4 MB: paragraphs of English, Chinese and C++/Python code in turn, words drawn by a fixed
// linear congruential generator so every run and machine sees the same bytes.
const std::string& mixed_text() {
  static const std::string text = [] {
    const std::array<const char*, 40> english = {
        "the", "model", "learns", "a", "causal", "representation", "of", "each", "token", "and", "predicts",
        "numbers", "with", "uncertainty", "while", "language", "stays", "fluent", "in", "context", "Hello",
        "world", "Qwen", "tokenizer", "benchmark", "throughput", "is", "measured", "on", "mixed", "text",
        "including", "punctuation", "like", "commas,", "periods.", "and", "quotes'", "2024", "3.14"};
    const std::array<const char*, 30> chinese = {
        "我们", "模型", "学习", "因果", "表示", "每个", "词元", "并且", "预测", "数字", "不确定性",
        "语言", "保持", "流畅", "上下文", "你好", "世界", "年龄", "收入", "增长了", "达到", "万元",
        "，", "。", "的", "是", "在", "和", "25岁", "12.5%"};
    const std::array<const char*, 16> code = {
        "for (int i = 0; i < n; ++i) {\n", "    total += values[i] * weights[i];\n", "}\n",
        "def encode(text: str) -> list[int]:\n", "    return [vocab[t] for t in split(text)]\n",
        "if (x != nullptr && x->next) return x->next->id;\n", "# comment: handle the edge case\n",
        "std::vector<float> out(rows * cols, 0.0f);\n", "    print(f\"{name}: {value:.3f}\")\n",
        "const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);\n", "\treturn 0;\n",
        "x = {\"key\": [1, 2, 3], \"nested\": {\"a\": None}}\n", "    ", "\n\n", "// TODO(perf): cache\n", "}"};
    std::uint64_t state = 0x2545F4914F6CDD1Dull;
    const auto next = [&](std::size_t n) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<std::size_t>((state >> 33) % n);
    };
    std::string out;
    out.reserve(4u << 20);
    while (out.size() < (4u << 20)) {
      switch (next(3)) {
        case 0:
          for (int i = 0; i < 80; ++i) (out += english[next(english.size())]) += ' ';
          out += "\n";
          break;
        case 1:
          for (int i = 0; i < 80; ++i) out += chinese[next(chinese.size())];
          out += "\n";
          break;
        default:
          for (int i = 0; i < 12; ++i) out += code[next(code.size())];
      }
    }
    if (const char* dump = std::getenv("CAUSALQWEN_BENCH_TEXT"); dump != nullptr && *dump != '\0')
      write_file_atomically(dump, out);
    return out;
  }();
  return text;
}

bool skip_without_vocabulary(benchmark::State& state) {
  if (tokenizer() != nullptr) return false;
  state.SkipWithError(("skipped: the Qwen vocabulary " + vocabulary_path().string() +
                       " is absent (scripts/fetch-test-data.sh fetches it)").c_str());
  return true;
}

void report_bytes(benchmark::State& state) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(mixed_text().size()));
}

// The textbook BPE: rescan every adjacent pair after each merge, O(n^2) per piece.
void naive_bpe(std::string_view piece, const Tokenizer& tok, const MergeTable& merges, std::vector<TokenId>& out) {
  std::vector<TokenId> symbols;
  for (const char c : piece) symbols.push_back(*tok.token_id(byte_level::byte_symbols()[static_cast<unsigned char>(c)]));
  for (;;) {
    std::int32_t best_rank = INT32_MAX;
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
      if (const auto* m = merges.find(symbols[i], symbols[i + 1]); m != nullptr && m->rank < best_rank) {
        best_rank = m->rank;
        best = i;
      }
    if (best_rank == INT32_MAX) break;
    symbols[best] = merges.find(symbols[best], symbols[best + 1])->merged;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
}

// The merge table of the real vocabulary rebuilt from its spellings, for the baselines that
// bypass the Tokenizer's own encode.
const MergeTable& merges_of_vocabulary() {
  static const MergeTable table = [] {
    const auto root = nlohmann::json::parse(std::ifstream(vocabulary_path()));
    const Tokenizer& tok = *tokenizer();
    MergeTable merges(root["model"]["merges"].size());
    std::int32_t rank = 0;
    for (const auto& m : root["model"]["merges"]) {
      const std::string a = m[0], b = m[1];
      merges.insert(*tok.token_id(a), *tok.token_id(b), {rank++, *tok.token_id(a + b)});
    }
    return merges;
  }();
  return table;
}

void BM_Encode(benchmark::State& state) {
  if (skip_without_vocabulary(state)) return;
  const std::string& text = mixed_text();
  std::size_t tokens = 0;
  for (auto _ : state) {
    const auto ids = tokenizer()->encode(text);  // a fresh piece cache each time, as a one-off call
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  report_bytes(state);
  state.counters["tokens"] = static_cast<double>(tokens);
  state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}
BENCHMARK(BM_Encode)->Unit(benchmark::kMillisecond);

void BM_EncodeWithNumbers(benchmark::State& state) {
  if (skip_without_vocabulary(state)) return;
  const TokenId num = num_token_id(*tokenizer());
  for (auto _ : state) benchmark::DoNotOptimize(encode_with_numbers(*tokenizer(), mixed_text(), num).ids.data());
  report_bytes(state);
}
BENCHMARK(BM_EncodeWithNumbers)->Unit(benchmark::kMillisecond);

void BM_BaselineSplitRegexOnly(benchmark::State& state) {
  if (skip_without_vocabulary(state)) return;
  for (auto _ : state) {
    std::size_t pieces = 0;
    tokenizer()->pretokenizer().split(mixed_text(), [&](std::string_view) { ++pieces; });
    benchmark::DoNotOptimize(pieces);
  }
  report_bytes(state);
}
BENCHMARK(BM_BaselineSplitRegexOnly)->Unit(benchmark::kMillisecond);

// Split + heap BPE on every piece, no piece cache: isolates the cache's share of BM_Encode.
void BM_BaselineHeapBpeNoCache(benchmark::State& state) {
  if (skip_without_vocabulary(state)) return;
  const Tokenizer& tok = *tokenizer();
  std::array<TokenId, 256> byte_ids{};
  for (unsigned b = 0; b < 256; ++b) byte_ids[b] = *tok.token_id(byte_level::byte_symbols()[b]);
  BpeScratch scratch;
  for (auto _ : state) {
    std::vector<TokenId> ids;
    tok.pretokenizer().split(mixed_text(), [&](std::string_view piece) { bpe_merge(piece, byte_ids, merges_of_vocabulary(), scratch, ids); });
    benchmark::DoNotOptimize(ids.data());
  }
  report_bytes(state);
}
BENCHMARK(BM_BaselineHeapBpeNoCache)->Unit(benchmark::kMillisecond);

// Split + naive quadratic BPE on every piece, no cache.
void BM_BaselineNaiveBpeNoCache(benchmark::State& state) {
  if (skip_without_vocabulary(state)) return;
  const Tokenizer& tok = *tokenizer();
  for (auto _ : state) {
    std::vector<TokenId> ids;
    tok.pretokenizer().split(mixed_text(), [&](std::string_view piece) { naive_bpe(piece, tok, merges_of_vocabulary(), ids); });
    benchmark::DoNotOptimize(ids.data());
  }
  report_bytes(state);
}
BENCHMARK(BM_BaselineNaiveBpeNoCache)->Unit(benchmark::kMillisecond);

// One long word (a run of 20,000 letters is one piece): heap merging vs the quadratic loop.
void BM_LongWord(benchmark::State& state, bool naive) {
  if (skip_without_vocabulary(state)) return;
  const Tokenizer& tok = *tokenizer();
  std::string word;
  for (std::size_t i = 0; word.size() < static_cast<std::size_t>(state.range(0)); ++i) word += "abcdefghij"[(i * 7 + i / 3) % 10];
  std::array<TokenId, 256> byte_ids{};
  for (unsigned b = 0; b < 256; ++b) byte_ids[b] = *tok.token_id(byte_level::byte_symbols()[b]);
  BpeScratch scratch;
  for (auto _ : state) {
    std::vector<TokenId> ids;
    if (naive) naive_bpe(word, tok, merges_of_vocabulary(), ids);
    else bpe_merge(word, byte_ids, merges_of_vocabulary(), scratch, ids);
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK_CAPTURE(BM_LongWord, heap, false)->Arg(20000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_LongWord, naive_quadratic, true)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
