#pragma once
// Unicode normalization (NFC) through utf8proc, the normalizer of the Qwen tokenizers. Runs of
// code points that are NFC-stable on their own and never combine with a neighbour before them
// (ASCII, CJK ideographs, kana, CJK and fullwidth punctuation, ...) are copied as they are; only the
// stretches around other code points go through utf8proc, so mostly-ASCII or CJK text costs
// little more than a scan.

#include <causalqwen/core/error.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace causalqwen {

enum class Normalization { none, nfc };

namespace detail {
// Code points that are NFC_Quick_Check=Yes, have canonical combining class 0 and are never the
// second part of a canonical composition. Text can be cut before any of them and normalized piece
// by piece, and a run of them is already in NFC.
constexpr bool nfc_inert(char32_t cp) {
  return cp < 0x300                         // Latin-1 and Latin Extended-A/B, before the combining marks
         || (cp >= 0x2010 && cp <= 0x2027)  // dashes, quotes, bullets, ellipsis (not the 2000/2001 singletons)
         || (cp >= 0x3000 && cp <= 0x3029)  // CJK punctuation (302A.. are combining)
         || (cp >= 0x3041 && cp <= 0x3096)  // hiragana (the voicing marks 3099/309A excluded)
         || (cp >= 0x30A1 && cp <= 0x30FA)  // katakana
         || (cp >= 0x4E00 && cp <= 0x9FFF)  // CJK unified ideographs
         || (cp >= 0xFF01 && cp <= 0xFF5E); // fullwidth ASCII
}

inline void append_nfc(std::string_view text, std::string& out) {
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) fail("NFC normalization failed: ", utf8proc_errmsg(length));
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  out.append(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(length));
}
}  // namespace detail

/// NFC of valid UTF-8 `text` (embedded NULs allowed). Returns a view of `text` when it is
/// already normalized, else of `storage`.
inline std::string_view normalize_nfc(std::string_view text, std::string& storage) {
  // Positions: `copied` = text before it is in `storage` (or, while nothing needed normalizing,
  // untouched); `last_inert` = start of the latest inert code point, a safe place to cut.
  std::size_t copied = 0, last_inert = 0, pos = 0;
  bool changed = false;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      last_inert = pos++;
      continue;
    }
    std::size_t length = utf8::sequence_length(text, pos);
    if (length == 0) fail("NFC normalization needs valid UTF-8 (byte offset ", pos, ")");
    if (detail::nfc_inert(utf8::decode_at(text, pos, length))) {
      last_inert = pos;
      pos += length;
      continue;
    }
    // A stretch that may change: from the last inert code point (which may compose with what
    // follows) up to the next inert one.
    const std::size_t begin = std::max(copied, last_inert);
    std::size_t end = pos + length;
    while (end < text.size()) {
      length = utf8::sequence_length(text, end);
      if (length == 0) fail("NFC normalization needs valid UTF-8 (byte offset ", end, ")");
      if (detail::nfc_inert(utf8::decode_at(text, end, length))) break;
      end += length;
    }
    if (!changed) {
      storage.clear();
      changed = true;
    }
    storage.append(text.substr(copied, begin - copied));
    detail::append_nfc(text.substr(begin, end - begin), storage);
    copied = last_inert = pos = end;
  }
  if (!changed) return text;
  storage.append(text.substr(copied));
  return storage;
}

inline std::string_view normalize(std::string_view text, Normalization form, std::string& storage) {
  return form == Normalization::nfc ? normalize_nfc(text, storage) : text;
}

}  // namespace causalqwen
