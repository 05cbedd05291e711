// Fusion reports over hidden states: the certified bound holds at every position of >= 1e4 random
// fusions (exp and identity links), the exact KL is the KL of the fused weights' law, positions
// without a fused law are flagged, and a link without a theorem says so.
#include <causalqwen/domain/fusion.hpp>
#include <causalqwen/domain/fusion_report.hpp>
#include <causalqwen/domain/knowledge_delta.hpp>
#include <causalqwen/head/abduction.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace causalqwen_tests_domain_fusion_report {

using namespace causalqwen;
using namespace causalqwen::domain;

namespace {

struct Counts {
  std::size_t fusions = 0, positions = 0, with_bound = 0, with_exact = 0, not_positive = 0, estimate_exceeded = 0;
  std::size_t violations = 0;
  double max_ratio = 0;
};

RowMatrix<double> gaussian(Eigen::Index rows, Eigen::Index cols, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, 1);
  RowMatrix<double> m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = scale * normal(rng);
  return m;
}

Vector<double> gaussian(Eigen::Index n, double scale, std::mt19937_64& rng) {
  return Vector<double>(gaussian(n, 1, scale, rng).col(0));
}

Vector<double> random_alpha(std::size_t k, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  Vector<double> a(static_cast<Eigen::Index>(k));
  const int mode = static_cast<int>(u(rng) * 4);
  for (auto& x : a) {
    const double v = u(rng);
    x = mode == 0 ? v : mode == 1 ? 4 * v - 2 : mode == 2 ? 3 * v : (v < 0.5 ? -1 : 1) * (0.5 + u(rng));
  }
  if (mode == 0) a /= a.sum();  // convex weights
  return a;
}

template <class Link>
void random_fusions(std::size_t count, Counts& c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> hs(3, 6), ds(1, 4), ks(1, 3);
  std::uniform_real_distribution<double> log_size(-4.0, 0.5);
  for (std::size_t f = 0; f < count; ++f) {
    const auto h = hs(rng), d = ds(rng);
    const auto k = static_cast<std::size_t>(ks(rng));
    head::AbductionParams<double> base{gaussian(d, h, 1.0 / std::sqrt(h), rng), gaussian(d, 0.3, rng),
                                       gaussian(d, h, 0.1, rng), gaussian(d, 0.5, rng)};
    if constexpr (std::is_same_v<Link, head::IdentityLink>) base.scale_bias.array() = base.scale_bias.array().abs() + 1.5;
    std::vector<KnowledgeDelta<double>> deltas;
    for (std::size_t j = 0; j < k; ++j) {
      const double size = std::pow(10.0, log_size(rng));
      head::AbductionParams<double> step{gaussian(d, h, size / std::sqrt(h), rng), gaussian(d, size, rng),
                                         gaussian(d, h, size / std::sqrt(h), rng), gaussian(d, size, rng)};
      if (j == 0 && f % 3 == 0) step.scale_bias.array() = -std::abs(size) - 0.2;  // a shrinking domain
      deltas.push_back(make_delta<Link>(std::string("domain"), base, base + step, 0.0, 0.0, 0.0));
    }
    const auto alpha = random_alpha(k, rng);
    const RowMatrix<double> hidden = gaussian(4, h, 1.0, rng);
    const auto report = fusion_report<Link>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha, hidden);
    ++c.fusions;
    c.violations += report.summary.violations;
    c.not_positive += report.summary.scale_not_positive;
    c.estimate_exceeded += report.summary.estimate_exceeded;
    for (const auto& p : report.positions) {
      ++c.positions;
      if (p.exact_kl) ++c.with_exact;
      if (!p.bound) continue;
      ++c.with_bound;
      // The bound certifies the fused law's existence and its KL.
      REQUIRE(p.exact_kl.has_value());
      REQUIRE(p.exact_kl.value() <= p.bound.value().value);
      REQUIRE_FALSE(p.fused_scale_not_positive);
      if (p.bound.value().value > 0) c.max_ratio = std::max(c.max_ratio, p.exact_kl.value() / p.bound.value().value);
    }
  }
}

}  // namespace

TEST_CASE("certified bound >= exact KL at every position of 1e4 random fusions (exp link)") {
  Counts c;
  random_fusions<head::ExpLink>(6000, c, 1);
  INFO("positions ", c.positions, ", bounded ", c.with_bound, ", design estimate exceeded ", c.estimate_exceeded,
       ", max exact/bound ", c.max_ratio);
  CHECK(c.violations == 0);
  CHECK(c.with_bound == c.positions);         // the log link always has Theorem 2a/2b
  CHECK(c.estimate_exceeded > c.positions / 50);  // the design estimate is not a bound: the test is not vacuous
  CHECK(c.max_ratio > 0.5);
  MESSAGE("exp link: ", c.fusions, " fusions, ", c.positions, " positions, design estimate exceeded at ",
          c.estimate_exceeded, ", max exact/bound ", c.max_ratio);
}

TEST_CASE("certified bound >= exact KL at every position of random fusions (identity link)") {
  Counts c;
  random_fusions<head::IdentityLink>(5000, c, 2);
  INFO("positions ", c.positions, ", bounded ", c.with_bound, ", not positive ", c.not_positive);
  CHECK(c.violations == 0);
  CHECK(c.with_bound > c.positions / 3);
  CHECK(c.not_positive > 0);  // some fusions leave the identity link's domain: they are flagged
  CHECK(c.with_exact + c.not_positive >= c.positions - c.positions / 10);
  MESSAGE("identity link: ", c.fusions, " fusions, ", c.positions, " positions, ", c.with_bound, " bounded, ",
          c.not_positive, " flagged non-positive, max exact/bound ", c.max_ratio);
}

TEST_CASE("the exact KL is the KL between the base and the fused weights' laws") {
  std::mt19937_64 rng(9);
  const int h = 5, d = 3;
  head::AbductionParams<double> base{gaussian(d, h, 0.4, rng), gaussian(d, 0.3, rng), gaussian(d, h, 0.1, rng),
                                     gaussian(d, 0.5, rng)};
  std::vector<KnowledgeDelta<double>> deltas;
  for (const char* name : {"a", "b"})
    deltas.push_back(make_delta<head::ExpLink>(std::string(name), base,
                                               base + head::AbductionParams<double>{gaussian(d, h, 0.2, rng),
                                                                                    gaussian(d, 0.2, rng),
                                                                                    gaussian(d, h, 0.2, rng),
                                                                                    gaussian(d, 0.2, rng)},
                                               0.0, 0.0, 0.0));
  Vector<double> alpha(2);
  alpha << 0.7, 0.6;
  const RowMatrix<double> hidden = gaussian(20, h, 1.0, rng);
  const auto span = std::span<const KnowledgeDelta<double>>(deltas);
  const auto report = fusion_report<head::ExpLink>(base, span, alpha, hidden);
  const head::AbductionNetwork<double> b(base), fused(fuse_abduction<head::ExpLink>(base, span, alpha));
  const head::AbductionNetwork<double> first(apply_delta<head::ExpLink>(base, deltas[0]));
  const auto lb = b.forward(hidden), lf = fused.forward(hidden), l0 = first.forward(hidden);
  for (Eigen::Index r = 0; r < hidden.rows(); ++r) {
    double kl = 0, kl0 = 0;
    for (Eigen::Index i = 0; i < d; ++i) {
      kl += stable::kl_divergence(lb.loc(r, i), lb.scale(r, i), lf.loc(r, i), lf.scale(r, i));
      kl0 += stable::kl_divergence(lb.loc(r, i), lb.scale(r, i), l0.loc(r, i), l0.scale(r, i));
    }
    const auto& p = report.positions[static_cast<std::size_t>(r)];
    CHECK(p.exact_kl.value() == doctest::Approx(kl).epsilon(1e-9));
    CHECK(p.domain_kl[0].value() == doctest::Approx(kl0).epsilon(1e-9));
    const double e = std::pow(0.7 * std::sqrt(p.domain_kl[0].value()) + 0.6 * std::sqrt(p.domain_kl[1].value()), 2);
    CHECK(p.design_estimate.value() == doctest::Approx(e).epsilon(1e-12));
  }
  CHECK(report.certified());
  CHECK(report.summary.with_bound == 20);
  CHECK(report.summary.mean_exact_kl <= report.summary.mean_bound);
  CHECK(report.domains == std::vector<std::string>{"a", "b"});
}

TEST_CASE("identity link: a fusion that drives a scale to <= 0 is flagged, never given a number") {
  const int h = 2, d = 1;
  head::AbductionParams<double> base{RowMatrix<double>::Zero(d, h), Vector<double>::Zero(d),
                                     RowMatrix<double>::Zero(d, h), Vector<double>::Constant(d, 1.0)};
  auto shrink = base;
  shrink.scale_bias(0) = 0.5;  // each domain halves the scale
  std::vector<KnowledgeDelta<double>> deltas{make_delta<head::IdentityLink>(std::string("s1"), base, shrink, 0.0, 0.0, 0.0),
                                             make_delta<head::IdentityLink>(std::string("s2"), base, shrink, 0.0, 0.0, 0.0)};
  Vector<double> alpha(2);
  alpha << 1.0, 1.0;  // fused scale 1 - 0.5 - 0.5 = 0: no law (math.md counterexample C2)
  const auto report = fusion_report<head::IdentityLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha,
                                                        RowMatrix<double>::Zero(3, h));
  CHECK(report.summary.scale_not_positive == 3);
  CHECK(report.summary.violations == 0);
  for (const auto& p : report.positions) {
    CHECK(p.fused_scale_not_positive);
    CHECK_FALSE(p.exact_kl.has_value());
    CHECK_FALSE(p.bound.has_value());
    CHECK(p.design_estimate.has_value());  // the estimate exists (0.471) although there is no fused law
  }
}

TEST_CASE("softplus link: exact KL reported, no certified bound, and the reason says why") {
  std::mt19937_64 rng(10);
  const int h = 4, d = 2;
  head::AbductionParams<double> base{gaussian(d, h, 0.4, rng), gaussian(d, 0.3, rng), gaussian(d, h, 0.1, rng),
                                     gaussian(d, 0.5, rng)};
  std::vector<KnowledgeDelta<double>> deltas{make_delta<head::SoftplusLink>(
      std::string("a"), base,
      base + head::AbductionParams<double>{gaussian(d, h, 0.1, rng), gaussian(d, 0.1, rng), gaussian(d, h, 0.1, rng),
                                           gaussian(d, 0.1, rng)},
      0.0, 0.0, 0.0)};
  Vector<double> alpha(1);
  alpha << 1.0;
  const auto report = fusion_report<head::SoftplusLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha,
                                                        gaussian(5, h, 1.0, rng));
  CHECK(report.summary.with_bound == 0);
  CHECK(report.summary.with_exact_kl == 5);
  CHECK(report.positions[0].bound.reason().find("softplus") != std::string::npos);
  // with alpha = 1 and one delta, the fused law is the domain's own
  CHECK(report.positions[0].exact_kl.value() == doctest::Approx(report.positions[0].domain_kl[0].value()));
  CHECK_THROWS_AS(fusion_report<head::SoftplusLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha,
                                                    gaussian(5, h + 1, 1.0, rng)),
                  causalqwen::error);
}

TEST_CASE("exp link: a delta that shrinks a scale by e^-40 is certified with its exact KL, not a violation") {
  const int h = 2, d = 1;
  head::AbductionParams<double> base{RowMatrix<double>::Zero(d, h), Vector<double>::Zero(d),
                                     RowMatrix<double>::Zero(d, h), Vector<double>::Zero(d)};
  auto shrink = base;
  shrink.scale_bias(0) = -40.0;  // raw log-scale displacement -40: g_j / g0 = 4e-18, below the rounding unit
  std::vector<KnowledgeDelta<double>> deltas{make_delta<head::ExpLink>(std::string("tiny"), base, shrink, 0.0, 0.0, 0.0)};
  Vector<double> alpha(1);
  alpha << 0.5;
  const auto report = fusion_report<head::ExpLink>(base, std::span<const KnowledgeDelta<double>>(deltas), alpha,
                                                   RowMatrix<double>::Zero(2, h));
  CHECK(report.summary.violations == 0);
  CHECK(report.summary.with_exact_kl == 2);
  // KL between Cauchy(0, 1) and Cauchy(0, e^-20): 2 log cosh(10) = 18.6137...
  CHECK(report.positions[0].exact_kl.value() == doctest::Approx(2 * std::log(std::cosh(10.0))).epsilon(1e-13));
}

}  // namespace causalqwen_tests_domain_fusion_report
