#pragma once
// NumPy .npy files of little-endian float32/float64 arrays (what a Python backbone dump produces).
// The header dictionary is parsed by a small strict hand-written parser, not a regex or a general
// Python-literal reader: the header length and the rank are bounded, each extent is parsed with
// an overflow check, and the element count times the word size must equal the data section, so a
// hostile header ends in a causalqwen::error naming the file and the field in bounded time and
// stack, before anything is allocated from it.

#include <causalqwen/core/atomic_file.hpp>
#include <causalqwen/core/checked.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/file.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace causalqwen::io {

/// Headers longer than this are refused (numpy writes ~100 bytes; it pads to 64-byte alignment).
inline constexpr std::size_t kNpyMaxHeaderBytes = 65536;
/// Arrays of higher rank are refused (numpy's own limit is 64).
inline constexpr std::size_t kNpyMaxRank = 64;

struct NpyArray {
  std::string descr;               ///< "<f4" or "<f8"
  bool fortran_order = false;      ///< column-major element order
  std::vector<std::uint64_t> shape;
  std::size_t data_offset = 0;     ///< where the elements start in the file's bytes
  std::size_t word = 0;            ///< bytes per element
  std::uint64_t elements = 0;      ///< product of the shape
};

namespace detail {

/// A cursor over the header dictionary; every failure names the file and what was expected.
class NpyHeaderParser {
 public:
  NpyHeaderParser(std::string_view text, const std::string& where) : text_(text), where_(where) {}

  void skip_spaces() {
    while (at_ < text_.size() && text_[at_] == ' ') ++at_;
  }
  bool accept(char c) {
    skip_spaces();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void expect(char c, std::string_view field) {
    if (!accept(c)) bad(field, std::string("expected '") + c + "'");
  }
  std::string quoted(std::string_view field) {
    expect('\'', field);
    const std::size_t end = text_.find('\'', at_);
    if (end == std::string_view::npos || end - at_ > 32) bad(field, "unterminated or overlong string");
    std::string out(text_.substr(at_, end - at_));
    at_ = end + 1;
    return out;
  }
  bool boolean(std::string_view field) {
    skip_spaces();
    for (const auto& [word, value] : {std::pair<std::string_view, bool>{"True", true}, {"False", false}}) {
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    }
    bad(field, "expected True or False");
  }
  std::uint64_t extent() {
    skip_spaces();
    const std::size_t start = at_;
    std::uint64_t value = 0;
    while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
      const auto times_ten = checked_multiply(value, 10);
      const std::uint64_t digit = static_cast<std::uint64_t>(text_[at_] - '0');
      if (!times_ten || *times_ten > std::numeric_limits<std::uint64_t>::max() - digit) bad("shape", "extent does not fit in 64 bits");
      value = *times_ten + digit;
      ++at_;
    }
    if (at_ == start) bad("shape", "expected an extent");
    return value;
  }
  /// "(a, b, ...)" with an optional trailing comma; "()" is a scalar.
  std::vector<std::uint64_t> shape() {
    expect('(', "shape");
    std::vector<std::uint64_t> out;
    while (!accept(')')) {
      if (out.size() == kNpyMaxRank) bad("shape", "more than ", kNpyMaxRank, " dimensions");
      out.push_back(extent());
      if (!accept(',')) {
        expect(')', "shape");
        if (out.size() == 1) bad("shape", "a 1-D shape needs a trailing comma");
        break;
      }
    }
    return out;
  }
  bool done() {
    skip_spaces();
    return at_ == text_.size();
  }

  template <class... Parts>
  [[noreturn]] void bad(std::string_view field, const Parts&... parts) const {
    fail(where_, ": bad .npy header field '", field, "' at byte ", at_, ": ", parts...);
  }

 private:
  std::string_view text_;
  const std::string& where_;
  std::size_t at_ = 0;
};

}  // namespace detail

/// Parses the header of the .npy file held in `bytes` (`where` names it in errors) and checks
/// that the data section holds exactly the announced elements.
inline NpyArray parse_npy(std::string_view bytes, const std::string& where) {
  const auto u8 = [&](std::size_t i) { return static_cast<std::size_t>(static_cast<unsigned char>(bytes[i])); };
  require(bytes.size() >= 10 && bytes.substr(0, 6) == "\x93NUMPY", where, ": not a .npy file (bad magic)");
  const std::size_t major = u8(6);
  require(major >= 1 && major <= 3 && u8(7) == 0, where, ": unsupported .npy version ", major, ".", u8(7));
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  require(bytes.size() >= 8 + length_bytes, where, ": truncated .npy header");
  std::size_t header_length = u8(8) | (u8(9) << 8);
  if (length_bytes == 4) header_length |= (u8(10) << 16) | (u8(11) << 24);
  require(header_length > 0 && header_length <= kNpyMaxHeaderBytes, where, ": .npy header length ", header_length,
          " outside [1, ", kNpyMaxHeaderBytes, "]");
  NpyArray array;
  array.data_offset = 8 + length_bytes + header_length;
  require(bytes.size() >= array.data_offset, where, ": truncated .npy header (", header_length,
          " header bytes announced)");
  std::string_view header = bytes.substr(8 + length_bytes, header_length);
  require(header.back() == '\n', where, ": .npy header does not end in a newline");
  header.remove_suffix(1);

  detail::NpyHeaderParser p(header, where);
  p.expect('{', "dictionary");
  bool seen_descr = false, seen_order = false, seen_shape = false;
  while (!p.accept('}')) {
    const std::string key = p.quoted("key");
    p.expect(':', key);
    if (key == "descr" && !seen_descr) {
      array.descr = p.quoted("descr");
      seen_descr = true;
    } else if (key == "fortran_order" && !seen_order) {
      array.fortran_order = p.boolean("fortran_order");
      seen_order = true;
    } else if (key == "shape" && !seen_shape) {
      array.shape = p.shape();
      seen_shape = true;
    } else {
      p.bad(key, "unknown or repeated key");
    }
    if (!p.accept(',')) {
      p.expect('}', "dictionary");
      break;
    }
  }
  require(p.done(), where, ": .npy header has text after its dictionary");
  require(seen_descr && seen_order && seen_shape, where, ": .npy header needs 'descr', 'fortran_order' and 'shape'");
  require(array.descr == "<f8" || array.descr == "<f4", where,
          ": .npy dtype must be little-endian float32 or float64, got '", array.descr, "'");
  array.word = array.descr == "<f8" ? 8 : 4;
  const auto elements = checked_product(array.shape);
  const auto data_bytes = elements ? checked_multiply(*elements, array.word) : std::nullopt;
  const std::size_t available = bytes.size() - array.data_offset;
  require(data_bytes.has_value(), where, ": .npy shape has more elements than 64 bits can count");
  require(*data_bytes == available, where, ": .npy data section has ", available, " bytes, the shape needs ",
          *data_bytes, " (truncated or padded file)");
  array.elements = *elements;
  return array;
}

/// Element i (in file order) of a parsed array, widened or narrowed to T.
template <Real T>
T npy_element(std::string_view bytes, const NpyArray& array, std::size_t i) {
  static_assert(std::endian::native == std::endian::little, "npy reading assumes a little-endian host");
  const char* at = bytes.data() + array.data_offset + i * array.word;
  if (array.word == 8) {
    double v;
    std::memcpy(&v, at, 8);
    return static_cast<T>(v);
  }
  float v;
  std::memcpy(&v, at, 4);
  return static_cast<T>(v);
}

/// Writes a C-order array (float64 for double, float32 for float) atomically.
template <Real T>
  requires std::is_same_v<T, float> || std::is_same_v<T, double>
void save_npy(const std::filesystem::path& file, std::span<const T> data, std::span<const std::uint64_t> shape) {
  static_assert(std::endian::native == std::endian::little, "npy writing assumes a little-endian host");
  const auto elements = checked_product(shape);
  require(elements && *elements == data.size(), file.string(), ": save_npy: the shape does not match ", data.size(),
          " elements");
  std::string header = std::string("{'descr': '") + (sizeof(T) == 8 ? "<f8" : "<f4") +
                       "', 'fortran_order': False, 'shape': (";
  for (std::size_t i = 0; i < shape.size(); ++i) header += (i ? ", " : "") + std::to_string(shape[i]);
  header += shape.size() == 1 ? ",), }" : "), }";  // Python's one-element tuple needs its comma
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  require(header.size() <= 0xffff, file.string(), ": save_npy: header too long");
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char*>(data.data()), data.size() * sizeof(T));
  write_file_atomically(file, out);
}

}  // namespace causalqwen::io
