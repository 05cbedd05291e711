// Batched Cauchy kernels over 1e6 components (1000 positions x 1000 dimensions) against a scalar
// loop that builds a validated Cauchy<T> per element and calls the univariate free function,
// the way code without the batched API would. Both compute the same stable formulas. And the
// causal head's one-vs-rest loss with its gradient (kernels/ovr_loss.hpp, vectorised atan2 and
// logs) against the loop over the scalar kernels it replaces, on the same 1e6 class scores.
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>
#include <causalqwen/kernels/ovr_loss.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

namespace {
constexpr Eigen::Index kRows = 1000;
constexpr Eigen::Index kCols = 1000;

template <class T>
struct Data {
  causalqwen::RowMatrix<T> loc, scale, loc2, scale2, x;
  Data() : loc(kRows, kCols), scale(kRows, kCols), loc2(kRows, kCols), scale2(kRows, kCols), x(kRows, kCols) {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(-3, 3);
    for (Eigen::Index i = 0; i < loc.size(); ++i) {
      loc.data()[i] = T(u(rng));
      scale.data()[i] = T(std::exp(u(rng)));
      loc2.data()[i] = T(u(rng));
      scale2.data()[i] = T(std::exp(u(rng)));
      x.data()[i] = T(10 * u(rng));
    }
  }
  static const Data& get() {
    static const Data data;
    return data;
  }
};

template <class T>
void count(benchmark::State& state, int arrays) {
  const auto n = static_cast<std::int64_t>(kRows * kCols);
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * arrays * static_cast<std::int64_t>(sizeof(T)));
}

template <class T>
void BM_log_pdf_batched(benchmark::State& state) {
  const auto& d = Data<T>::get();
  const causalqwen::IndependentCauchyRows<T> u(d.loc, d.scale);
  for (auto _ : state) benchmark::DoNotOptimize(log_pdf_elements(u, d.x).data());
  count<T>(state, 4);
}

template <class T>
void BM_log_pdf_scalar_loop(benchmark::State& state) {
  const auto& d = Data<T>::get();
  causalqwen::RowMatrix<T> out(kRows, kCols);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < out.size(); ++i)
      out.data()[i] = log_pdf(causalqwen::Cauchy<T>(d.loc.data()[i], d.scale.data()[i]), d.x.data()[i]);
    benchmark::DoNotOptimize(out.data());
  }
  count<T>(state, 4);
}

template <class T>
void BM_cdf_batched(benchmark::State& state) {
  const auto& d = Data<T>::get();
  const causalqwen::IndependentCauchyRows<T> u(d.loc, d.scale);
  for (auto _ : state) benchmark::DoNotOptimize(cdf(u, d.x).data());
  count<T>(state, 4);
}

template <class T>
void BM_cdf_scalar_loop(benchmark::State& state) {
  const auto& d = Data<T>::get();
  causalqwen::RowMatrix<T> out(kRows, kCols);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < out.size(); ++i)
      out.data()[i] = cdf(causalqwen::Cauchy<T>(d.loc.data()[i], d.scale.data()[i]), d.x.data()[i]);
    benchmark::DoNotOptimize(out.data());
  }
  count<T>(state, 4);
}

template <class T>
void BM_kl_batched(benchmark::State& state) {
  const auto& d = Data<T>::get();
  const causalqwen::IndependentCauchyRows<T> p(d.loc, d.scale), q(d.loc2, d.scale2);
  for (auto _ : state) benchmark::DoNotOptimize(kl_divergence_elements(p, q).data());
  count<T>(state, 5);
}

template <class T>
void BM_kl_scalar_loop(benchmark::State& state) {
  const auto& d = Data<T>::get();
  causalqwen::RowMatrix<T> out(kRows, kCols);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < out.size(); ++i)
      out.data()[i] = kl_divergence(causalqwen::Cauchy<T>(d.loc.data()[i], d.scale.data()[i]),
                                    causalqwen::Cauchy<T>(d.loc2.data()[i], d.scale2.data()[i]));
    benchmark::DoNotOptimize(out.data());
  }
  count<T>(state, 5);
}
}  // namespace

/// Rows of the OvR loss, one target class per row; 4 arrays (loc, scale, d_loc, d_scale).
std::vector<std::int32_t> ovr_targets() {
  std::vector<std::int32_t> targets(kRows);
  for (Eigen::Index i = 0; i < kRows; ++i) targets[static_cast<std::size_t>(i)] = static_cast<std::int32_t>((i * 37) % kCols);
  return targets;
}

template <class T>
void BM_ovr_loss_kernel(benchmark::State& state) {
  const auto& d = Data<T>::get();
  const causalqwen::Vector<T> threshold = causalqwen::Vector<T>::Zero(kCols);
  const auto targets = ovr_targets();
  causalqwen::RowMatrix<T> d_loc, d_scale;
  for (auto _ : state)
    benchmark::DoNotOptimize(causalqwen::kernels::ovr_cross_entropy_rows<T>(d.loc, d.scale, threshold, targets, T(1), &d_loc, &d_scale, 1).data());
  state.SetLabel(causalqwen::kernels::vector_math::implementation);
  count<T>(state, 4);
}

template <class T>
void BM_ovr_loss_scalar_loop(benchmark::State& state) {
  const auto& d = Data<T>::get();
  const auto targets = ovr_targets();
  causalqwen::RowMatrix<T> d_loc(kRows, kCols), d_scale(kRows, kCols);
  std::vector<T> sums(kRows);
  for (auto _ : state) {
    for (Eigen::Index i = 0; i < kRows; ++i) {
      T sum = 0;
      for (Eigen::Index c = 0; c < kCols; ++c) {
        const T label = c == targets[static_cast<std::size_t>(i)] ? T(1) : T(0);
        sum += causalqwen::stable::ovr_binary_cross_entropy(d.loc(i, c), d.scale(i, c), label);
        const auto g = causalqwen::stable::ovr_binary_cross_entropy_gradient(d.loc(i, c), d.scale(i, c), label);
        d_loc(i, c) = g.d_loc;
        d_scale(i, c) = g.d_scale;
      }
      sums[static_cast<std::size_t>(i)] = sum;
    }
    benchmark::DoNotOptimize(sums.data());
    benchmark::DoNotOptimize(d_scale.data());
  }
  count<T>(state, 4);
}

BENCHMARK_TEMPLATE(BM_log_pdf_scalar_loop, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_log_pdf_batched, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_log_pdf_scalar_loop, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_log_pdf_batched, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_cdf_scalar_loop, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_cdf_batched, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_cdf_scalar_loop, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_cdf_batched, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_kl_scalar_loop, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_kl_batched, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_kl_scalar_loop, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_kl_batched, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_ovr_loss_scalar_loop, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_ovr_loss_kernel, float)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_ovr_loss_scalar_loop, double)->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_ovr_loss_kernel, double)->Unit(benchmark::kMillisecond);
