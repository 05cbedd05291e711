#pragma once
// The GPT-2 "bytes to unicode" alphabet used by byte-level BPE vocabularies (GPT-2, Qwen2,
// Qwen2.5, Qwen3): every byte maps to one printable code point so that vocabulary entries are
// printable strings. Printable Latin-1 bytes map to themselves, the 68 others to U+0100.. in byte
// order; e.g. the space 0x20 becomes 'Ġ' (U+0120) and '\n' becomes 'Ċ' (U+010A).

#include <causalqwen/tokenizer/utf8.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace causalqwen::byte_level {

namespace detail {
constexpr bool printable(unsigned byte) { return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE; }

constexpr std::array<char32_t, 256> code_points = [] {
  std::array<char32_t, 256> table{};
  char32_t next = 0x100;
  for (unsigned b = 0; b < 256; ++b) table[b] = printable(b) ? b : next++;
  return table;
}();

// Every alphabet code point lies below U+0144 (0x100 + the 68 substituted bytes); -1 = not in it.
constexpr std::array<int, 0x144> bytes = [] {
  std::array<int, 0x144> table{};
  table.fill(-1);
  for (unsigned b = 0; b < 256; ++b) table[code_points[b]] = static_cast<int>(b);
  return table;
}();
}  // namespace detail

/// The code point standing for `byte` in vocabulary strings.
constexpr char32_t byte_to_code_point(unsigned char byte) { return detail::code_points[byte]; }

/// The byte a vocabulary code point stands for, if it belongs to the alphabet.
constexpr std::optional<unsigned char> code_point_to_byte(char32_t cp) {
  if (cp >= detail::bytes.size() || detail::bytes[cp] < 0) return std::nullopt;
  return static_cast<unsigned char>(detail::bytes[cp]);
}

/// UTF-8 spelling of each byte's alphabet character (an immutable table built on first use).
inline const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> symbols;
    for (unsigned b = 0; b < 256; ++b) utf8::append(symbols[b], byte_to_code_point(static_cast<unsigned char>(b)));
    return symbols;
  }();
  return table;
}

/// Raw bytes -> alphabet string (what the vocabulary stores).
inline std::string encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += byte_symbols()[static_cast<unsigned char>(c)];
  return out;
}

/// Alphabet string -> raw bytes; nullopt when `symbols` is not valid UTF-8 over the alphabet.
inline std::optional<std::string> decode(std::string_view symbols) {
  std::string out;
  out.reserve(symbols.size());
  std::size_t pos = 0;
  while (pos < symbols.size()) {
    const std::size_t length = utf8::sequence_length(symbols, pos);
    if (length == 0) return std::nullopt;
    const auto byte = code_point_to_byte(utf8::decode_at(symbols, pos, length));
    if (!byte) return std::nullopt;
    out += static_cast<char>(*byte);
    pos += length;
  }
  return out;
}

}  // namespace causalqwen::byte_level
