#pragma once
// Outputs of vocabulary-sized products (the action's [N x K] scores, their gradients, dA) are
// hundreds of megabytes, freshly mapped by malloc on every call. Touched in 4 KiB pages they
// fault ~75 000 times per 300 MB, which measured more than the products themselves (a causal
// head forward at the Qwen2.5-0.5B shape: 3.1 s with 4 KiB pages, 1.3 s with 2 MiB pages).
// So a large output is marked as a transparent-huge-page candidate before its first touch; the
// advice changes no value and is ignored where the kernel does not support it.

#include <cstddef>
#include <cstdint>

#include <Eigen/Core>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace causalqwen::kernels {

/// Below this size a buffer gains nothing from huge pages.
inline constexpr std::size_t huge_page_min_bytes = std::size_t{8} << 20;

/// m.resize(rows, cols), advising huge pages for the whole 2 MiB pages inside a large buffer.
template <class Matrix>
void resize_output(Matrix& m, Eigen::Index rows, Eigen::Index cols) {
  m.resize(rows, cols);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  const std::size_t bytes = static_cast<std::size_t>(m.size()) * sizeof(typename Matrix::Scalar);
  if (bytes < huge_page_min_bytes) return;
  constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;
  const auto start = reinterpret_cast<std::uintptr_t>(m.data());
  const std::uintptr_t begin = (start + huge_page - 1) & ~(huge_page - 1);
  const std::uintptr_t end = (start + bytes) & ~(huge_page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice: failure is harmless
#endif
}

}  // namespace causalqwen::kernels
