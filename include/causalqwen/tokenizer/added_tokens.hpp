#pragma once
// Added tokens (<|endoftext|>, <|im_start|>, <tool_call>, ...) are found in the raw text before
// normalization and pre-tokenization and become single ids; the text between them is encoded
// normally. At each position the longest added token that starts there wins, scanning left to
// right (leftmost-longest, as Hugging Face's AddedVocabulary). Special tokens are matched only when
// the caller asks for it; added tokens that are not special are always matched, the same rule as
// Hugging Face's split_special_tokens option.

#include <causalqwen/core/token.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;  ///< the match swallows white space on its left
  bool rstrip = false;  ///< the match swallows white space on its right
};

namespace detail {
// Unicode White_Space (what Rust's char::is_whitespace tests for lstrip/rstrip).
constexpr bool is_white_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}
}  // namespace detail

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
    for (std::size_t i = 0; i < tokens_.size(); ++i)
      if (!tokens_[i].content.empty())
        by_first_byte_[static_cast<unsigned char>(tokens_[i].content[0])].push_back(static_cast<int>(i));
    for (auto& candidates : by_first_byte_)
      std::stable_sort(candidates.begin(), candidates.end(),
                       [&](int a, int b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
  }

  const std::vector<AddedToken>& tokens() const { return tokens_; }

  /// Splits valid UTF-8 `text`: on_text(std::string_view) for the runs between matches (never
  /// empty), on_token(const AddedToken&) for each match, in text order.
  template <class OnText, class OnToken>
  void split(std::string_view text, bool match_special, OnText&& on_text, OnToken&& on_token) const {
    std::size_t emitted = 0;  // text before this offset has been handed out
    std::size_t pos = 0;
    while (pos < text.size()) {
      const AddedToken* found = match_at(text, pos, match_special);
      if (found == nullptr) {
        ++pos;
        continue;
      }
      std::size_t begin = pos, end = pos + found->content.size();
      if (found->lstrip) begin = skip_white_space_left(text, emitted, begin);
      if (found->rstrip) end = skip_white_space_right(text, end);
      if (begin > emitted) on_text(text.substr(emitted, begin - emitted));
      on_token(*found);
      emitted = pos = end;
    }
    if (emitted < text.size()) on_text(text.substr(emitted));
  }

 private:
  const AddedToken* match_at(std::string_view text, std::size_t pos, bool match_special) const {
    for (const int index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
      const AddedToken& token = tokens_[index];
      if (token.special && !match_special) continue;
      if (text.compare(pos, token.content.size(), token.content) == 0) return &token;
    }
    return nullptr;
  }

  static std::size_t skip_white_space_left(std::string_view text, std::size_t floor, std::size_t begin) {
    while (begin > floor) {
      std::size_t start = begin - 1;
      while (start > floor && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
      const std::size_t length = utf8::sequence_length(text, start);
      if (length != begin - start || !detail::is_white_space(utf8::decode_at(text, start, length))) break;
      begin = start;
    }
    return begin;
  }

  static std::size_t skip_white_space_right(std::string_view text, std::size_t end) {
    while (end < text.size()) {
      const std::size_t length = utf8::sequence_length(text, end);
      if (length == 0 || !detail::is_white_space(utf8::decode_at(text, end, length))) break;
      end += length;
    }
    return end;
  }

  std::vector<AddedToken> tokens_;
  std::array<std::vector<int>, 256> by_first_byte_;
};

}  // namespace causalqwen
