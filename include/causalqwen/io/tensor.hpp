#pragma once
// A named, typed, shaped view of tensor bytes (inside a mapped file or an in-memory store), and
// the element conversions between stored dtypes and the library's scalar types.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace causalqwen::io {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

/// A zero-copy view of one tensor inside a mapped file (or inside a writer's buffer).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;
  std::span<const std::byte> bytes;
  std::int64_t element_count() const {
    std::int64_t count = 1;
    for (std::int64_t extent : shape) count *= extent;
    return count;
  }
};

namespace detail {
/// Largest header the reader accepts (the reference implementation's limit).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;
}  // namespace detail

/// Converts `count` stored elements starting at `bytes` to T; the bytes may be unaligned.
template <Real T>
void convert_elements(DType dtype, const std::byte* bytes, std::size_t count, T* out) {
  switch (dtype) {
    case DType::F64:
      for (std::size_t i = 0; i < count; ++i) {
        double value;
        std::memcpy(&value, bytes + 8 * i, 8);
        out[i] = static_cast<T>(value);
      }
      return;
    case DType::F32:
      for (std::size_t i = 0; i < count; ++i) {
        float value;
        std::memcpy(&value, bytes + 4 * i, 4);
        out[i] = static_cast<T>(value);
      }
      return;
    case DType::F16:
    case DType::BF16:
      for (std::size_t i = 0; i < count; ++i) {
        std::uint16_t value;
        std::memcpy(&value, bytes + 2 * i, 2);
        out[i] = static_cast<T>(dtype == DType::BF16 ? bf16_to_float(value) : f16_to_float(value));
      }
      return;
    default:
      break;
  }
  fail("internal: convert_elements called with non-float dtype ", dtype_name(dtype));
}

/// Writes `count` values of T in the stored representation `dtype` (a floating dtype).
template <Real T>
void store_elements(DType dtype, const T* values, std::size_t count, std::byte* out) {
  for (std::size_t i = 0; i < count; ++i) {
    switch (dtype) {
      case DType::F64: {
        const double v = static_cast<double>(values[i]);
        std::memcpy(out + 8 * i, &v, 8);
        break;
      }
      case DType::F32: {
        const float v = static_cast<float>(values[i]);
        std::memcpy(out + 4 * i, &v, 4);
        break;
      }
      case DType::F16: {
        const std::uint16_t v = float_to_f16(static_cast<float>(values[i]));
        std::memcpy(out + 2 * i, &v, 2);
        break;
      }
      case DType::BF16: {
        const std::uint16_t v = float_to_bf16(static_cast<float>(values[i]));
        std::memcpy(out + 2 * i, &v, 2);
        break;
      }
      default:
        fail("cannot store floating values as ", dtype_name(dtype));
    }
  }
}

template <Real T>
constexpr DType native_dtype() {
  if constexpr (std::is_same_v<T, double>) return DType::F64;
  else if constexpr (std::is_same_v<T, float>) return DType::F32;
  else {
    static_assert(std::is_same_v<T, double> || std::is_same_v<T, float>, "stored as F32 or F64 only");
    return DType::F32;
  }
}

}  // namespace causalqwen::io
