#pragma once
// Splitting a range of work items over a given number of OpenMP threads. The thread count is
// always an argument (it lives in the backend object), never process-wide state, so two models
// with different thread counts can run side by side.

#include <algorithm>
#include <cstdint>

#include <omp.h>

namespace causalqwen::kernels {

// Every region below, even a one-thread one, is an OpenMP region whose implicit tasks set their
// own thread-count ICV to 1: Eigen's GEMM called inside then stays on its thread instead of
// forking omp_get_max_threads() more. The setting dies with the region, so no state leaks.

/// Waking a thread costs microseconds (milliseconds on a loaded machine): work smaller than this
/// many multiply-adds per thread is not worth splitting.
inline constexpr std::int64_t min_work_per_thread = std::int64_t{1} << 16;

/// How many of `threads` threads `count` items of `work_per_item` multiply-adds each deserve.
inline int worker_count(int threads, std::int64_t count, std::int64_t work_per_item) {
  const std::int64_t worthwhile = std::max<std::int64_t>(1, count * std::max<std::int64_t>(work_per_item, 1) / min_work_per_thread);
  return static_cast<int>(std::clamp<std::int64_t>(std::min(worthwhile, count), 1, std::max(threads, 1)));
}

/// Calls body(worker, begin, end) on exactly `workers` contiguous chunks of [0, count) (chunks
/// multiples of `align` items; some may be empty and are skipped), for kernels that keep one
/// partial result per worker and combine them in worker order (deterministic sums).
template <class Body>
void parallel_workers(int workers, std::int64_t count, std::int64_t align, Body&& body) {
  if (count <= 0) return;
  const std::int64_t units = (count + align - 1) / align;
#pragma omp parallel num_threads(workers)
  {
    omp_set_num_threads(1);
    const int worker = omp_get_thread_num();
    const std::int64_t total = omp_get_num_threads();
    const std::int64_t begin = std::min(count, units * worker / total * align);
    const std::int64_t end = std::min(count, units * (worker + 1) / total * align);
    if (begin < end) body(worker, begin, end);
  }
}

/// Calls body(begin, end) on up to `threads` contiguous chunks of [0, count), each a multiple of
/// `align` items except the last.
template <class Body>
void parallel_chunks(int threads, std::int64_t count, std::int64_t align, std::int64_t work_per_item, Body&& body) {
  if (count <= 0) return;
  const int workers = worker_count(threads, (count + align - 1) / align, work_per_item * align);
  parallel_workers(workers, count, align, [&](int, std::int64_t begin, std::int64_t end) { body(begin, end); });
}

/// Calls body(i) for every i in [0, count), items shared dynamically over up to `threads` threads.
template <class Body>
void parallel_for(int threads, std::int64_t count, std::int64_t work_per_item, Body&& body) {
  if (count <= 0) return;
  const int workers = worker_count(threads, count, work_per_item);
#pragma omp parallel num_threads(workers)
  {
    omp_set_num_threads(1);
#pragma omp for schedule(dynamic)
    for (std::int64_t i = 0; i < count; ++i) body(i);
  }
}

}  // namespace causalqwen::kernels
