#pragma once
// A GGUF file's bytes held in memory, for tests that break one field of a good file and load the
// result. Fields are found through the length-prefixed strings that precede them (a metadata
// key, a tensor name), the way the format lays them out.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>

namespace causalqwen::testing {

class GgufBytes {
 public:
  static constexpr std::size_t version_at = 4, tensor_count_at = 8, value_count_at = 16;

  explicit GgufBytes(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes.size() < 24) throw std::runtime_error("cannot read " + file.string());
  }

  /// Offset of the u64 length in front of the string `text` (a key or a tensor name).
  std::size_t length_at(std::string_view text) const {
    std::string prefixed(8, '\0');
    const std::uint64_t length = text.size();
    std::memcpy(prefixed.data(), &length, 8);
    prefixed += text;
    const std::size_t at = bytes.find(prefixed);
    if (at == std::string::npos) throw std::runtime_error("no string '" + std::string(text) + "' in the file");
    return at;
  }
  /// Offset of the first byte after the string `text`: a value's type, a tensor's rank.
  std::size_t after(std::string_view text) const { return length_at(text) + 8 + text.size(); }

  // Fields of a tensor info, by tensor name.
  std::size_t rank_at(std::string_view tensor) const { return after(tensor); }
  std::size_t extent_at(std::string_view tensor, std::size_t d) const { return after(tensor) + 4 + 8 * d; }
  std::size_t type_at(std::string_view tensor) const { return extent_at(tensor, get<std::uint32_t>(rank_at(tensor))); }
  std::size_t offset_at(std::string_view tensor) const { return type_at(tensor) + 4; }

  template <class T>
  T get(std::size_t at) const {
    T value;
    std::memcpy(&value, bytes.data() + at, sizeof value);
    return value;
  }
  template <class T>
  GgufBytes& put(std::size_t at, T value) {
    std::memcpy(bytes.data() + at, &value, sizeof value);
    return *this;
  }
  /// Replaces the one occurrence of `from` by `to` of the same length.
  GgufBytes& replace(std::string_view from, std::string_view to) {
    const std::size_t at = bytes.find(from);
    if (at == std::string::npos || from.size() != to.size()) throw std::runtime_error("cannot replace " + std::string(from));
    bytes.replace(at, from.size(), to);
    return *this;
  }

  std::filesystem::path write(const std::filesystem::path& file) const {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + file.string());
    return file;
  }

  std::string bytes;
};

}  // namespace causalqwen::testing
