// The tokenizer's logic on a small vocabulary written by the test itself (no download needed):
// byte-level alphabet, UTF-8 policies, the split regex, BPE against a naive reference, added
// tokens, NFC, strict loading.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>

#include "../support/scratch.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace causalqwen_tests_tokenizer_tokenizer_logic {

using namespace causalqwen;
using nlohmann::json;

namespace {

// 256 single-byte tokens (ids = byte values) plus merges building "he", "ll", "hell", "hello",
// "Ġw", "Ġwo", "Ġworld" pieces, and three added tokens.
json small_tokenizer_json() {
  json vocab = json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_level::byte_symbols()[b]] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"},
      {"a", "a"}, {"aa", "aa"}, {"Ġ", "Ġ"}};
  TokenId next = 256;
  json merge_list = json::array();
  for (const auto& [a, b] : merges) {
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
    merge_list.push_back(json::array({a, b}));
  }
  return json{
      {"version", "1.0"},
      {"added_tokens",
       json::array({json{{"id", 300}, {"content", "<|end|>"}, {"special", true}, {"normalized", false}},
                    json{{"id", 301}, {"content", "<|end|>x"}, {"special", true}},
                    json{{"id", 302}, {"content", "<tool>"}, {"special", false}}})},
      {"normalizer", json{{"type", "NFC"}}},
      {"pre_tokenizer",
       json{{"type", "Sequence"},
            {"pretokenizers",
             json::array({json{{"type", "Split"},
                               {"pattern", json{{"Regex", std::string(qwen2_split_pattern)}}},
                               {"behavior", "Isolated"},
                               {"invert", false}},
                          json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
      {"decoder", json{{"type", "ByteLevel"}}},
      {"model", json{{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"vocab", vocab}, {"merges", merge_list}}}};
}

Tokenizer small_tokenizer() { return Tokenizer::from_json(small_tokenizer_json().dump(), "small.json"); }

std::vector<std::string> pieces(const Pretokenizer& pre, std::string_view text) {
  std::vector<std::string> out;
  pre.split(text, [&](std::string_view piece) { out.emplace_back(piece); });
  return out;
}

// The textbook quadratic BPE: find the lowest-ranked adjacent pair (leftmost among equals), merge
// it, start over.
std::vector<TokenId> naive_bpe(std::string_view piece, const std::array<TokenId, 256>& byte_ids, const MergeTable& merges) {
  std::vector<TokenId> symbols;
  for (const char c : piece) symbols.push_back(byte_ids[static_cast<unsigned char>(c)]);
  for (;;) {
    std::int32_t best_rank = INT32_MAX;
    std::size_t best = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i)
      if (const auto* m = merges.find(symbols[i], symbols[i + 1]); m != nullptr && m->rank < best_rank) {
        best_rank = m->rank;
        best = i;
      }
    if (best_rank == INT32_MAX) return symbols;
    symbols[best] = merges.find(symbols[best], symbols[best + 1])->merged;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best) + 1);
  }
}

}  // namespace

TEST_CASE("byte-level alphabet maps all 256 bytes one to one") {
  CHECK(byte_level::byte_to_code_point(' ') == U'Ġ');
  CHECK(byte_level::byte_to_code_point('\n') == U'Ċ');
  CHECK(byte_level::byte_to_code_point('A') == U'A');
  CHECK(byte_level::byte_to_code_point(0xAD) == 0x143);  // the last substituted byte
  CHECK_FALSE(byte_level::code_point_to_byte(U'Ġ' + 0x100).has_value());
  CHECK_FALSE(byte_level::code_point_to_byte(0xAD).has_value());  // soft hyphen is substituted, not itself
  std::string all;
  for (unsigned b = 0; b < 256; ++b) {
    all += static_cast<char>(b);
    CHECK(byte_level::code_point_to_byte(byte_level::byte_to_code_point(static_cast<unsigned char>(b))) == b);
  }
  CHECK(byte_level::decode(byte_level::encode(all)) == all);
  CHECK(byte_level::encode("Hi there\n") == "HiĠthereĊ");
  CHECK_FALSE(byte_level::decode("\xFF").has_value());
  CHECK_FALSE(byte_level::decode("中").has_value());
}

TEST_CASE("UTF-8 validation: reject names the offset, replace follows maximal subparts") {
  std::string storage;
  CHECK(utf8::is_valid("plain ascii and 中文 and 🤖"));
  CHECK(utf8::first_invalid("abcdefghij\xFFxyz") == 10);
  CHECK_THROWS_WITH_AS(utf8::sanitize("ab\xC3", utf8::Policy::reject, storage, "input"),
                       doctest::Contains("byte offset 2"), error);
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  for (const Case& c : std::vector<Case>{
           {"a\xFF" "b", "a" + fffd + "b"},
           {"\xE4\xBD", fffd},                        // truncated 3-byte sequence: one subpart
           {"\xF0\x80\x80", fffd + fffd + fffd},      // overlong lead: each byte alone
           {"\xED\xA0\x80", fffd + fffd + fffd},      // surrogate
           {"\xC0\xAF", fffd + fffd},                 // overlong '/'
           {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},  // above U+10FFFF
           {"\xE4\xBD" "a", fffd + "a"},
           {"ok", "ok"}}) {
    CHECK(std::string(utf8::sanitize(c.in, utf8::Policy::replace, storage)) == c.out);
  }
}

TEST_CASE("split regex: Qwen pattern pieces, with Hugging Face's \\s") {
  const Pretokenizer qwen(qwen2_split_pattern);
  using V = std::vector<std::string>;
  CHECK(pieces(qwen, "Hello world") == V{"Hello", " world"});
  CHECK(pieces(qwen, "I'LL") == V{"I", "'LL"});
  CHECK(pieces(qwen, "12345") == V{"1", "2", "3", "4", "5"});
  CHECK(pieces(qwen, "   leading") == V{"  ", " leading"});
  CHECK(pieces(qwen, "a\n\n\nb") == V{"a", "\n\n\n", "b"});
  CHECK(pieces(qwen, "end.  \n  next") == V{"end", ".", "  \n", " ", " next"});
  CHECK(pieces(qwen, "x**2;\n") == V{"x", "**", "2", ";\n"});
  CHECK(pieces(qwen, "年龄25岁") == V{"年龄", "2", "5", "岁"});
  CHECK(pieces(qwen, "") == V{});
  // U+0085 is White_Space (Hugging Face) and U+180E is not, unlike PCRE2's own UCP \s.
  CHECK(pieces(qwen, "a\u0085\u0085b") == V{"a", "\u0085", "\u0085b"});
  CHECK(pieces(qwen, "a\u180E\u180Eb") == V{"a", "\u180E\u180E", "b"});
  // \s inside a class and \Q..\E quoting survive the rewrite.
  CHECK(pieces(Pretokenizer(R"([^\s]+|\s+)"), "ab  c") == V{"ab", "  ", "c"});
  CHECK(pieces(Pretokenizer(R"(\Q\s\E)"), "a\\sb") == V{"a", "\\s", "b"});  // gaps are pieces too
  CHECK_THROWS_AS(Pretokenizer("(unclosed"), error);
}

TEST_CASE("BPE over the linked list equals the naive quadratic merge loop") {
  // A random merge table over a 4-letter alphabet, then random words: both algorithms must agree.
  std::mt19937 rng(12345);
  std::array<TokenId, 256> byte_ids{};
  for (unsigned b = 0; b < 256; ++b) byte_ids[b] = static_cast<TokenId>(b);
  std::vector<std::string> spelled(256);
  for (unsigned b = 0; b < 256; ++b) spelled[b] = std::string(1, static_cast<char>(b));
  MergeTable merges;
  std::vector<TokenId> pool = {'a', 'b', 'c', 'd'};
  for (std::int32_t rank = 0; rank < 300; ++rank) {
    const TokenId left = pool[rng() % pool.size()], right = pool[rng() % pool.size()];
    const auto merged = static_cast<TokenId>(spelled.size());
    if (!merges.insert(left, right, {rank, merged})) continue;
    spelled.push_back(spelled[left] + spelled[right]);
    pool.push_back(merged);
  }
  BpeScratch scratch;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string word(1 + rng() % 60, 'a');
    for (char& c : word) c = static_cast<char>('a' + rng() % 4);
    std::vector<TokenId> fast;
    bpe_merge(word, byte_ids, merges, scratch, fast);
    const auto slow = naive_bpe(word, byte_ids, merges);
    REQUIRE(fast == slow);
    std::string back;
    for (const TokenId id : fast) back += spelled[id];
    REQUIRE(back == word);
  }
}

TEST_CASE("small vocabulary: encode, decode, merges as pairs or strings") {
  const Tokenizer tokenizer = small_tokenizer();
  const auto ids = tokenizer.encode("hello world");
  REQUIRE(ids.size() == 2);
  CHECK(tokenizer.token(ids[0]) == "hello");
  CHECK(tokenizer.token(ids[1]) == "Ġworld");
  CHECK(tokenizer.decode(ids) == "hello world");
  CHECK(tokenizer.encode("aaaaaaa").size() == 3);  // aaaa aa a
  CHECK(tokenizer.id_limit() == 303);

  json strings = small_tokenizer_json();
  for (auto& merge : strings["model"]["merges"]) merge = merge[0].get<std::string>() + " " + merge[1].get<std::string>();
  const Tokenizer same = Tokenizer::from_json(strings.dump());
  for (const std::string text : {"hello world", "hellohello  world\n", "aaaaaaaaa bb", "ünïcödé 中文 🤖"}) {
    CHECK(same.encode(text) == tokenizer.encode(text));
    CHECK(tokenizer.decode(tokenizer.encode(text)) == text);
  }
  // One state reused over calls (its piece cache warm) gives the same ids.
  EncodeState state;
  for (int i = 0; i < 3; ++i) {
    std::vector<TokenId> out;
    tokenizer.encode("hello world hello", {}, state, out);
    CHECK(out == tokenizer.encode("hello world hello"));
  }
}

TEST_CASE("small vocabulary: one Tokenizer shared by threads gives the same ids") {
  const Tokenizer tokenizer = small_tokenizer();
  std::string text;
  for (int i = 0; i < 200; ++i) text += "hello world aaaa e\u0301 中文 " + std::to_string(i) + "\n";
  const auto expected = tokenizer.encode(text);
  std::vector<std::vector<TokenId>> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results)
    threads.emplace_back([&] {
      for (int round = 0; round < 20; ++round) result = tokenizer.encode(text);
    });
  for (auto& thread : threads) thread.join();
  for (const auto& result : results) CHECK(result == expected);
}

TEST_CASE("small vocabulary: NFC normalization before BPE") {
  const Tokenizer tokenizer = small_tokenizer();
  CHECK(tokenizer.encode("e\u0301") == tokenizer.encode("\u00E9"));
  CHECK(tokenizer.decode(tokenizer.encode("e\u0301")) == "\u00E9");
  CHECK(tokenizer.encode("\u212B") == tokenizer.encode("\u00C5"));  // Angstrom sign
  CHECK(tokenizer.encode("\uFB01") != tokenizer.encode("fi"));      // NFC, not NFKC
  std::string storage;
  CHECK(normalize_nfc(std::string("a\0b", 3), storage) == std::string("a\0b", 3));
  CHECK(normalize_nfc("\u1100\u1161", storage) == "\uAC00");  // Hangul jamo compose
}

TEST_CASE("NFC by stretches equals utf8proc's NFC of the whole text") {
  // Random mixes of inert code points (ASCII, CJK, kana, CJK punctuation) and ones that compose or
  // reorder (combining marks, Hangul jamo, decomposable letters, the U+212B singleton).
  const std::vector<std::string> alphabet = {"a", "e", "A", " ", "中", "文", "か", "。", "\u0301", "\u0308", "\u0323",
                                             "\u1100", "\u1161", "\u11A8", "\uAC00", "\u212B", "\u00C5", "\u3099",
                                             "\u304B", "\u2019", "\u2000", "\uFB01", "\u0041\u030A"};
  std::mt19937 rng(7);
  std::string storage;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string text;
    for (std::size_t i = 0, n = rng() % 12; i < n; ++i) text += alphabet[rng() % alphabet.size()];
    utf8proc_uint8_t* whole = utf8proc_NFC(reinterpret_cast<const utf8proc_uint8_t*>(text.c_str()));
    REQUIRE(whole != nullptr);
    const std::string expected(reinterpret_cast<const char*>(whole));
    std::free(whole);
    INFO("text: ", text);
    REQUIRE(std::string(normalize_nfc(text, storage)) == expected);
  }
}

TEST_CASE("small vocabulary: added tokens, longest match, special only on request") {
  const Tokenizer tokenizer = small_tokenizer();
  const EncodeOptions special{.parse_special = true};
  CHECK(tokenizer.encode("hello<|end|>", special) == std::vector<TokenId>{tokenizer.encode("hello")[0], 300});
  CHECK(tokenizer.encode("<|end|>xhello", special).front() == 301);  // longest of the two
  CHECK(tokenizer.encode("<|end|>", special) == std::vector<TokenId>{300});
  CHECK(tokenizer.encode("<|end|>").size() > 1);                     // not parsed by default
  CHECK(tokenizer.encode("a<tool>b") == std::vector<TokenId>{'a', 302, 'b'});  // non-special: always
  CHECK(tokenizer.decode(std::vector<TokenId>{'a', 300, 302}) == "a<|end|><tool>");
  CHECK(tokenizer.decode(std::vector<TokenId>{'a', 300, 302}, {.skip_special = true}) == "a<tool>");
  CHECK(tokenizer.is_special(300));
  CHECK_FALSE(tokenizer.is_special(302));
  CHECK(tokenizer.token_id("<tool>") == 302);
  CHECK_FALSE(tokenizer.token_id("nope").has_value());
  CHECK_THROWS_AS(tokenizer.decode(std::vector<TokenId>{303}), error);
  CHECK_THROWS_AS(tokenizer.token(-5), error);

  json stripping = small_tokenizer_json();
  stripping["added_tokens"][2]["lstrip"] = true;
  stripping["added_tokens"][2]["rstrip"] = true;
  const Tokenizer strip = Tokenizer::from_json(stripping.dump());
  CHECK(strip.encode("a \t<tool>\u3000 b") == std::vector<TokenId>{'a', 302, 'b'});
}

TEST_CASE("small vocabulary: GPT-2 style lone ByteLevel pre-tokenizer") {
  json gpt2 = small_tokenizer_json();
  gpt2["pre_tokenizer"] = json{{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  const Tokenizer tokenizer = Tokenizer::from_json(gpt2.dump());
  CHECK(tokenizer.pretokenizer().pattern() == gpt2_split_pattern);
  CHECK(tokenizer.decode(tokenizer.encode("hello world 12345")) == "hello world 12345");
}

TEST_CASE("strict loading: each malformed field is named in the error") {
  struct Case {
    const char* what;
    std::function<void(json&)> damage;
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"model missing", [](json& j) { j.erase("model"); }, "field model is missing"},
      {"model type", [](json& j) { j["model"]["type"] = "WordPiece"; }, "model.type"},
      {"vocab not object", [](json& j) { j["model"]["vocab"] = json::array(); }, "model.vocab"},
      {"vocab id not integer", [](json& j) { j["model"]["vocab"]["hello"] = "x"; }, "model.vocab[\"hello\"]"},
      {"vocab id taken twice", [](json& j) { j["model"]["vocab"]["zzz"] = 5; }, "already taken"},
      {"vocab lacks a byte", [](json& j) { j["model"]["vocab"].erase("Ġ"); }, "single-byte token"},
      {"vocab outside alphabet", [](json& j) { j["model"]["vocab"]["中"] = 999; }, "byte-level alphabet"},
      {"merge unknown token", [](json& j) { j["model"]["merges"].push_back(json::array({"q", "nope"})); }, "model.merges[12]"},
      {"merge bad string", [](json& j) { j["model"]["merges"][0] = "he"; }, "model.merges[0]"},
      {"merge result missing", [](json& j) { j["model"]["merges"].push_back("x y"); }, "\"xy\" is not in model.vocab"},
      {"dropout", [](json& j) { j["model"]["dropout"] = 0.1; }, "model.dropout"},
      {"byte fallback", [](json& j) { j["model"]["byte_fallback"] = true; }, "model.byte_fallback"},
      {"normalizer", [](json& j) { j["normalizer"] = json{{"type", "NFKC"}}; }, "normalizer.type NFKC"},
      {"prefix space", [](json& j) { j["pre_tokenizer"]["pretokenizers"][1]["add_prefix_space"] = true; }, "add_prefix_space"},
      {"split behaviour", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; }, "behavior"},
      {"bad regex", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(\\p{L"; }, "does not compile"},
      {"pre_tokenizer missing", [](json& j) { j.erase("pre_tokenizer"); }, "pre_tokenizer"},
      {"added content missing", [](json& j) { j["added_tokens"][0].erase("content"); }, "added_tokens[0].content"},
      {"added id clash", [](json& j) { j["added_tokens"][1]["id"] = 300; }, "added_tokens[1]"},
      {"added single word", [](json& j) { j["added_tokens"][0]["single_word"] = true; }, "single_word"},
      {"added not bool", [](json& j) { j["added_tokens"][0]["special"] = "yes"; }, "added_tokens[0].special"},
      {"decoder", [](json& j) { j["decoder"] = json{{"type", "WordPiece"}}; }, "decoder.type"},
  };
  for (const Case& c : cases) {
    INFO(std::string(c.what));
    json damaged = small_tokenizer_json();
    c.damage(damaged);
    CHECK_THROWS_WITH_AS(Tokenizer::from_json(damaged.dump(), "broken.json"),
                         doctest::Contains("broken.json"), error);
    CHECK_THROWS_WITH_AS(Tokenizer::from_json(damaged.dump(), "broken.json"), doctest::Contains(c.expect), error);
  }
  CHECK_THROWS_WITH_AS(Tokenizer::from_json("{\"model\": ", "cut.json"), doctest::Contains("cut.json: not valid JSON"), error);
  CHECK_THROWS_WITH_AS(Tokenizer::from_file("/nonexistent/tokenizer.json"), doctest::Contains("/nonexistent/tokenizer.json"), error);

  const std::filesystem::path file = causalqwen::testing::scratch_directory(__FILE__) / "small.json";
  write_file_atomically(file, small_tokenizer_json().dump());
  CHECK(Tokenizer::from_file(file).source() == file.string());
}

TEST_CASE("a huge token id is refused by name, without allocating tables up to it") {
  // The tables were resized to id + 1: 1e8 took 6.3 GB and 46 s, 2e9 ended in a bare bad_alloc.
  for (const std::int64_t id : {std::int64_t(100000000), std::int64_t(2000000000)}) {
    INFO(id);
    json vocab_id = small_tokenizer_json();
    vocab_id["model"]["vocab"]["zzz"] = id;
    CHECK_THROWS_WITH_AS(Tokenizer::from_json(vocab_id.dump(), "huge.json"),
                         doctest::Contains("huge.json: model.vocab[\"zzz\"]: id"), error);
    json added_id = small_tokenizer_json();
    added_id["added_tokens"][2]["id"] = id;
    CHECK_THROWS_WITH_AS(Tokenizer::from_json(added_id.dump(), "huge.json"),
                         doctest::Contains("huge.json: added_tokens[2] (\"<tool>\"): id"), error);
  }
}

TEST_CASE("a directory given as tokenizer.json is reported as a directory, with its path") {
  const std::string dir = causalqwen::testing::scratch_directory(__FILE__);
  const std::string want = dir + ": is a directory";
  CHECK_THROWS_WITH_AS(Tokenizer::from_file(dir), doctest::Contains(want.c_str()), error);
}

TEST_CASE("a String split pattern is a literal even when it contains \\E") {
  // Quoted as \Q...\E, the literal a\E.b turned back into the regex a.b after its \E.
  json j = small_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = json{{"String", "a\\E.b"}};
  const Tokenizer t = Tokenizer::from_json(j.dump(), "literal.json");
  CHECK(pieces(t.pretokenizer(), "zaxbz") == std::vector<std::string>{"zaxbz"});
  CHECK(pieces(t.pretokenizer(), "xa\\E.by") == std::vector<std::string>{"x", "a\\E.b", "y"});
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = json{{"String", "(*+?[$^|{\\"}};
  const Tokenizer meta = Tokenizer::from_json(j.dump(), "literal.json");
  CHECK(pieces(meta.pretokenizer(), "x(*+?[$^|{\\y") == std::vector<std::string>{"x", "(*+?[$^|{\\", "y"});
}

}  // namespace causalqwen_tests_tokenizer_tokenizer_logic
