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
#include <string_view>
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

namespace detail {
/// Index of the first element whose exponent bits are all ones (NaN or Inf), or `count`. The
/// raw bits are tested, so a bf16 or f16 weight is never converted; the first pass only ORs a
/// flag (vectorisable, no early exit) and the index is searched for only when one exists.
template <class Bits>
std::size_t first_non_finite_bits(const std::byte* bytes, std::size_t count, Bits exponent) {
  bool any = false;
  for (std::size_t i = 0; i < count; ++i) {
    Bits value;
    std::memcpy(&value, bytes + sizeof(Bits) * i, sizeof(Bits));
    any |= (value & exponent) == exponent;
  }
  if (!any) return count;
  for (std::size_t i = 0; i < count; ++i) {
    Bits value;
    std::memcpy(&value, bytes + sizeof(Bits) * i, sizeof(Bits));
    if ((value & exponent) == exponent) return i;
  }
  return count;
}
}  // namespace detail

/// Index of the first NaN or Inf among `count` stored floating elements, or `count` if none.
inline std::size_t first_non_finite(DType dtype, const std::byte* bytes, std::size_t count) {
  switch (dtype) {
    case DType::F64: return detail::first_non_finite_bits<std::uint64_t>(bytes, count, 0x7ff0000000000000u);
    case DType::F32: return detail::first_non_finite_bits<std::uint32_t>(bytes, count, 0x7f800000u);
    case DType::F16: return detail::first_non_finite_bits<std::uint16_t>(bytes, count, 0x7c00u);
    case DType::BF16: return detail::first_non_finite_bits<std::uint16_t>(bytes, count, 0x7f80u);
    default: fail("internal: first_non_finite called with non-float dtype ", dtype_name(dtype));
  }
}

/// The library's policy for weights: a NaN or Inf anywhere in a loaded tensor is an error naming
/// the file, the tensor and the first bad element, never a model that computes NaN.
inline void require_finite(const TensorView& view, std::string_view file) {
  const std::size_t count = view.bytes.size() / dtype_size(view.dtype);
  const std::size_t bad = first_non_finite(view.dtype, view.bytes.data(), count);
  require(bad == count, file, ": tensor '", view.name, "' has a non-finite value (NaN or Inf) at element ", bad);
}

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
