#pragma once
// Numbers as <NUM>: each number written in a text becomes one <NUM> token whose value is kept
// aside; the rest of the text is tokenized normally. The causal model predicts the token <NUM>
// like any other class and the value by regression.
//
// Which spellings are numbers (ASCII digits only):
//
//   number   := [sign] mantissa [exponent]
//   mantissa := digits ["." digits]  |  d{1,3} ("," ddd)+ ["." digits]     (thousands groups of exactly 3)
//   exponent := ("e" | "E") ["+" | "-"] digits
//   sign     := "-" | "+", directly before the first digit, and only when the character before the
//               sign is not an ASCII letter or digit, "_", ".", ")" or "]"  ("x -5" has a sign,
//               "5-3" and "f(x)-1" do not)
//
// and the whole spelling must stand apart from its neighbours:
//   - not preceded by an ASCII letter, digit, "_" or "."; not preceded by "-", "/" or ":" that
//     itself follows a digit;
//   - not followed by an ASCII letter, digit or "_"; not followed by "." or "-", "/", ":" that is
//     followed by a digit.
// Any other character (space, punctuation, CJK, ...) is a fine neighbour, so "年龄25岁" holds 25,
// "50%" holds 50, "$1,299.99" holds 1299.99 and "-3.5e2" is -350.
//
// Deliberately NOT numbers (left as ordinary text): version strings and dotted runs ("1.2.3",
// "v2.0.1"), dates, times, ranges, ratios and fractions joined by "-", "/" or ":" ("2024-01-15",
// "10:30", "10-20", "3/4"), numbers glued to letters (units "5kg", "8k", ordinals "1st", hex "0x1F",
// identifiers "w048", "H2O"), a leading-dot decimal (".5"), non-ASCII digits ("٣", "５"), the
// Unicode minus sign (U+2212), and spellings whose value overflows or underflows a double. A
// comma that does not start a valid group of three digits is punctuation: "[1,2,3]" holds three
// numbers, but "[1,234]" holds 1234. The value keeps no spelling: "007" and "7.0" both give 7,
// "1,000" gives 1000.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/token.hpp>
#include <causalqwen/tokenizer/tokenizer.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace causalqwen {

/// A number found in a text: bytes [begin, end) and its value.
struct NumberSpan {
  std::size_t begin = 0, end = 0;
  double value = 0;
  friend bool operator==(const NumberSpan&, const NumberSpan&) = default;
};

namespace detail {
constexpr bool ascii_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool ascii_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool word_char(char c) { return ascii_digit(c) || ascii_letter(c) || c == '_'; }
constexpr bool joiner(char c) { return c == '-' || c == '/' || c == ':'; }

inline std::size_t skip_digits(std::string_view text, std::size_t pos) {
  while (pos < text.size() && ascii_digit(text[pos])) ++pos;
  return pos;
}

// End of a mantissa starting at a digit `pos`, trying thousands groups first; `grouped` tells
// which form matched.
inline std::size_t mantissa_end(std::string_view text, std::size_t pos, bool& grouped) {
  const std::size_t digits_end = skip_digits(text, pos);
  std::size_t end = digits_end;
  grouped = false;
  if (digits_end - pos <= 3) {
    std::size_t group = digits_end;
    while (group + 4 <= text.size() && text[group] == ',' && skip_digits(text, group + 1) == group + 4) group += 4;
    if (group > digits_end) {
      grouped = true;
      end = group;
    }
  }
  if (end + 1 < text.size() && text[end] == '.' && ascii_digit(text[end + 1])) end = skip_digits(text, end + 1);
  return end;
}

// Parses [begin, end) of a validated spelling; nullopt-like NaN when the double cannot hold it.
inline double parse_value(std::string_view spelling) {
  std::string plain;
  plain.reserve(spelling.size());
  for (const char c : spelling)
    if (c != ',' && c != '+') plain += c;  // from_chars takes no '+' and no separators
  double value = 0;
  const auto [ptr, ec] = std::from_chars(plain.data(), plain.data() + plain.size(), value);
  if (ec != std::errc() || ptr != plain.data() + plain.size() || !std::isfinite(value))
    return std::numeric_limits<double>::quiet_NaN();
  return value;
}
}  // namespace detail

/// The numbers of `text` by the rules above, in order and non-overlapping.
inline std::vector<NumberSpan> find_numbers(std::string_view text) {
  using namespace detail;
  std::vector<NumberSpan> found;
  const auto at = [&](std::size_t i) { return i < text.size() ? text[i] : '\0'; };
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (!ascii_digit(text[pos])) {
      ++pos;
      continue;
    }
    std::size_t begin = pos;
    // A sign directly before the digit, itself not after a word character or closing bracket.
    if (pos > 0 && (text[pos - 1] == '-' || text[pos - 1] == '+')) {
      const char before = pos >= 2 ? text[pos - 2] : '\0';
      if (!(word_char(before) || before == '.' || before == ')' || before == ']')) begin = pos - 1;
    }
    const char left = begin > 0 ? text[begin - 1] : '\0';
    const bool left_ok = !(word_char(left) || left == '.') && !(joiner(left) && begin >= 2 && ascii_digit(text[begin - 2]));
    bool grouped = false;
    std::size_t end = mantissa_end(text, pos, grouped);
    if ((at(end) == 'e' || at(end) == 'E')) {
      std::size_t exponent = end + 1;
      if (at(exponent) == '+' || at(exponent) == '-') ++exponent;
      if (ascii_digit(at(exponent))) end = skip_digits(text, exponent);
    }
    const char right = at(end);
    const bool right_ok = !word_char(right) && !((right == '.' || joiner(right)) && ascii_digit(at(end + 1)));
    if (left_ok && right_ok) {
      const double value = parse_value(text.substr(begin, end - begin));
      if (!std::isnan(value)) found.push_back({begin, end, value});
    }
    // Rejected or not, the digits up to `end` are settled; a rejected run's remaining digits are
    // rejected again by the left-neighbour rule.
    pos = left_ok && right_ok ? end : skip_digits(text, pos);
  }
  return found;
}

/// Token ids of a text and, beside them, each number's value at its <NUM> (or first spelled token),
/// NaN elsewhere.
struct NumberedText {
  std::vector<TokenId> ids;
  std::vector<double> values;
};

/// `text` with every number cut out: what a vocabulary is learned from, since the numbers of a
/// text become <NUM> and never reach the BPE merges.
inline std::string without_numbers(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t done = 0;
  for (const NumberSpan& n : find_numbers(text)) {
    out.append(text.substr(done, n.begin - done));
    done = n.end;
  }
  out.append(text.substr(done));
  return out;
}

/// The id <NUM> gets: the first id that the vocabulary and the added tokens leave free (151665
/// for Qwen2.5's tokenizer.json, 151669 for Qwen3's).
inline TokenId num_token_id(const Tokenizer& tokenizer) { return static_cast<TokenId>(tokenizer.id_limit()); }

/// How an encoded text carries its numbers.
enum class NumberSpelling {
  num_token,  ///< each number is the one token <NUM>, its value beside it (the causal model's input)
  digits,     ///< each number is spelled in ordinary tokens, as a plain language model reads it
};

/// Encodes `text` with each number (see find_numbers) as the single token `num_id`, or, with
/// NumberSpelling::digits, in the tokens of its spelling (`num_id` is then not used); either way the
/// number's value sits beside its first token. Added tokens are matched first, as in
/// Tokenizer::encode, so numbers are only looked for in ordinary text.
inline NumberedText encode_with_numbers(const Tokenizer& tokenizer, std::string_view text, TokenId num_id,
                                        const EncodeOptions& options = {},
                                        NumberSpelling spelling = NumberSpelling::num_token) {
  const bool as_num = spelling == NumberSpelling::num_token;
  require(!as_num || (num_id >= 0 && !tokenizer.contains(num_id)), "<NUM> id ", num_id, " is already a token of ",
          tokenizer.source());
  std::string repaired;
  const std::string_view valid = utf8::sanitize(text, options.invalid_utf8, repaired, "text to encode");
  NumberedText out;
  EncodeState state;
  const auto pad_values = [&] { out.values.resize(out.ids.size(), std::numeric_limits<double>::quiet_NaN()); };
  tokenizer.for_each_segment(
      valid, options.parse_special,
      [&](std::string_view run) {
        std::size_t done = 0;
        for (const NumberSpan& number : find_numbers(run)) {
          if (number.begin > done) tokenizer.encode_ordinary(run.substr(done, number.begin - done), state, out.ids);
          pad_values();
          const std::size_t first = out.ids.size();
          if (as_num) out.ids.push_back(num_id);
          else tokenizer.encode_ordinary(run.substr(number.begin, number.end - number.begin), state, out.ids);
          pad_values();
          if (out.ids.size() > first) out.values[first] = number.value;
          done = number.end;
        }
        if (done < run.size()) tokenizer.encode_ordinary(run.substr(done), state, out.ids);
        pad_values();
      },
      [&](const AddedToken& token) {
        out.ids.push_back(token.id);
        pad_values();
      });
  return out;
}

/// Shortest decimal spelling that reads back as exactly `value` ("350", "1299.99", "1e+20").
inline std::string format_number(double value) {
  require(std::isfinite(value), "cannot format the non-finite number ", value);
  std::array<char, 32> buffer{};
  const auto [ptr, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  require(ec == std::errc(), "cannot format number ", value);
  return std::string(buffer.data(), ptr);
}

/// Text of `ids`, writing the value of each <NUM> (format_number). `values` runs beside `ids`.
inline std::string decode_with_numbers(const Tokenizer& tokenizer, std::span<const TokenId> ids,
                                       std::span<const double> values, TokenId num_id, const DecodeOptions& options = {}) {
  require(ids.size() == values.size(), "decode_with_numbers: ", ids.size(), " ids but ", values.size(), " values");
  std::string out;
  std::size_t run = 0;  // start of the current run of ordinary tokens
  for (std::size_t i = 0; i <= ids.size(); ++i) {
    if (i < ids.size() && ids[i] != num_id) continue;
    out += tokenizer.decode(ids.subspan(run, i - run), options);
    if (i < ids.size()) {
      require(!std::isnan(values[i]), "decode_with_numbers: <NUM> at position ", i, " has no value");
      out += format_number(values[i]);
    }
    run = i + 1;
  }
  return out;
}

}  // namespace causalqwen
