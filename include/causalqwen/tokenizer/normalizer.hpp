#pragma once
// Unicode normalization (NFC) through utf8proc, the normalizer of the Qwen tokenizers. Text made
// only of code points that are NFC-stable on their own and never combine with a neighbour is
// returned untouched without calling utf8proc, which keeps plain ASCII and CJK text fast.

#include <causalqwen/core/error.hpp>
#include <causalqwen/tokenizer/utf8.hpp>

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace causalqwen {

enum class Normalization { none, nfc };

namespace detail {
// Code points that are NFC_Quick_Check=Yes, have canonical combining class 0 and are never the
// second part of a canonical composition: a string of only these is already in NFC.
constexpr bool nfc_inert(char32_t cp) {
  return cp < 0x300                        // Latin-1 and Latin Extended-A/B, before the combining marks
         || (cp >= 0x3041 && cp <= 0x3096)  // hiragana (the voicing marks 3099/309A excluded)
         || (cp >= 0x30A1 && cp <= 0x30FA)  // katakana
         || (cp >= 0x4E00 && cp <= 0x9FFF)  // CJK unified ideographs
         || (cp >= 0xFF01 && cp <= 0xFF5E); // fullwidth ASCII
}
}  // namespace detail

/// True when `text` (valid UTF-8) certainly equals its NFC form without normalizing it.
inline bool obviously_nfc(std::string_view text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) { ++pos; continue; }
    const std::size_t length = utf8::sequence_length(text, pos);
    if (length == 0 || !detail::nfc_inert(utf8::decode_at(text, pos, length))) return false;
    pos += length;
  }
  return true;
}

/// NFC of valid UTF-8 `text` (embedded NULs allowed). Returns a view of `text` when it is
/// already normalized, else of `storage`.
inline std::string_view normalize_nfc(std::string_view text, std::string& storage) {
  if (obviously_nfc(text)) return text;
  utf8proc_uint8_t* mapped = nullptr;
  const utf8proc_ssize_t length =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), static_cast<utf8proc_ssize_t>(text.size()),
                   &mapped, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (length < 0) fail("NFC normalization failed: ", utf8proc_errmsg(length));
  const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owner(mapped, &std::free);
  storage.assign(reinterpret_cast<const char*>(mapped), static_cast<std::size_t>(length));
  return storage;
}

inline std::string_view normalize(std::string_view text, Normalization form, std::string& storage) {
  return form == Normalization::nfc ? normalize_nfc(text, storage) : text;
}

}  // namespace causalqwen
