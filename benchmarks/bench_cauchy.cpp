// Batched Cauchy kernels over 1e6 components (1000 positions x 1000 dimensions) against a scalar
// loop that builds a validated Cauchy<T> per element and calls the univariate free function,
// the way code without the batched API would. Both compute the same stable formulas.
#include <causalqwen/cauchy/cauchy.hpp>
#include <causalqwen/cauchy/independent.hpp>

#include <benchmark/benchmark.h>

#include <random>

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
