#pragma once
// The pre-tokenizer: a regular expression splits normalized text into pieces ("words") that BPE
// then encodes one by one; behaviour "Isolated" of Hugging Face's Split, i.e. both the matches and
// any text between them become pieces. PCRE2 runs the pattern in UTF + UCP mode and JIT-compiled
// where the platform allows.
//
// \s and \S: Hugging Face tokenizers (Oniguruma) read \s as the Unicode White_Space property. PCRE2
// in UCP mode also counts U+180E, and JavaScript's \s (transformers.js) counts U+FEFF but not U+0085.
// The pattern is therefore compiled with every \s / \S outside a \Q..\E rewritten to
// \p{White_Space} / \P{White_Space}, which is exactly the Hugging Face meaning.
// \p{L} and \p{N} follow the Unicode version of the PCRE2 build (Unicode 14 for PCRE2 10.42 on
// Debian 12): code points assigned later are neither, which can split differently from a
// reference built on newer Unicode data.
//
// Thread safety: a Pretokenizer is immutable after construction; split() may run concurrently.
// Each split() call uses its own PCRE2 match data.

#include <causalqwen/core/error.hpp>

#include <pcre2.h>

#include <cstddef>
#include <memory>
#include <cctype>
#include <string>
#include <string_view>

namespace causalqwen {

/// The split pattern of Qwen2, Qwen2.5 and Qwen3.
inline constexpr std::string_view qwen2_split_pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

/// The split pattern of GPT-2's ByteLevel pre-tokenizer (use_regex: true).
inline constexpr std::string_view gpt2_split_pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

/// A PCRE2 pattern matching `text` literally. Every ASCII character other than a letter or digit
/// is escaped (a backslash before a non-alphanumeric is always literal in PCRE2); \Q...\E quoting
/// would end at the first \E inside the text and turn the rest back into a regex.
inline std::string regex_literal(std::string_view text) {
  std::string out;
  out.reserve(2 * text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x80 && !std::isalnum(u)) out += '\\';
    out += c;
  }
  return out;
}

namespace detail {
inline std::string with_unicode_white_space(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char next = pattern[i + 1];
    if (next == 's') {
      out += R"(\p{White_Space})";
    } else if (next == 'S') {
      out += R"(\P{White_Space})";
    } else if (next == 'Q') {  // quoted literal: copy through \E untouched
      const std::size_t end = pattern.find("\\E", i + 2);
      const std::size_t stop = end == std::string_view::npos ? pattern.size() : end + 2;
      out.append(pattern.substr(i, stop - i));
      i = stop - 1;
      continue;
    } else {
      out += '\\';
      out += next;
    }
    ++i;
  }
  return out;
}

struct Pcre2CodeFree {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct Pcre2MatchDataFree {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};
}  // namespace detail

class Pretokenizer {
 public:
  /// Compiles `pattern` (Hugging Face / Oniguruma syntax as used by byte-level BPE tokenizers).
  /// A pattern PCRE2 rejects -> causalqwen::error quoting PCRE2's message and the offset.
  explicit Pretokenizer(std::string_view pattern) : pattern_(pattern) {
    const std::string translated = detail::with_unicode_white_space(pattern);
    int code = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                         PCRE2_UTF | PCRE2_UCP, &code, &offset, nullptr);
    if (compiled == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(code, message, sizeof message);
      fail("pre-tokenizer pattern does not compile (", reinterpret_cast<const char*>(message), " at offset ", offset,
           "): ", pattern);
    }
    code_.reset(compiled);
    // JIT is an optimisation only: where it is unavailable the interpreter gives the same matches.
    jit_ = pcre2_jit_compile(compiled, PCRE2_JIT_COMPLETE) == 0;
  }

  const std::string& pattern() const { return pattern_; }
  bool jit() const { return jit_; }

  /// Calls emit(std::string_view piece) for each consecutive piece of valid UTF-8 `text`; the
  /// pieces concatenate to `text`.
  template <class Emit>
  void split(std::string_view text, Emit&& emit) const {
    if (text.empty()) return;
    const std::unique_ptr<pcre2_match_data, detail::Pcre2MatchDataFree> match(
        pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    if (!match) fail("out of memory creating PCRE2 match data");
    const auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
    std::size_t pos = 0;
    while (pos < text.size()) {
      // The text was validated before it got here; NO_UTF_CHECK spares PCRE2 re-checking it at
      // every call, which would make splitting quadratic.
      const int rc = jit_ ? pcre2_jit_match(code_.get(), subject, text.size(), pos, PCRE2_NO_UTF_CHECK, match.get(), nullptr)
                          : pcre2_match(code_.get(), subject, text.size(), pos, PCRE2_NO_UTF_CHECK, match.get(), nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(rc, message, sizeof message);
        fail("pre-tokenizer match failed at byte ", pos, ": ", reinterpret_cast<const char*>(message));
      }
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.get());
      std::size_t begin = ovector[0], end = ovector[1];
      if (begin > pos) emit(text.substr(pos, begin - pos));  // "Isolated": the gap is a piece too
      if (end == begin) {  // an empty match: take one character so the scan always advances
        end = begin + 1;
        while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
      }
      emit(text.substr(begin, end - begin));
      pos = end;
    }
    if (pos < text.size()) emit(text.substr(pos));
  }

 private:
  std::string pattern_;
  std::unique_ptr<pcre2_code, detail::Pcre2CodeFree> code_;
  bool jit_ = false;
};

}  // namespace causalqwen
