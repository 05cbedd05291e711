#pragma once
// Overflow-checked size arithmetic for sizes read from files (shapes, counts, byte lengths): a
// product that does not fit is reported, never wrapped, so a hostile header cannot turn into a
// small allocation followed by an out-of-bounds write, or a huge one followed by std::bad_alloc.

#include <cstdint>
#include <optional>
#include <span>

namespace causalqwen {

/// a * b, or nothing when it does not fit in 64 bits.
inline std::optional<std::uint64_t> checked_multiply(std::uint64_t a, std::uint64_t b) {
  std::uint64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) return std::nullopt;
  return product;
}

/// The product of `factors` (1 for none), or nothing when it does not fit in 64 bits.
inline std::optional<std::uint64_t> checked_product(std::span<const std::uint64_t> factors) {
  std::uint64_t product = 1;
  for (const std::uint64_t f : factors) {
    const auto next = checked_multiply(product, f);
    if (!next) return std::nullopt;
    product = *next;
  }
  return product;
}

}  // namespace causalqwen
