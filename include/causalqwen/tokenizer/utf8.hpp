#pragma once
// UTF-8 validation at the tokenizer's entrance. Everything downstream (the normalizer, the
// pre-tokenizer's regex, number extraction) runs on text proven valid here, so PCRE2 and utf8proc
// never see malformed input and no later stage needs its own checks.

#include <causalqwen/core/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace causalqwen::utf8 {

/// What to do with bytes that are not well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF).
enum class Policy {
  reject,   ///< throw causalqwen::error naming the byte offset
  replace,  ///< substitute U+FFFD for each maximal ill-formed subpart (the Unicode "best practice")
};

inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

/// Length of the well-formed sequence starting at text[pos], or 0 when it is ill-formed. On 0,
/// `*bad_length` receives the length of the maximal ill-formed subpart (at least 1).
inline std::size_t sequence_length(std::string_view text, std::size_t pos, std::size_t* bad_length = nullptr) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  const std::size_t left = text.size() - pos;
  if (lead < 0x80) return 1;
  std::size_t need = 0;
  unsigned char low = 0x80, high = 0xBF;  // the valid range of the second byte depends on the lead
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  }
  std::size_t good = 1;
  if (need != 0) {
    for (std::size_t i = 1; i < need && i < left; ++i) {
      const unsigned char b = byte(pos + i);
      const bool ok = i == 1 ? (b >= low && b <= high) : (b >= 0x80 && b <= 0xBF);
      if (!ok) break;
      ++good;
    }
    if (good == need) return need;
  }
  if (bad_length != nullptr) *bad_length = good;
  return 0;
}

/// Decodes the well-formed sequence of `length` bytes at text[pos].
inline char32_t decode_at(std::string_view text, std::size_t pos, std::size_t length) {
  const auto byte = [&](std::size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + i])); };
  switch (length) {
    case 1: return byte(0);
    case 2: return ((byte(0) & 0x1F) << 6) | (byte(1) & 0x3F);
    case 3: return ((byte(0) & 0x0F) << 12) | ((byte(1) & 0x3F) << 6) | (byte(2) & 0x3F);
    default: return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) | (byte(3) & 0x3F);
  }
}

/// Appends the UTF-8 encoding of a scalar value.
inline void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// Offset of the first ill-formed byte, or text.size() when the whole text is valid.
inline std::size_t first_invalid(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs dominate real text; skip them eight bytes at a time.
    while (pos + 8 <= text.size()) {
      std::uint64_t word = 0;
      for (std::size_t i = 0; i < 8; ++i) word |= static_cast<std::uint64_t>(static_cast<unsigned char>(text[pos + i])) << (8 * i);
      if (word & 0x8080808080808080ull) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    const std::size_t length = sequence_length(text, pos);
    if (length == 0) return pos;
    pos += length;
  }
  return text.size();
}

inline bool is_valid(std::string_view text) { return first_invalid(text) == text.size(); }

/// Applies `policy` to `text`. Returns a view of `text` itself when it is valid, otherwise (policy
/// replace) a view of `storage`, which then holds the repaired copy. `what` names the input in
/// the error message.
inline std::string_view sanitize(std::string_view text, Policy policy, std::string& storage,
                                 std::string_view what = "text") {
  std::size_t pos = first_invalid(text);
  if (pos == text.size()) return text;
  if (policy == Policy::reject) fail("invalid UTF-8 in ", what, " at byte offset ", pos);
  storage.assign(text.substr(0, pos));
  while (pos < text.size()) {
    std::size_t bad = 0;
    const std::size_t length = sequence_length(text, pos, &bad);
    if (length != 0) {
      storage.append(text.substr(pos, length));
      pos += length;
    } else {
      storage.append(replacement_character);
      pos += bad;
    }
  }
  return storage;
}

}  // namespace causalqwen::utf8
