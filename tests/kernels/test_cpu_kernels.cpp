// The CPU kernels against plain double-precision formulas, at sizes that split over threads.
#include <causalqwen/backend/cpu_backend.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <span>
#include <vector>

namespace causalqwen_tests_kernels_cpu_kernels {

using namespace causalqwen;

namespace {
RowMatrix<float> random(Eigen::Index rows, Eigen::Index cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  RowMatrix<float> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = normal(rng);
  return m;
}
RowMatrix<float> round_bf16(const RowMatrix<float>& m) {
  RowMatrix<float> out = m;
  for (Eigen::Index i = 0; i < out.size(); ++i) out.data()[i] = io::bf16_to_float(io::float_to_bf16(out.data()[i]));
  return out;
}
}  // namespace

TEST_CASE("matmul: GEMV and GEMM paths, dense and bfloat16, 1 and 2 threads, odd sizes") {
  const RowMatrix<float> w = random(403, 261, 1);  // not multiples of 4 or 16: remainders run
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(w.size()));
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = io::float_to_bf16(w.data()[i]);
  const auto dense = kernels::Weight<float>::from_dense(w);
  const auto bf16 = kernels::Weight<float>::from_bf16(w.rows(), w.cols(), bits);
  for (Eigen::Index rows : {1, 3, 4, 37}) {
    const RowMatrix<float> x = random(rows, 261, 2);
    const RowMatrix<double> expected = x.cast<double>() * w.cast<double>().transpose();
    const RowMatrix<double> expected_bf16 = x.cast<double>() * round_bf16(w).cast<double>().transpose();
    for (int threads : {1, 2}) {
      RowMatrix<float> out;
      kernels::matmul(x, dense, out, threads);
      CHECK((out.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4);
      kernels::matmul(x, bf16, out, threads);
      CHECK((out.cast<double>() - expected_bf16).cwiseAbs().maxCoeff() < 1e-4);
    }
  }
  RowMatrix<float> out;
  CHECK_THROWS_AS(kernels::matmul(random(2, 5, 3), dense, out, 1), causalqwen::error);
}

TEST_CASE("matmul with bfloat16 activations: the dot-product kernel on odd sizes, 1 and 2 threads") {
  const RowMatrix<float> w = random(403, 261, 11);  // rows not a multiple of the 32-row panel, odd width
  std::vector<std::uint16_t> bits(static_cast<std::size_t>(w.size()));
  for (std::size_t i = 0; i < bits.size(); ++i) bits[i] = io::float_to_bf16(w.data()[i]);
  const auto bf16 = kernels::Weight<float>::from_bf16(w.rows(), w.cols(), bits);
  for (Eigen::Index rows : {4, 8, 37}) {  // whole 8-position blocks and a remainder
    const RowMatrix<float> x = random(rows, 261, 12);
    const RowMatrix<double> exact = x.cast<double>() * round_bf16(w).cast<double>().transpose();
    const RowMatrix<double> rounded = round_bf16(x).cast<double>() * round_bf16(w).cast<double>().transpose();
    for (int threads : {1, 2}) {
      RowMatrix<float> out;
      kernels::matmul(x, bf16, out, threads, kernels::MatmulPrecision::bf16_activations);
      REQUIRE(out.rows() == rows);
      REQUIRE(out.cols() == w.rows());
      if constexpr (kernels::has_bf16_dot_kernel) {
        // Products of bfloat16 numbers are exact in float: only the float sums differ.
        CHECK((out.cast<double>() - rounded).cwiseAbs().maxCoeff() < 1e-3);
        CHECK((out.cast<double>() - exact).cwiseAbs().maxCoeff() > 1e-3);  // the activations were rounded
      } else {
        CHECK((out.cast<double>() - exact).cwiseAbs().maxCoeff() < 1e-4);  // falls back to the exact path
      }
    }
  }
}

TEST_CASE("weights stacked from several tensors keep every row in order and its format") {
  const RowMatrix<float> a = random(3, 5, 9), b = random(2, 5, 10);
  std::vector<std::uint16_t> a_bits(15), b_bits(10);
  for (std::size_t i = 0; i < 15; ++i) a_bits[i] = io::float_to_bf16(a.data()[i]);
  for (std::size_t i = 0; i < 10; ++i) b_bits[i] = io::float_to_bf16(b.data()[i]);
  const io::TensorView va{"a", io::DType::BF16, {3, 5}, std::as_bytes(std::span(a_bits))};
  const io::TensorView vb{"b", io::DType::BF16, {2, 5}, std::as_bytes(std::span(b_bits))};
  const io::TensorView vf{"f", io::DType::F32, {2, 5}, std::as_bytes(std::span(b.data(), 10))};
  const io::TensorView narrow{"n", io::DType::F32, {1, 4}, std::as_bytes(std::span(b.data(), 4))};

  const io::TensorView* both[] = {&va, &vb};
  const auto stacked = CpuBackend<float>{}.upload_weights(both, WeightFormat::as_stored, "test");
  CHECK(stacked.is_bf16());
  REQUIRE(stacked.rows() == 5);
  CHECK(stacked.row(1) == round_bf16(a).row(1));
  CHECK(stacked.row(4) == round_bf16(b).row(1));

  const io::TensorView* mixed[] = {&va, &vf};  // not all bfloat16: kept dense, float part exact
  const auto dense = CpuBackend<float>{}.upload_weights(mixed, WeightFormat::as_stored, "test");
  CHECK_FALSE(dense.is_bf16());
  CHECK(dense.row(2) == round_bf16(a).row(2));
  CHECK(dense.row(3) == b.row(0));
  CHECK(CpuBackend<float>{}.upload_weights(mixed, WeightFormat::bf16, "test").row(4) == round_bf16(b).row(1));

  const io::TensorView* uneven[] = {&vf, &narrow};
  CHECK_THROWS_WITH_AS(CpuBackend<float>{}.upload_weights(uneven, WeightFormat::as_stored, "test"),
                       doctest::Contains("'n' has 4 columns"), causalqwen::error);
}

TEST_CASE("attention over a cache with a causal mask, GQA, split over threads") {
  const Eigen::Index heads = 8, kv_heads = 2, d = 16, past = 70, count = 50;
  const RowMatrix<float> q = random(count, heads * d, 4), k = random(past + count + 5, kv_heads * d, 5),
                         v = random(past + count + 5, kv_heads * d, 6);
  for (int threads : {1, 2}) {
    RowMatrix<float> out;
    kernels::attention(q, k, v, past, heads, kv_heads, d, out, threads);
    double worst = 0;
    for (Eigen::Index h = 0; h < heads; ++h) {
      const Eigen::Index g = h / (heads / kv_heads);
      for (Eigen::Index i = 0; i < count; ++i) {
        Eigen::VectorXd s(past + i + 1);
        for (Eigen::Index j = 0; j < s.size(); ++j)
          s[j] = q.row(i).segment(h * d, d).cast<double>().dot(k.row(j).segment(g * d, d).cast<double>()) / 4.0;
        s = (s.array() - s.maxCoeff()).exp();
        s /= s.sum();
        Eigen::RowVectorXd o = Eigen::RowVectorXd::Zero(d);
        for (Eigen::Index j = 0; j < s.size(); ++j) o += s[j] * v.row(j).segment(g * d, d).cast<double>();
        worst = std::max(worst, (out.row(i).segment(h * d, d).cast<double>() - o).cwiseAbs().maxCoeff());
      }
    }
    CHECK(worst < 1e-5);
  }
}

TEST_CASE("rmsnorm, rotary, swiglu and softmax follow their formulas") {
  const CpuBackend<float> cpu(2);
  const RowMatrix<float> x = random(300, 64, 7);
  const RowMatrix<float> g = random(1, 64, 8);
  RowMatrix<float> y;
  cpu.rms_norm(x, g, 1e-6, y);
  const double rms = std::sqrt(x.row(5).cast<double>().squaredNorm() / 64.0 + 1e-6);
  CHECK(std::abs(y(5, 9) - x(5, 9) / rms * g(0, 9)) < 1e-5);

  RowMatrix<float> r = x;
  const RowMatrix<float> table = cpu.rotary_table(1000, 300, 16, 10000.0);
  cpu.rotary(r, 4, 16, table);
  const double angle = 1003.0f * (1.0f / std::pow(10000.0f, 4.0f / 16.0f));  // position 1003, pair (2, 10)
  CHECK(std::abs(r(3, 16 + 2) - (x(3, 16 + 2) * std::cos(angle) - x(3, 16 + 10) * std::sin(angle))) < 1e-5);
  CHECK(std::abs(r(3, 16 + 10) - (x(3, 16 + 10) * std::cos(angle) + x(3, 16 + 2) * std::sin(angle))) < 1e-5);
  CHECK(std::abs(r.row(3).norm() - x.row(3).norm()) < 1e-4);  // a rotation keeps the norm

  RowMatrix<float> gate_up(x.rows(), 2 * x.cols()), activated;
  gate_up << x, y;
  cpu.swiglu(gate_up, activated);
  REQUIRE(activated.cols() == x.cols());
  CHECK(std::abs(activated(7, 3) - x(7, 3) / (1 + std::exp(-x(7, 3))) * y(7, 3)) < 1e-5);
  CHECK_THROWS_AS(cpu.swiglu(RowMatrix<float>(2, 3), activated), causalqwen::error);

  RowMatrix<float> s(1, 3);
  s << 1000.0f, 1001.0f, 999.0f;  // would overflow without the max shift
  cpu.softmax_rows(s);
  CHECK(std::abs(s(0, 1) - 1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0))) < 1e-6);
  CHECK(std::abs(s.sum() - 1.0f) < 1e-6);
}

TEST_CASE("cauchy_linear: loc W^T + b and scale |W|^T in one pass, GEMV and GEMM, dense and bfloat16, 1 and 2 threads") {
  const RowMatrix<float> w = random(403, 261, 21);
  const RowMatrix<float> w16 = round_bf16(w);
  const auto dense = kernels::Weight<float>::from_dense(w);
  const auto bf16 = kernels::Weight<float>::from_host(w, WeightFormat::bf16);
  const Vector<float> bias = random(403, 1, 22);
  for (Eigen::Index rows : {1, 3, 4, 37}) {
    const RowMatrix<float> loc = random(rows, 261, 23);
    const RowMatrix<float> scale = random(rows, 261, 24).cwiseAbs();
    for (const auto* weight : {&dense, &bf16}) {
      const RowMatrix<double> a = (weight == &dense ? w : w16).cast<double>();
      const RowMatrix<double> loc_expected = (loc.cast<double>() * a.transpose()).rowwise() + bias.cast<double>().transpose();
      const RowMatrix<double> scale_expected = scale.cast<double>() * a.cwiseAbs().transpose();
      for (int threads : {1, 2}) {
        RowMatrix<float> loc_out, scale_out;
        kernels::cauchy_linear(loc, scale, *weight, std::span<const float>(bias.data(), 403), loc_out, scale_out, threads);
        CHECK((loc_out.cast<double>() - loc_expected).cwiseAbs().maxCoeff() < 1e-4);
        // Sums of positive terms of about 170: float rounding is relative.
        CHECK((scale_out.cast<double>() - scale_expected).cwiseAbs().maxCoeff() < 2e-6 * scale_expected.maxCoeff());
      }
    }
    // bfloat16 activations: batches on a bfloat16 W multiply the rounded loc and scale (products
    // exact, float sums); a few rows stay on the exact streaming kernel.
    const RowMatrix<double> a16 = w16.cast<double>();
    const RowMatrix<double> loc_rounded = (round_bf16(loc).cast<double>() * a16.transpose()).rowwise() + bias.cast<double>().transpose();
    const RowMatrix<double> scale_rounded = round_bf16(scale).cast<double>() * a16.cwiseAbs().transpose();
    const bool rounds = kernels::has_bf16_dot_kernel && rows >= kernels::gemm_min_rows;
    for (int threads : {1, 2}) {
      RowMatrix<float> loc_out, scale_out;
      kernels::cauchy_linear(loc, scale, bf16, std::span<const float>(bias.data(), 403), loc_out, scale_out, threads,
                             kernels::MatmulPrecision::bf16_activations);
      const RowMatrix<double> loc_exact = (loc.cast<double>() * a16.transpose()).rowwise() + bias.cast<double>().transpose();
      CHECK((loc_out.cast<double>() - (rounds ? loc_rounded : loc_exact)).cwiseAbs().maxCoeff() < 1e-4);
      const RowMatrix<double> scale_reference = rounds ? scale_rounded : RowMatrix<double>(scale.cast<double>() * a16.cwiseAbs().transpose());
      CHECK((scale_out.cast<double>() - scale_reference).cwiseAbs().maxCoeff() < 2e-6 * scale_reference.maxCoeff());
      if (rounds) CHECK((loc_out.cast<double>() - loc_exact).cwiseAbs().maxCoeff() > 1e-3);  // the fast path ran
    }
  }
  RowMatrix<float> a_out, b_out;
  CHECK_THROWS_AS(kernels::cauchy_linear(random(2, 5, 3), random(2, 5, 4), dense, std::span<const float>(), a_out, b_out, 1),
                  causalqwen::error);
}

#if defined(__AVX512BF16__)
TEST_CASE("split_bf16_pairs: three bfloat16 pieces hold a float exactly, two within 2^-16") {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  std::uniform_int_distribution<int> exponent(-100, 127);
  std::vector<float> x(301);  // odd: the last pair is half padding
  for (float& v : x) v = std::ldexp(mantissa(rng), exponent(rng)) * (rng() % 2 ? 1.0f : -1.0f);
  x[0] = std::numeric_limits<float>::max();  // would round to infinity as one bfloat16
  x[1] = -std::numeric_limits<float>::max();
  x[2] = 0.0f;
  const std::int64_t n = static_cast<std::int64_t>(x.size()), pairs = (n + 1) / 2;
  std::vector<std::uint32_t> three(static_cast<std::size_t>(3 * pairs)), two(static_cast<std::size_t>(2 * pairs));
  kernels::detail::split_bf16_pairs(x.data(), n, 3, three.data());
  kernels::detail::split_bf16_pairs(x.data(), n, 2, two.data());
  const auto piece = [&](const std::vector<std::uint32_t>& words, int q, std::int64_t i) {
    return static_cast<double>(io::bf16_to_float(static_cast<std::uint16_t>(words[static_cast<std::size_t>(q * pairs + i / 2)] >> (16 * (i % 2)))));
  };
  for (std::int64_t i = 0; i < n; ++i) {
    CAPTURE(x[static_cast<std::size_t>(i)]);
    const double v = x[static_cast<std::size_t>(i)];
    CHECK(piece(three, 0, i) + piece(three, 1, i) + piece(three, 2, i) == v);
    CHECK(std::abs(piece(two, 0, i) + piece(two, 1, i) - v) <= std::ldexp(std::abs(v), -16));
  }
  const std::uint32_t padding = three.back() >> 16;
  CHECK(padding == 0);
  const float special[] = {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  std::uint32_t words[2];
  kernels::detail::split_bf16_pairs(special, 2, 2, words);
  CHECK(std::isinf(io::bf16_to_float(static_cast<std::uint16_t>(words[0]))));
  const auto second = static_cast<std::uint16_t>(words[0] >> 16);
  CHECK(std::isnan(io::bf16_to_float(second)));
  CHECK(words[1] == 0);  // a non-finite input is its first piece alone
}
#endif

TEST_CASE("cauchy_linear_backward: against the dense formulas; the sum over threads is deterministic") {
  const RowMatrix<float> w = random(203, 67, 31);
  const auto dense = kernels::Weight<float>::from_dense(w);
  const auto bf16 = kernels::Weight<float>::from_host(w, WeightFormat::bf16);
  for (Eigen::Index rows : {1, 9}) {
    const RowMatrix<float> loc = random(rows, 67, 32), scale = random(rows, 67, 33).cwiseAbs();
    const RowMatrix<float> up_loc = random(rows, 203, 34), up_scale = random(rows, 203, 35);
    for (const auto* weight : {&dense, &bf16}) {
      const RowMatrix<double> a = (weight == &dense ? w : round_bf16(w)).cast<double>();
      const RowMatrix<double> d_weight = up_loc.cast<double>().transpose() * loc.cast<double>() +
                                         RowMatrix<double>(a.array().sign() * (up_scale.cast<double>().transpose() * scale.cast<double>()).array());
      const RowMatrix<double> d_loc = up_loc.cast<double>() * a;
      const RowMatrix<double> d_scale = up_scale.cast<double>() * a.cwiseAbs();
      RowMatrix<float> first_loc;
      for (int threads : {1, 2}) {
        RowMatrix<float> g_weight, g_loc, g_scale;
        Vector<float> g_bias(203);
        kernels::cauchy_linear_backward(loc, scale, *weight, up_loc, up_scale, g_weight, std::span<float>(g_bias.data(), 203),
                                        g_loc, g_scale, threads);
        CHECK((g_weight.cast<double>() - d_weight).cwiseAbs().maxCoeff() < 1e-4);
        CHECK((g_bias.cast<double>() - up_loc.cast<double>().colwise().sum().transpose()).cwiseAbs().maxCoeff() < 1e-4);
        CHECK((g_loc.cast<double>() - d_loc).cwiseAbs().maxCoeff() < 1e-4);
        CHECK((g_scale.cast<double>() - d_scale).cwiseAbs().maxCoeff() < 1e-4);
        RowMatrix<float> again_weight, again_loc, again_scale;
        kernels::cauchy_linear_backward(loc, scale, *weight, up_loc, up_scale, again_weight, std::span<float>(), again_loc,
                                        again_scale, threads);
        CHECK(again_loc == g_loc);  // the same thread count gives the same bits
      }
    }
  }
}

TEST_CASE("multiply: every transpose combination, accumulation, 1 and 2 threads") {
  const RowMatrix<float> a = random(37, 53, 41), b = random(53, 29, 42);
  const RowMatrix<double> expected = a.cast<double>() * b.cast<double>();
  for (int threads : {1, 2}) {
    RowMatrix<float> out;
    kernels::multiply(a, kernels::Op::none, b, kernels::Op::none, out, false, threads);
    CHECK((out.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4);
    const RowMatrix<float> at = a.transpose(), bt = b.transpose();
    kernels::multiply(at, kernels::Op::transpose, b, kernels::Op::none, out, false, threads);
    CHECK((out.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4);
    kernels::multiply(a, kernels::Op::none, bt, kernels::Op::transpose, out, false, threads);
    CHECK((out.cast<double>() - expected).cwiseAbs().maxCoeff() < 1e-4);
    kernels::multiply(at, kernels::Op::transpose, bt, kernels::Op::transpose, out, true, threads);
    CHECK((out.cast<double>() - 2 * expected).cwiseAbs().maxCoeff() < 1e-4);
  }
  RowMatrix<float> wrong(2, 2);
  CHECK_THROWS_AS(kernels::multiply(a, kernels::Op::none, b, kernels::Op::none, wrong, true, 1), causalqwen::error);
  CHECK_THROWS_AS(kernels::multiply(a, kernels::Op::none, a, kernels::Op::none, wrong, false, 1), causalqwen::error);
}

}  // namespace causalqwen_tests_kernels_cpu_kernels
