#pragma once
// Reading GGUF files (llama.cpp's and ollama's model format), versions 2 and 3, little-endian.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 key/value count; the key/value table
// (string key, u32 value type, value; strings are u64 length + bytes; arrays are u32 element
// type + u64 count + elements); the tensor infos (name, u32 rank, u64 extents innermost first,
// u32 ggml type, u64 offset into the data section); padding to `general.alignment` (default 32);
// the data section. The reader maps the file and trusts nothing: every count is checked against
// the bytes left before anything is allocated for it, and every tensor against the data section,
// so a corrupt or hostile file ends in causalqwen::error naming the file and the key or tensor,
// never in a read outside the mapping.
//
// Extents are reported row-major like safetensors shapes: GGUF's ne = {in, out} is [out x in].
// Tensor data types read: F32, F16, BF16 and Q8_0 (blocks of 32 along a row: an f16 scale and
// 32 int8); other quantisations are refused by name.

#include <causalqwen/core/error.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/mapped_file.hpp>
#include <causalqwen/io/tensor.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace causalqwen::io {

enum class GgufValueType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7, string = 8, array = 9,
  u64 = 10, i64 = 11, f64 = 12,
};

/// ggml tensor types this reader reads (numbering of ggml.h).
enum class GgmlType : std::uint32_t { f32 = 0, f16 = 1, q8_0 = 8, bf16 = 30 };

/// Elements per Q8_0 block and bytes per block (f16 scale + 32 int8).
inline constexpr std::int64_t q8_0_block_elements = 32;
inline constexpr std::int64_t q8_0_block_bytes = 2 + q8_0_block_elements;

/// ggml's name of a tensor type number, for error messages ("Q4_K"); "" when unknown.
constexpr std::string_view ggml_type_name(std::uint32_t type) noexcept {
  constexpr std::array<std::string_view, 40> names = {
      "F32",     "F16",    "Q4_0",    "Q4_1",  "",      "",      "Q5_0",   "Q5_1",  "Q8_0",   "Q8_1",
      "Q2_K",    "Q3_K",   "Q4_K",    "Q5_K",  "Q6_K",  "Q8_K",  "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
      "IQ4_NL",  "IQ3_S",  "IQ2_S",   "IQ4_XS", "I8",   "I16",   "I32",    "I64",   "F64",    "IQ1_M",
      "BF16",    "",       "",        "",      "TQ1_0", "TQ2_0", "",       "",      "",       "MXFP4"};
  return type < names.size() ? names[type] : std::string_view{};
}

/// One metadata value. Numbers (scalars and array elements) stay as their little-endian bytes
/// inside the mapping; strings are views into it.
struct GgufValue {
  GgufValueType type = GgufValueType::u8;
  GgufValueType element_type = GgufValueType::u8;  ///< arrays only
  std::uint64_t count = 1;                          ///< elements of an array, 1 otherwise
  std::span<const std::byte> bytes;                 ///< numeric payload: the scalar or the packed elements
  std::vector<std::string_view> strings;            ///< a string value, or every element of a string array
};

struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::f32;
  std::vector<std::int64_t> shape;  ///< row-major (GGUF's extents reversed)
  std::span<const std::byte> bytes;
  std::int64_t element_count() const {
    std::int64_t count = 1;
    for (std::int64_t extent : shape) count *= extent;
    return count;
  }
};

/// The safetensors dtype holding a GGUF type's bytes unchanged, if there is one (not for Q8_0).
constexpr std::optional<DType> stored_dtype(GgmlType type) noexcept {
  switch (type) {
    case GgmlType::f32: return DType::F32;
    case GgmlType::f16: return DType::F16;
    case GgmlType::bf16: return DType::BF16;
    case GgmlType::q8_0: break;
  }
  return std::nullopt;
}

/// Converts (dequantises) every element of `tensor` to float into `out` (element_count values).
inline void to_float(const GgufTensor& tensor, float* out) {
  const auto count = static_cast<std::size_t>(tensor.element_count());
  if (const auto dtype = stored_dtype(tensor.type)) {
    convert_elements(*dtype, tensor.bytes.data(), count, out);
    return;
  }
  const std::byte* block = tensor.bytes.data();
  for (std::size_t first = 0; first < count; first += q8_0_block_elements, block += q8_0_block_bytes) {
    std::uint16_t scale_bits;
    std::memcpy(&scale_bits, block, 2);
    const float scale = f16_to_float(scale_bits);
    for (std::size_t j = 0; j < q8_0_block_elements; ++j)
      out[first + j] = scale * static_cast<float>(static_cast<std::int8_t>(block[2 + j]));
  }
}

/// Whether `file` is a regular file that starts with the GGUF magic (ollama's model blobs carry
/// no .gguf extension, so the content decides, not the name).
inline bool is_gguf_file(const std::filesystem::path& file) {
  std::error_code ignored;
  if (!std::filesystem::is_regular_file(file, ignored)) return false;
  std::ifstream in(file, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

class GgufReader {
 public:
  static constexpr std::uint32_t default_alignment = 32;
  /// ggml's limit on tensor rank.
  static constexpr std::uint32_t max_rank = 4;

  explicit GgufReader(const std::filesystem::path& file) : path_(file), map_(file) { parse(); }

  const std::filesystem::path& path() const { return path_; }
  std::uint32_t version() const { return version_; }
  std::uint32_t alignment() const { return alignment_; }

  // Metadata. Every accessor names the file and the key when the key is missing or its value
  // has another type.
  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  const GgufValue& value(std::string_view key) const {
    const auto found = values_.find(key);
    if (found == values_.end()) fail(path_.string(), ": GGUF metadata key '", key, "' is missing");
    return found->second;
  }
  /// Keys in lexicographic order.
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& [key, value] : values_) out.push_back(key);
    return out;
  }
  /// Any integer type whose value is not negative.
  std::uint64_t unsigned_integer(std::string_view key) const {
    const GgufValue& v = value(key);
    const auto number = integer_at(v.type, v.bytes.data());
    if (!number) wrong_type(key, v, "an integer");
    if (number->negative) fail(path_.string(), ": GGUF metadata key '", key, "' is negative");
    return number->magnitude;
  }
  /// Any integer type whose value fits int64.
  std::int64_t integer(std::string_view key) const {
    const GgufValue& v = value(key);
    const auto number = integer_at(v.type, v.bytes.data());
    if (!number) wrong_type(key, v, "an integer");
    const auto value = signed_value(*number);
    if (!value) fail(path_.string(), ": GGUF metadata key '", key, "' does not fit a 64-bit signed integer");
    return *value;
  }
  /// F32 or F64 (integers too, converted).
  double number(std::string_view key) const {
    const GgufValue& v = value(key);
    if (v.type == GgufValueType::f32) return load<float>(v.bytes.data());
    if (v.type == GgufValueType::f64) return load<double>(v.bytes.data());
    if (const auto number = integer_at(v.type, v.bytes.data()))
      return number->negative ? -static_cast<double>(number->magnitude) : static_cast<double>(number->magnitude);
    wrong_type(key, v, "a number");
  }
  bool boolean(std::string_view key) const {
    const GgufValue& v = value(key);
    if (v.type != GgufValueType::boolean) wrong_type(key, v, "a bool");
    return v.bytes[0] != std::byte{0};
  }
  std::string_view string(std::string_view key) const {
    const GgufValue& v = value(key);
    if (v.type != GgufValueType::string) wrong_type(key, v, "a string");
    return v.strings.front();
  }
  /// An array of strings.
  std::span<const std::string_view> strings(std::string_view key) const {
    const GgufValue& v = value(key);
    if (v.type != GgufValueType::array || v.element_type != GgufValueType::string) wrong_type(key, v, "an array of strings");
    return v.strings;
  }
  /// An array of any integer type, each element fitting int64.
  std::vector<std::int64_t> integers(std::string_view key) const {
    const GgufValue& v = value(key);
    if (v.type != GgufValueType::array || !is_integer(v.element_type)) wrong_type(key, v, "an array of integers");
    const std::size_t size = value_size(v.element_type);
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(v.count));
    for (std::uint64_t i = 0; i < v.count; ++i) {
      const auto value = signed_value(*integer_at(v.element_type, v.bytes.data() + i * size));
      if (!value) fail(path_.string(), ": GGUF metadata key '", key, "'[", i, "] does not fit a 64-bit signed integer");
      out.push_back(*value);
    }
    return out;
  }

  // Tensors.
  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }
  const GgufTensor& tensor(std::string_view name) const {
    const auto found = index_.find(name);
    if (found == index_.end()) fail(path_.string(), ": no tensor named '", name, "'");
    return tensors_[found->second];
  }
  /// Every tensor in file order.
  std::span<const GgufTensor> tensors() const { return tensors_; }
  /// Drops the pages of `bytes` (a tensor's data, or any part of the file) from resident memory
  /// once they have been copied; see MappedFile::release.
  void release(std::span<const std::byte> bytes) const noexcept { map_.release(bytes); }

 private:
  struct Integer {
    std::uint64_t magnitude;
    bool negative;
  };

  template <class T>
  static T load(const std::byte* at) {
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
  }

  /// Bytes of one element of a fixed-size type; 0 for strings and arrays, -1 for unknown types.
  static std::ptrdiff_t fixed_size(std::uint32_t type) {
    switch (static_cast<GgufValueType>(type)) {
      case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::boolean: return 1;
      case GgufValueType::u16: case GgufValueType::i16: return 2;
      case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::f32: return 4;
      case GgufValueType::u64: case GgufValueType::i64: case GgufValueType::f64: return 8;
      case GgufValueType::string: case GgufValueType::array: return 0;
    }
    return -1;
  }
  static std::size_t value_size(GgufValueType type) {
    return static_cast<std::size_t>(std::max<std::ptrdiff_t>(fixed_size(static_cast<std::uint32_t>(type)), 0));
  }
  static bool is_integer(GgufValueType type) {
    switch (type) {
      case GgufValueType::u8: case GgufValueType::i8: case GgufValueType::u16: case GgufValueType::i16:
      case GgufValueType::u32: case GgufValueType::i32: case GgufValueType::u64: case GgufValueType::i64: return true;
      default: return false;
    }
  }

  static std::optional<Integer> integer_at(GgufValueType type, const std::byte* at) {
    const auto from_signed = [](std::int64_t v) {
      return Integer{v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v), v < 0};
    };
    switch (type) {
      case GgufValueType::u8: return Integer{load<std::uint8_t>(at), false};
      case GgufValueType::u16: return Integer{load<std::uint16_t>(at), false};
      case GgufValueType::u32: return Integer{load<std::uint32_t>(at), false};
      case GgufValueType::u64: return Integer{load<std::uint64_t>(at), false};
      case GgufValueType::i8: return from_signed(load<std::int8_t>(at));
      case GgufValueType::i16: return from_signed(load<std::int16_t>(at));
      case GgufValueType::i32: return from_signed(load<std::int32_t>(at));
      case GgufValueType::i64: return from_signed(load<std::int64_t>(at));
      default: return std::nullopt;
    }
  }
  static std::optional<std::int64_t> signed_value(Integer n) {
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!n.negative) return n.magnitude <= max ? std::optional<std::int64_t>(static_cast<std::int64_t>(n.magnitude)) : std::nullopt;
    if (n.magnitude <= max) return -static_cast<std::int64_t>(n.magnitude);
    if (n.magnitude == max + 1) return std::numeric_limits<std::int64_t>::min();
    return std::nullopt;
  }

  static std::string_view type_name(GgufValueType type) {
    constexpr std::array<std::string_view, 13> names = {"u8",  "i8",  "u16",   "i16",   "u32", "i32", "f32",
                                                        "bool", "string", "array", "u64", "i64", "f64"};
    const auto index = static_cast<std::size_t>(type);
    return index < names.size() ? names[index] : "?";
  }

  [[noreturn]] void wrong_type(std::string_view key, const GgufValue& v, std::string_view expected) const {
    if (v.type == GgufValueType::array)
      fail(path_.string(), ": GGUF metadata key '", key, "' is an array of ", type_name(v.element_type), ", expected ",
           expected);
    fail(path_.string(), ": GGUF metadata key '", key, "' is ", type_name(v.type), ", expected ", expected);
  }

  template <class... Parts>
  [[noreturn]] void bad(const Parts&... parts) const {
    fail(path_.string(), ": invalid GGUF file: ", parts...);
  }

  /// Reads the header and the tables front to back; `where` names the field being read.
  class Cursor {
   public:
    Cursor(const GgufReader& reader, std::span<const std::byte> file) : reader_(reader), file_(file) {}
    std::size_t offset() const { return at_; }
    std::size_t left() const { return file_.size() - at_; }

    template <class T, class... Where>
    T read(const Where&... where) {
      if (left() < sizeof(T))
        reader_.bad(where..., ": needs ", sizeof(T), " bytes at offset ", at_, ", the file ends at ", file_.size());
      const T value = load<T>(file_.data() + at_);
      at_ += sizeof(T);
      return value;
    }
    template <class... Where>
    std::span<const std::byte> bytes(std::uint64_t count, const Where&... where) {
      if (count > left())
        reader_.bad(where..., ": ", count, " bytes at offset ", at_, " run past the end of the file (", file_.size(),
                    " bytes)");
      const auto out = file_.subspan(at_, static_cast<std::size_t>(count));
      at_ += static_cast<std::size_t>(count);
      return out;
    }
    template <class... Where>
    std::string_view string(const Where&... where) {
      const auto length = read<std::uint64_t>(where..., " (string length)");
      const auto text = bytes(length, where..., " (string of length ", length, ")");
      return {reinterpret_cast<const char*>(text.data()), text.size()};
    }

   private:
    const GgufReader& reader_;
    std::span<const std::byte> file_;
    std::size_t at_ = 0;
  };

  void parse() {
    const std::span<const std::byte> file = map_.bytes();
    Cursor in(*this, file);
    const auto magic = in.read<std::uint32_t>("header magic");
    if (magic != 0x46554747u) bad("the file does not start with the magic \"GGUF\"");
    version_ = in.read<std::uint32_t>("header version");
    if (version_ != 2 && version_ != 3) {
      if (__builtin_bswap32(version_) == 2 || __builtin_bswap32(version_) == 3) bad("big-endian GGUF files are not supported");
      bad("version ", version_, " is not supported (2 and 3 are)");
    }
    const auto tensor_count = in.read<std::uint64_t>("header tensor count");
    const auto value_count = in.read<std::uint64_t>("header metadata count");
    // Smallest possible entries: a one-byte key with a one-byte value; a one-byte name of rank 1.
    constexpr std::uint64_t min_value_bytes = 8 + 1 + 4 + 1, min_tensor_bytes = 8 + 1 + 4 + 8 + 4 + 8;
    if (value_count > in.left() / min_value_bytes)
      bad("header metadata count ", value_count, " cannot fit in the ", in.left(), " bytes left");
    if (tensor_count > (in.left() - value_count * min_value_bytes) / min_tensor_bytes)
      bad("header tensor count ", tensor_count, " cannot fit in the ", in.left(), " bytes left");

    for (std::uint64_t i = 0; i < value_count; ++i) read_value(in, i);
    if (has("general.alignment")) {
      const GgufValue& v = values_.find("general.alignment")->second;
      if (v.type != GgufValueType::u32) bad("key 'general.alignment' is ", type_name(v.type), ", expected u32");
      alignment_ = load<std::uint32_t>(v.bytes.data());
      if (!std::has_single_bit(alignment_)) bad("key 'general.alignment' is ", alignment_, ", expected a power of two");
    }

    tensors_.reserve(static_cast<std::size_t>(tensor_count));
    std::vector<Extent> extents;
    extents.reserve(static_cast<std::size_t>(tensor_count));
    for (std::uint64_t i = 0; i < tensor_count; ++i) extents.push_back(read_tensor_info(in, i));

    const std::size_t end_of_infos = in.offset();
    const std::size_t data_start = end_of_infos + (alignment_ - end_of_infos % alignment_) % alignment_;
    if (tensor_count == 0) {
      // A vocabulary-only file: nothing may follow the (optional) padding.
      if (file.size() > data_start) bad(file.size() - end_of_infos, " bytes follow the tensor infos of a file without tensors");
      return;
    }
    if (data_start > file.size()) bad("the data section starts at ", data_start, ", past the end of the file (", file.size(), " bytes)");
    place_tensors(file.subspan(data_start), extents);
  }

  void read_value(Cursor& in, std::uint64_t index) {
    const std::string_view key = in.string("metadata key #", index);
    if (key.empty()) bad("metadata key #", index, " is empty");
    if (has(key)) bad("metadata key '", key, "' appears twice");
    GgufValue v;
    const auto type = in.read<std::uint32_t>("key '", key, "' (value type)");
    if (fixed_size(type) < 0) bad("key '", key, "' has unknown value type ", type);
    v.type = static_cast<GgufValueType>(type);
    if (v.type == GgufValueType::string) {
      v.strings.push_back(in.string("key '", key, "'"));
    } else if (v.type == GgufValueType::array) {
      const auto element = in.read<std::uint32_t>("key '", key, "' (array element type)");
      if (fixed_size(element) < 0) bad("key '", key, "' has unknown array element type ", element);
      if (static_cast<GgufValueType>(element) == GgufValueType::array)
        bad("key '", key, "' is an array of arrays (not supported, as in llama.cpp)");
      v.element_type = static_cast<GgufValueType>(element);
      v.count = in.read<std::uint64_t>("key '", key, "' (array length)");
      // A string element needs its 8-byte length at least: checked before reserving anything.
      const std::size_t size = v.element_type == GgufValueType::string ? 8 : value_size(v.element_type);
      if (v.count > in.left() / size)
        bad("key '", key, "': array of ", v.count, " ", type_name(v.element_type), " cannot fit in the ", in.left(),
            " bytes left");
      if (v.element_type == GgufValueType::string) {
        v.strings.reserve(static_cast<std::size_t>(v.count));
        for (std::uint64_t i = 0; i < v.count; ++i) v.strings.push_back(in.string("key '", key, "'[", i, "]"));
      } else {
        v.bytes = in.bytes(v.count * size, "key '", key, "'");
      }
    } else {
      v.bytes = in.bytes(static_cast<std::size_t>(fixed_size(type)), "key '", key, "'");
      if (v.type == GgufValueType::boolean && static_cast<unsigned>(v.bytes[0]) > 1)
        bad("key '", key, "' is a bool with the byte value ", static_cast<unsigned>(v.bytes[0]));
    }
    values_.emplace(std::string(key), std::move(v));
  }

  /// Where a tensor's bytes lie in the data section, as its info says.
  struct Extent {
    std::uint64_t offset, size;
  };

  /// Reads one tensor info; its bytes are placed once the data section is known.
  Extent read_tensor_info(Cursor& in, std::uint64_t index) {
    const std::string_view name_view = in.string("tensor #", index, " name");
    if (name_view.empty()) bad("tensor #", index, " has an empty name");
    if (contains(name_view)) bad("tensor '", name_view, "' appears twice");
    GgufTensor t;
    t.name = name_view;
    const auto rank = in.read<std::uint32_t>("tensor '", t.name, "' (rank)");
    if (rank == 0 || rank > max_rank) bad("tensor '", t.name, "' has rank ", rank, ", expected 1 to ", max_rank);
    std::vector<std::uint64_t> ne(rank);  // innermost first
    std::uint64_t elements = 1;
    for (std::uint32_t d = 0; d < rank; ++d) {
      ne[d] = in.read<std::uint64_t>("tensor '", t.name, "' (extent ", d, ")");
      if (ne[d] > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
          __builtin_mul_overflow(elements, ne[d], &elements) ||
          elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        bad("tensor '", t.name, "': shape overflows");
    }
    t.shape.assign(ne.rbegin(), ne.rend());
    const auto type = in.read<std::uint32_t>("tensor '", t.name, "' (type)");
    std::uint64_t size = 0;
    switch (static_cast<GgmlType>(type)) {
      case GgmlType::f32: size = 4; break;
      case GgmlType::f16: case GgmlType::bf16: size = 2; break;
      case GgmlType::q8_0:
        if (ne[0] % q8_0_block_elements != 0)
          bad("tensor '", t.name, "' is Q8_0 with rows of ", ne[0], " elements, not a multiple of ",
              q8_0_block_elements);
        break;
      default:
        if (ggml_type_name(type).empty()) bad("tensor '", t.name, "' has unknown ggml type ", type);
        bad("tensor '", t.name, "' has type ", ggml_type_name(type), ", not supported (F32, F16, BF16 and Q8_0 are)");
    }
    t.type = static_cast<GgmlType>(type);
    // Q8_0's byte count cannot overflow: a block's 34 bytes hold 32 elements.
    std::uint64_t bytes = elements / q8_0_block_elements * q8_0_block_bytes;
    if (t.type != GgmlType::q8_0 && __builtin_mul_overflow(elements, size, &bytes)) bad("tensor '", t.name, "': shape overflows");
    const auto offset = in.read<std::uint64_t>("tensor '", t.name, "' (offset)");
    if (offset % alignment_ != 0)
      bad("tensor '", t.name, "' has offset ", offset, ", not a multiple of the alignment ", alignment_);
    index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    return {offset, bytes};
  }

  /// Points each tensor at its bytes, checking that they lie inside the data section, then that
  /// the tensors tile it in non-overlapping ranges (holes only for alignment padding).
  void place_tensors(std::span<const std::byte> data, const std::vector<Extent>& extents) {
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const auto [begin, size] = extents[i];
      if (begin > data.size() || size > data.size() - begin)
        bad("tensor '", tensors_[i].name, "' [", begin, ", +", size, ") runs past the data section (", data.size(),
            " bytes): truncated file or bad offset");
      tensors_[i].bytes = data.subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(size));
    }
    std::vector<std::size_t> order(tensors_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return extents[a].offset < extents[b].offset; });
    const auto padded = [&](std::uint64_t end) { return end + (alignment_ - end % alignment_) % alignment_; };
    std::uint64_t covered = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const auto [begin, size] = extents[order[k]];
      const std::string& name = tensors_[order[k]].name;
      if (begin < covered)
        bad("tensor '", name, "' at offset ", begin, " overlaps tensor '", tensors_[order[k - 1]].name, "' which ends at ", covered);
      if (begin > padded(covered))
        bad("bytes [", covered, ", ", begin, ") of the data section belong to no tensor (before tensor '", name, "')");
      covered = begin + size;
    }
    if (data.size() > padded(covered))
      bad("the data section has ", data.size(), " bytes but the tensors end at ", covered, " (trailing bytes)");
  }

  std::filesystem::path path_;
  MappedFile map_;
  std::uint32_t version_ = 0;
  std::uint32_t alignment_ = default_alignment;
  std::map<std::string, GgufValue, std::less<>> values_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace causalqwen::io
