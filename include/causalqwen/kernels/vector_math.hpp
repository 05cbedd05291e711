#pragma once
// Elementwise arctangent and logarithms over a fixed block of 64 bytes (16 floats, 8 doubles),
// from SLEEF's vectorised libm when the compiler targets AVX-512 or AVX2 (one or two registers
// per block), else from <cmath> lane by lane. SLEEF's "u10" functions used here are within
// 1.0 ulp of the exact result over the whole range, as glibc's scalar ones are, so a kernel
// written on blocks keeps the accuracy of its scalar form (each kernel states its own bound).

#include <causalqwen/core/real.hpp>

#include <array>
#include <cmath>
#include <cstddef>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <sleef.h>
#endif

namespace causalqwen::kernels::vector_math {

template <Real T>
inline constexpr int block_lanes = static_cast<int>(64 / sizeof(T));

/// Aligned to its size, so a loop over a block vectorises without an alignment prologue: the
/// same lanes take the same instructions (the same FMA contractions) wherever the block lives.
template <Real T>
struct alignas(64) Block : std::array<T, block_lanes<T>> {};

namespace detail {

/// One register of the target: its width and the SLEEF functions on it. The generic case is a
/// one-lane "register" on <cmath>.
template <Real T>
struct Registers {
  using type = T;
  static constexpr int width = 1;
  static type load(const T* p) { return *p; }
  static void store(T* p, type v) { *p = v; }
  static type atan2(type y, type x) { return std::atan2(y, x); }
  static type log(type x) { return std::log(x); }
  static type log1p(type x) { return std::log1p(x); }
};

#if defined(__AVX512F__)
inline constexpr const char* implementation_name = "SLEEF, AVX-512";
template <>
struct Registers<float> {
  using type = __m512;
  static constexpr int width = 16;
  static type load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, type v) { _mm512_storeu_ps(p, v); }
  static type atan2(type y, type x) { return Sleef_atan2f16_u10(y, x); }
  static type log(type x) { return Sleef_logf16_u10(x); }
  static type log1p(type x) { return Sleef_log1pf16_u10(x); }
};
template <>
struct Registers<double> {
  using type = __m512d;
  static constexpr int width = 8;
  static type load(const double* p) { return _mm512_loadu_pd(p); }
  static void store(double* p, type v) { _mm512_storeu_pd(p, v); }
  static type atan2(type y, type x) { return Sleef_atan2d8_u10(y, x); }
  static type log(type x) { return Sleef_logd8_u10(x); }
  static type log1p(type x) { return Sleef_log1pd8_u10(x); }
};
#elif defined(__AVX2__)
inline constexpr const char* implementation_name = "SLEEF, AVX2";
template <>
struct Registers<float> {
  using type = __m256;
  static constexpr int width = 8;
  static type load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, type v) { _mm256_storeu_ps(p, v); }
  static type atan2(type y, type x) { return Sleef_atan2f8_u10(y, x); }
  static type log(type x) { return Sleef_logf8_u10(x); }
  static type log1p(type x) { return Sleef_log1pf8_u10(x); }
};
template <>
struct Registers<double> {
  using type = __m256d;
  static constexpr int width = 4;
  static type load(const double* p) { return _mm256_loadu_pd(p); }
  static void store(double* p, type v) { _mm256_storeu_pd(p, v); }
  static type atan2(type y, type x) { return Sleef_atan2d4_u10(y, x); }
  static type log(type x) { return Sleef_logd4_u10(x); }
  static type log1p(type x) { return Sleef_log1pd4_u10(x); }
};
#else
inline constexpr const char* implementation_name = "<cmath>, one lane at a time";
#endif

}  // namespace detail

/// Which implementation this translation unit was compiled with (for benchmark labels).
inline constexpr const char* implementation = detail::implementation_name;

/// out[j] = atan2(y[j], x[j]).
template <Real T>
void atan2(const Block<T>& y, const Block<T>& x, Block<T>& out) {
  using R = detail::Registers<T>;
  for (int j = 0; j < block_lanes<T>; j += R::width) R::store(out.data() + j, R::atan2(R::load(y.data() + j), R::load(x.data() + j)));
}

/// out[j] = log(x[j]).
template <Real T>
void log(const Block<T>& x, Block<T>& out) {
  using R = detail::Registers<T>;
  for (int j = 0; j < block_lanes<T>; j += R::width) R::store(out.data() + j, R::log(R::load(x.data() + j)));
}

/// out[j] = log(1 + x[j]).
template <Real T>
void log1p(const Block<T>& x, Block<T>& out) {
  using R = detail::Registers<T>;
  for (int j = 0; j < block_lanes<T>; j += R::width) R::store(out.data() + j, R::log1p(R::load(x.data() + j)));
}

}  // namespace causalqwen::kernels::vector_math
