#pragma once
// The text of a generation piece by piece, while it is generated (a server streaming tokens, a
// console printing them): every piece is final, so the pieces so far are always a prefix of the
// text that model::generate returns, and with the last one they add up to it exactly.
//
// A token may hold only part of a character, and decode repairs ill-formed bytes per run of
// ordinary tokens between numbers; so a piece holds only the complete, well-formed characters of
// the current run (the rest waits for the next token), a <NUM> closes the run with the repaired
// remainder and the number written out, and the last decision delivers whatever is left.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/model/generation.hpp>
#include <causalqwen/tokenizer/numbers.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace causalqwen::model {

template <class LM>
class TextStream {
 public:
  explicit TextStream(const LM& lm) : lm_(lm) {}

  /// The new text after the latest decision of `so_far` (a generation in progress, as
  /// GenerationOptions::on_decision sees it); `last` when that decision ends the generation.
  std::string next(const Generation& so_far, bool last) {
    require(!so_far.tokens.empty(), "TextStream: a generation without decisions");
    return last ? finish(so_far.text) : push(so_far.tokens.back(), so_far.values.back());
  }

  /// The text the next decision adds, given that decision is not the last.
  std::string push(TokenId token, double value) {
    if (token == lm_.num_token()) {
      std::string repaired;
      const std::string_view run =
          utf8::sanitize(run_bytes_, utf8::Policy::replace, repaired, "decoded token bytes");
      std::string piece = std::string(run.substr(run_sent_)) + format_number(value);
      sent_ += piece;
      run_bytes_.clear();
      run_sent_ = 0;
      return piece;
    }
    run_bytes_ += lm_.tokenizer().decode_bytes(std::span(&token, 1));
    const std::string_view unsent = std::string_view(run_bytes_).substr(run_sent_);
    const std::size_t complete = utf8::first_invalid(unsent);
    std::string piece(unsent.substr(0, complete));
    run_sent_ += complete;
    sent_ += piece;
    return piece;
  }

  /// What is left of the finished generation's `text` after the pieces already given.
  std::string finish(const std::string& text) {
    require(text.starts_with(sent_), "TextStream: the pieces given so far are not a prefix of the generation's text");
    std::string rest = text.substr(sent_.size());
    sent_ = text;
    return rest;
  }

 private:
  const LM& lm_;
  std::string sent_;       ///< every piece so far
  std::string run_bytes_;  ///< raw bytes of the current run of ordinary tokens
  std::size_t run_sent_ = 0;  ///< of which given out
};

}  // namespace causalqwen::model
