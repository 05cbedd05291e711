#pragma once
// A byte-level BPE tokenizer loaded from a Hugging Face tokenizer.json (the GPT-2 / Qwen2 /
// Qwen2.5 / Qwen3 family): added tokens matched in the raw text, NFC normalization, the
// pre-tokenizer's split regex, byte-level BPE over each piece.
//
// Loading is strict: anything the file says that this implementation would not honour exactly
// (another model type, a normalizer other than NFC, a prefix space, ...) is a causalqwen::error
// naming the file and the field, never a silently different tokenization. The post_processor is
// not applied: encode() never adds BOS/EOS, as with add_special_tokens=false.
//
// Thread safety: a Tokenizer is immutable once loaded; all its member functions are const and may
// run concurrently. Per-call working memory lives in an EncodeState; encode() without one makes a
// fresh state per call. Keep one EncodeState per thread to reuse its piece cache across calls.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/io/file.hpp>
#include <causalqwen/tokenizer/added_tokens.hpp>
#include <causalqwen/tokenizer/bpe.hpp>
#include <causalqwen/tokenizer/byte_level.hpp>
#include <causalqwen/tokenizer/normalizer.hpp>
#include <causalqwen/tokenizer/pretokenizer.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace causalqwen {

struct EncodeOptions {
  /// Recognise special added tokens (e.g. <|im_end|>) written in the text. Off by default so that
  /// user text cannot forge control tokens; added tokens that are not special always match.
  bool parse_special = false;
  /// Invalid UTF-8 input: throw (default) or replace each bad subpart with U+FFFD.
  utf8::Policy invalid_utf8 = utf8::Policy::reject;
};

struct DecodeOptions {
  bool skip_special = false;  ///< drop special added tokens from the text
  /// Token sequences whose bytes are not valid UTF-8 (e.g. half of a multi-byte character): replace
  /// the bad parts with U+FFFD (default, as Hugging Face) or throw. decode_bytes() gives raw bytes.
  utf8::Policy invalid_utf8 = utf8::Policy::replace;
};

/// Per-thread working memory of encode: BPE buffers and a cache of encoded pieces.
class EncodeState {
 public:
  /// Cached pieces beyond which the cache is cleared (bounds memory on endless streams).
  static constexpr std::size_t max_cached_pieces = 1 << 18;
  static constexpr std::size_t max_cached_piece_bytes = 128;

 private:
  friend class Tokenizer;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Span {
    std::uint32_t offset, length;
  };
  BpeScratch bpe;
  std::unordered_map<std::string, Span, Hash, std::equal_to<>> cache;
  std::vector<TokenId> cached_ids;
  std::string normalized, repaired;
};

/// A byte-level BPE tokenizer given as lists rather than a tokenizer.json (GGUF files carry it
/// so). Tokenizer::from_lists builds the tokenizer.json these lists stand for, so both sources
/// go through the same validation and the same BPE.
struct TokenizerLists {
  std::vector<std::pair<std::string, TokenId>> vocabulary;  ///< byte-level spellings and their ids
  std::vector<std::pair<std::string, std::string>> merges;  ///< by rank, highest priority first
  std::vector<AddedToken> added_tokens;
  std::string split_pattern = std::string(qwen2_split_pattern);
  Normalization normalization = Normalization::nfc;
};

class Tokenizer {
 public:
  /// Loads a tokenizer.json. Unreadable or malformed files -> causalqwen::error naming the file.
  static Tokenizer from_file(const std::filesystem::path& file) {
    return from_json(io::read_file(file, "tokenizer file"), file.string());
  }

  /// Loads from the text of a tokenizer.json; `source` names it in error messages.
  static Tokenizer from_json(std::string_view json_text, std::string source = "<tokenizer.json>") {
    nlohmann::json root;
    try {
      root = nlohmann::json::parse(json_text);
    } catch (const nlohmann::json::exception& e) {
      fail(source, ": not valid JSON: ", e.what());
    }
    return Tokenizer(root, std::move(source));
  }

  /// Builds from lists; `source` names their origin in error messages, which name the fields of
  /// the equivalent tokenizer.json (model.vocab, model.merges[i], added_tokens[i]).
  static Tokenizer from_lists(const TokenizerLists& lists, std::string source) {
    Json vocab = Json::object();
    for (const auto& [spelling, id] : lists.vocabulary) {
      // A JSON object cannot hold a spelling twice; the lists could.
      if (const auto known = vocab.find(spelling); known != vocab.end())
        fail(source, ": vocabulary spelling \"", spelling, "\" has two ids, ", known->get<TokenId>(), " and ", id);
      vocab[spelling] = id;
    }
    Json merges = Json::array();
    for (const auto& [left, right] : lists.merges) merges.push_back(Json::array({left, right}));
    Json added = Json::array();
    for (const AddedToken& token : lists.added_tokens)
      added.push_back({{"id", token.id}, {"content", token.content}, {"special", token.special},
                       {"lstrip", token.lstrip}, {"rstrip", token.rstrip}, {"normalized", false}});
    const Json root = {
        {"model", {{"type", "BPE"}, {"vocab", std::move(vocab)}, {"merges", std::move(merges)}}},
        {"added_tokens", std::move(added)},
        {"normalizer", lists.normalization == Normalization::nfc ? Json{{"type", "NFC"}} : Json()},
        {"pre_tokenizer",
         {{"type", "Sequence"},
          {"pretokenizers",
           Json::array({{{"type", "Split"}, {"pattern", {{"Regex", lists.split_pattern}}}, {"behavior", "Isolated"}},
                        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}})}}},
        {"decoder", {{"type", "ByteLevel"}}}};
    return Tokenizer(root, std::move(source));
  }

  const std::string& source() const { return source_; }
  /// One past the largest id (vocabulary and added tokens).
  std::size_t id_limit() const { return tokens_.size(); }
  bool contains(TokenId id) const { return id >= 0 && static_cast<std::size_t>(id) < kinds_.size() && kinds_[id] != Kind::absent; }
  bool is_special(TokenId id) const { return contains(id) && kinds_[id] == Kind::special; }
  const std::vector<AddedToken>& added_tokens() const { return added_.tokens(); }
  /// The vocabulary spelling of a token (byte-level alphabet for BPE tokens, the content for
  /// added tokens). Unknown id -> causalqwen::error.
  const std::string& token(TokenId id) const {
    check_id(id);
    return tokens_[id];
  }
  /// Id of a token given by its vocabulary spelling.
  std::optional<TokenId> token_id(std::string_view token) const {
    const auto it = ids_.find(std::string(token));
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }
  Normalization normalization() const { return normalization_; }
  const Pretokenizer& pretokenizer() const { return pretokenizer_; }

  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& options = {}) const {
    EncodeState state;
    std::vector<TokenId> ids;
    encode(text, options, state, ids);
    return ids;
  }

  /// Appends the ids of `text` to `out`, with the caller's state (reused caches).
  void encode(std::string_view text, const EncodeOptions& options, EncodeState& state, std::vector<TokenId>& out) const {
    const std::string_view valid = utf8::sanitize(text, options.invalid_utf8, state.repaired, "text to encode");
    for_each_segment(
        valid, options.parse_special, [&](std::string_view run) { encode_ordinary(run, state, out); },
        [&](const AddedToken& token) { out.push_back(token.id); });
  }

  /// Splits valid UTF-8 at added tokens: on_text(std::string_view) for ordinary runs,
  /// on_token(const AddedToken&) for matches. Building block for callers that treat some spans
  /// of the ordinary text specially (number extraction).
  template <class OnText, class OnToken>
  void for_each_segment(std::string_view valid_text, bool parse_special, OnText&& on_text, OnToken&& on_token) const {
    added_.split(valid_text, parse_special, on_text, on_token);
  }

  /// Encodes valid UTF-8 without looking for added tokens: normalization, pre-tokenization, BPE.
  void encode_ordinary(std::string_view valid_text, EncodeState& state, std::vector<TokenId>& out) const {
    const std::string_view normalized = normalize(valid_text, normalization_, state.normalized);
    pretokenizer_.split(normalized, [&](std::string_view piece) { encode_piece(piece, state, out); });
  }

  /// Text of `ids`. Unknown id -> causalqwen::error.
  std::string decode(std::span<const TokenId> ids, const DecodeOptions& options = {}) const {
    std::string bytes = decode_bytes(ids, options.skip_special);
    std::string repaired;
    const std::string_view text = utf8::sanitize(bytes, options.invalid_utf8, repaired, "decoded token bytes");
    return text.data() == bytes.data() ? bytes : repaired;
  }

  /// The raw bytes of `ids` (not necessarily valid UTF-8: a token may hold part of a character).
  std::string decode_bytes(std::span<const TokenId> ids, bool skip_special = false) const {
    std::string out;
    for (const TokenId id : ids) {
      check_id(id);
      if (skip_special && kinds_[id] == Kind::special) continue;
      out += bytes_[id];
    }
    return out;
  }

 private:
  enum class Kind : std::uint8_t { absent, bpe, added, special };
  using Json = nlohmann::json;

  Tokenizer(const Json& root, std::string source) : source_(std::move(source)), pretokenizer_(make_pretokenizer(root)) {
    require(root.is_object(), source_, ": top level is not a JSON object");
    id_bound_ = id_bound(root);
    load_model(field(root, "model", "model"));
    load_added_tokens(root);
    normalization_ = load_normalizer(root.contains("normalizer") ? root["normalizer"] : Json());
    if (root.contains("decoder") && !root["decoder"].is_null())
      require(string_field(root["decoder"], "type", "decoder.type") == "ByteLevel", source_,
              ": decoder.type must be ByteLevel (or the decoder null)");
  }

  void check_id(TokenId id) const {
    if (!contains(id)) fail("token id ", id, " is not in the vocabulary of ", source_, " (ids 0..", id_limit() - 1, ")");
  }

  const Json& field(const Json& object, const char* key, std::string_view path) const {
    require(object.is_object(), source_, ": ", path, " is not inside a JSON object");
    const auto it = object.find(key);
    require(it != object.end(), source_, ": field ", path, " is missing");
    return *it;
  }
  std::string string_field(const Json& object, const char* key, std::string_view path) const {
    const Json& value = field(object, key, path);
    require(value.is_string(), source_, ": field ", path, " must be a string");
    return value.get<std::string>();
  }
  bool bool_field(const Json& object, const char* key, std::string_view path, bool fallback) const {
    if (!object.is_object() || !object.contains(key) || object[key].is_null()) return fallback;
    require(object[key].is_boolean(), source_, ": field ", path, " must be true or false");
    return object[key].get<bool>();
  }
  bool empty_or_null(const Json& object, const char* key) const {
    if (!object.contains(key) || object[key].is_null()) return true;
    return object[key].is_string() && object[key].get<std::string>().empty();
  }

  /// Ids must be dense: below the number of vocabulary and added entries plus a small slack (real
  /// tokenizers leave a few ids unused). The tables are indexed by id, so one stray huge id would
  /// otherwise allocate gigabytes.
  static std::int64_t id_bound(const Json& root) {
    constexpr std::int64_t slack = 1024;
    std::int64_t entries = 0;
    if (const auto model = root.find("model"); model != root.end() && model->is_object())
      if (const auto vocab = model->find("vocab"); vocab != model->end() && vocab->is_object())
        entries += static_cast<std::int64_t>(vocab->size());
    if (const auto added = root.find("added_tokens"); added != root.end() && added->is_array())
      entries += static_cast<std::int64_t>(added->size());
    return std::min<std::int64_t>(entries + slack, std::numeric_limits<TokenId>::max());
  }

  void set_token(std::int64_t id, std::string spelling, std::string bytes, Kind kind, std::string_view path) {
    require(id >= 0 && id < id_bound_, source_, ": ", path, ": id ", id, " is out of range: ids must lie in [0, ",
            id_bound_, "), the number of vocabulary and added entries plus 1024");
    if (static_cast<std::size_t>(id) >= tokens_.size()) {
      tokens_.resize(static_cast<std::size_t>(id) + 1);
      bytes_.resize(tokens_.size());
      kinds_.resize(tokens_.size(), Kind::absent);
    }
    if (kinds_[id] != Kind::absent) {
      // An added token may restate a vocabulary entry (same id, same text); anything else clashes.
      require(kinds_[id] == Kind::bpe && kind != Kind::bpe && bytes_[id] == bytes, source_, ": ", path, ": id ", id,
              " is already taken by ", tokens_[id]);
    }
    tokens_[id] = std::move(spelling);
    bytes_[id] = std::move(bytes);
    kinds_[id] = kind;
  }

  void load_model(const Json& model) {
    require(model.is_object(), source_, ": model is not a JSON object");
    require(string_field(model, "type", "model.type") == "BPE", source_, ": model.type must be BPE");
    require(!model.contains("dropout") || model["dropout"].is_null() ||
                (model["dropout"].is_number() && model["dropout"].get<double>() == 0.0),
            source_, ": model.dropout is not supported (must be null)");
    require(empty_or_null(model, "continuing_subword_prefix"), source_, ": model.continuing_subword_prefix is not supported");
    require(empty_or_null(model, "end_of_word_suffix"), source_, ": model.end_of_word_suffix is not supported");
    require(!bool_field(model, "byte_fallback", "model.byte_fallback", false), source_,
            ": model.byte_fallback is not supported (byte-level vocabularies cover every byte)");
    ignore_merges_ = bool_field(model, "ignore_merges", "model.ignore_merges", false);

    const Json& vocab = field(model, "vocab", "model.vocab");
    require(vocab.is_object(), source_, ": model.vocab must be an object of token -> id");
    ids_.reserve(vocab.size());
    for (const auto& [spelling, value] : vocab.items()) {
      require(value.is_number_integer(), source_, ": model.vocab[\"", spelling, "\"] must be an integer id");
      const auto id = value.get<std::int64_t>();
      auto bytes = byte_level::decode(spelling);
      require(bytes.has_value(), source_, ": model.vocab[\"", spelling, "\"] is not spelled in the byte-level alphabet");
      set_token(id, spelling, std::move(*bytes), Kind::bpe, "model.vocab[\"" + spelling + "\"]");
      ids_.emplace(spelling, static_cast<TokenId>(id));
    }
    for (unsigned b = 0; b < 256; ++b) {
      const auto it = ids_.find(byte_level::byte_symbols()[b]);
      require(it != ids_.end(), source_, ": model.vocab lacks the single-byte token for byte ", b,
              " (a byte-level vocabulary must cover all 256 bytes)");
      byte_ids_[b] = it->second;
    }

    const Json& merges = field(model, "merges", "model.merges");
    require(merges.is_array(), source_, ": model.merges must be an array");
    merges_ = MergeTable(merges.size());
    std::int32_t rank = 0;
    for (const Json& merge : merges) {
      std::string left, right;
      if (merge.is_string()) {  // "left right" (older files)
        const std::string& text = merge.get_ref<const std::string&>();
        const std::size_t space = text.find(' ');
        require(space != std::string::npos && space > 0 && space + 1 < text.size() &&
                    text.find(' ', space + 1) == std::string::npos,
                source_, ": model.merges[", rank, "] = \"", text, "\" is not two tokens separated by one space");
        left = text.substr(0, space);
        right = text.substr(space + 1);
      } else {
        require(merge.is_array() && merge.size() == 2 && merge[0].is_string() && merge[1].is_string(), source_,
                ": model.merges[", rank, "] must be \"a b\" or [\"a\", \"b\"]");
        left = merge[0].get<std::string>();
        right = merge[1].get<std::string>();
      }
      const auto find = [&](const std::string& spelling) {
        const auto it = ids_.find(spelling);
        require(it != ids_.end(), source_, ": model.merges[", rank, "]: token \"", spelling, "\" is not in model.vocab");
        return it->second;
      };
      const TokenId a = find(left), b = find(right), merged = find(left + right);
      merges_.insert(a, b, {rank, merged});  // a repeated pair keeps its first (lowest) rank
      ++rank;
    }
  }

  void load_added_tokens(const Json& root) {
    std::vector<AddedToken> added;
    if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
      const Json& list = root["added_tokens"];
      require(list.is_array(), source_, ": added_tokens must be an array");
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string path = "added_tokens[" + std::to_string(i) + "]";
        const Json& entry = list[i];
        require(entry.is_object(), source_, ": ", path, " must be an object");
        const Json& id = field(entry, "id", path + ".id");
        require(id.is_number_integer(), source_, ": ", path, ".id must be an integer");
        AddedToken token;
        token.content = string_field(entry, "content", path + ".content");
        require(!token.content.empty(), source_, ": ", path, ".content is empty");
        require(utf8::is_valid(token.content), source_, ": ", path, ".content is not valid UTF-8");
        token.special = bool_field(entry, "special", path + ".special", false);
        token.lstrip = bool_field(entry, "lstrip", path + ".lstrip", false);
        token.rstrip = bool_field(entry, "rstrip", path + ".rstrip", false);
        require(!bool_field(entry, "single_word", path + ".single_word", false), source_, ": ", path,
                ".single_word is not supported");
        if (bool_field(entry, "normalized", path + ".normalized", false)) {
          // Added tokens are matched in the raw text; that equals matching after normalization
          // only for contents the normalizer leaves alone.
          std::string storage;
          require(normalize_nfc(token.content, storage) == token.content, source_, ": ", path,
                  ".normalized is true for content that NFC changes; not supported");
        }
        const std::int64_t raw_id = id.get<std::int64_t>();
        set_token(raw_id, token.content, token.content, token.special ? Kind::special : Kind::added,
                  path + " (\"" + token.content + "\")");
        token.id = static_cast<TokenId>(raw_id);
        ids_[token.content] = token.id;
        added.push_back(std::move(token));
      }
    }
    added_ = AddedTokenMatcher(std::move(added));
  }

  Normalization load_normalizer(const Json& normalizer) const {
    if (normalizer.is_null()) return Normalization::none;
    const std::string type = string_field(normalizer, "type", "normalizer.type");
    if (type == "NFC") return Normalization::nfc;
    if (type == "Sequence") {
      const Json& list = field(normalizer, "normalizers", "normalizer.normalizers");
      require(list.is_array() && list.size() <= 1, source_, ": normalizer.normalizers: only [] or [NFC] is supported");
      return list.empty() ? Normalization::none : load_normalizer(list[0]);
    }
    fail(source_, ": normalizer.type ", type, " is not supported (only NFC)");
  }

  // The split pattern, from either Sequence[Split(regex, Isolated), ByteLevel(use_regex=false)]
  // (Qwen) or a lone ByteLevel(use_regex=true) (GPT-2). Runs before the rest of the constructor
  // because the Pretokenizer member is built from it.
  std::string load_pattern(const Json& root) const {
    require(root.is_object() && root.contains("pre_tokenizer") && root["pre_tokenizer"].is_object(), source_,
            ": field pre_tokenizer is missing or not an object");
    const Json& pre = root["pre_tokenizer"];
    const auto check_byte_level = [&](const Json& level, std::string_view path, bool want_regex) {
      require(!bool_field(level, "add_prefix_space", std::string(path) + ".add_prefix_space", false), source_, ": ",
              path, ".add_prefix_space is not supported");
      require(bool_field(level, "use_regex", std::string(path) + ".use_regex", true) == want_regex, source_, ": ",
              path, ".use_regex must be ", want_regex ? "true" : "false", " here");
    };
    const std::string type = string_field(pre, "type", "pre_tokenizer.type");
    if (type == "ByteLevel") {
      check_byte_level(pre, "pre_tokenizer", true);
      return std::string(gpt2_split_pattern);
    }
    require(type == "Sequence", source_, ": pre_tokenizer.type ", type, " is not supported (Sequence or ByteLevel)");
    const Json& list = field(pre, "pretokenizers", "pre_tokenizer.pretokenizers");
    require(list.is_array() && list.size() == 2, source_,
            ": pre_tokenizer.pretokenizers must be [Split, ByteLevel]");
    const Json& split = list[0];
    require(string_field(split, "type", "pre_tokenizer.pretokenizers[0].type") == "Split", source_,
            ": pre_tokenizer.pretokenizers[0].type must be Split");
    require(string_field(split, "behavior", "pre_tokenizer.pretokenizers[0].behavior") == "Isolated", source_,
            ": pre_tokenizer.pretokenizers[0].behavior must be Isolated");
    require(!bool_field(split, "invert", "pre_tokenizer.pretokenizers[0].invert", false), source_,
            ": pre_tokenizer.pretokenizers[0].invert is not supported");
    const Json& pattern = field(split, "pattern", "pre_tokenizer.pretokenizers[0].pattern");
    std::string regex;
    if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()) {
      regex = pattern["Regex"].get<std::string>();
    } else if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string()) {
      regex = regex_literal(pattern["String"].get_ref<const std::string&>());
    } else {
      fail(source_, ": pre_tokenizer.pretokenizers[0].pattern must be {\"Regex\": ...} or {\"String\": ...}");
    }
    require(string_field(list[1], "type", "pre_tokenizer.pretokenizers[1].type") == "ByteLevel", source_,
            ": pre_tokenizer.pretokenizers[1].type must be ByteLevel");
    check_byte_level(list[1], "pre_tokenizer.pretokenizers[1]", false);
    return regex;
  }

  Pretokenizer make_pretokenizer(const Json& root) const {
    const std::string pattern = load_pattern(root);
    try {
      return Pretokenizer(pattern);
    } catch (const error& e) {
      fail(source_, ": pre_tokenizer: ", e.what());
    }
  }

  void encode_piece(std::string_view piece, EncodeState& state, std::vector<TokenId>& out) const {
    if (piece.size() == 1) {
      out.push_back(byte_ids_[static_cast<unsigned char>(piece[0])]);
      return;
    }
    const bool cacheable = piece.size() <= EncodeState::max_cached_piece_bytes;
    if (cacheable) {
      if (const auto it = state.cache.find(piece); it != state.cache.end()) {
        const auto first = state.cached_ids.begin() + it->second.offset;
        out.insert(out.end(), first, first + it->second.length);
        return;
      }
    }
    const std::size_t start = out.size();
    const std::optional<TokenId> whole = ignore_merges_ ? token_id(byte_level::encode(piece)) : std::nullopt;
    if (whole && kinds_[*whole] == Kind::bpe) {
      out.push_back(*whole);
    } else {
      bpe_merge(piece, byte_ids_, merges_, state.bpe, out);
    }
    if (!cacheable) return;
    if (state.cache.size() >= EncodeState::max_cached_pieces) {
      state.cache.clear();
      state.cached_ids.clear();
    }
    const auto offset = static_cast<std::uint32_t>(state.cached_ids.size());
    state.cached_ids.insert(state.cached_ids.end(), out.begin() + static_cast<std::ptrdiff_t>(start), out.end());
    state.cache.emplace(std::string(piece), EncodeState::Span{offset, static_cast<std::uint32_t>(out.size() - start)});
  }

  std::string source_;
  std::int64_t id_bound_ = 0;  ///< every id lies in [0, id_bound_)
  Pretokenizer pretokenizer_;
  Normalization normalization_ = Normalization::none;
  bool ignore_merges_ = false;
  std::vector<std::string> tokens_;  // by id: vocabulary spelling
  std::vector<std::string> bytes_;   // by id: raw bytes
  std::vector<Kind> kinds_;          // by id
  std::unordered_map<std::string, TokenId> ids_;
  std::array<TokenId, 256> byte_ids_{};
  MergeTable merges_;
  AddedTokenMatcher added_;
};

}  // namespace causalqwen
