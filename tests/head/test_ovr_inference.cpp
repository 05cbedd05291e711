// OvR probabilities at extreme arguments, decisions, and the inference modes' formulas.
#include "fixtures.hpp"

#include <causalqwen/cauchy/sampling.hpp>
#include <causalqwen/head/inference.hpp>
#include <causalqwen/head/ovr.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <random>

namespace causalqwen_tests_head_ovr_inference {

using namespace causalqwen;
using namespace causalqwen::head;

TEST_CASE("OvR probabilities and logs stay accurate at extreme arguments") {
  RowMatrix<double> loc(1, 4), scale(1, 4);
  loc << -1e300, 1e300, -1e20, 0.0;
  scale << 1e-300, 1e-300, 1.0, 1e-200;
  const Vector<double> c = Vector<double>::Zero(4);
  const auto p = ovr_probabilities(loc, scale, c);
  const auto lp = log_ovr_probabilities(loc, scale, c);
  const auto lq = log_ovr_complements(loc, scale, c);
  CHECK(p(0, 0) == 0.0);  // 1/(pi 1e600) underflows, but its log does not:
  CHECK(lp(0, 0) == doctest::Approx(-600 * std::log(10.0) - std::log(std::numbers::pi)).epsilon(1e-14));
  CHECK(lq(0, 0) == doctest::Approx(0.0));
  CHECK(p(0, 1) == 1.0);
  CHECK(lq(0, 1) == doctest::Approx(-600 * std::log(10.0) - std::log(std::numbers::pi)).epsilon(1e-14));
  // z = -1e20: P = 1/(pi 1e20) (the naive 0.5 + atan(z)/pi gives 0).
  CHECK(p(0, 2) == doctest::Approx(1e-20 / std::numbers::pi).epsilon(1e-14));
  CHECK(lp(0, 2) == doctest::Approx(-20 * std::log(10.0) - std::log(std::numbers::pi)).epsilon(1e-14));
  CHECK(p(0, 3) == 0.5);
  // Thresholds shift the location.
  RowMatrix<double> l2(1, 2), s2(1, 2);
  l2 << 1.0, 1.0;
  s2 << 1.0, 1.0;
  Vector<double> c2(2);
  c2 << 1.0, 2.0;
  const auto p2 = ovr_probabilities(l2, s2, c2);
  CHECK(p2(0, 0) == 0.5);
  CHECK(p2(0, 1) == doctest::Approx(0.25));
  CHECK_THROWS_AS(ovr_probabilities(l2, s2, c), causalqwen::error);
  const auto d = ovr_decide(p2);
  CHECK(d.classes[0] == 0);
  CHECK(d.confidence(0) == 0.5);
}

TEST_CASE("inference modes follow their formulas") {
  Latent<double> u{RowMatrix<double>(2, 2), RowMatrix<double>(2, 2)};
  u.loc << 1, -2, 3, 4;
  u.scale << 0.5, 1, 2, 0.25;
  Vector<double> b(2);
  b << -0.4, 0.2;
  const double t = 1.5;
  auto run = [&](InferenceMode m, std::mt19937_64* rng = nullptr) { return perturb(u, b, {m, t}, rng); };
  CHECK(run(InferenceMode::deterministic).latent.scale.isZero(0));
  CHECK(run(InferenceMode::deterministic).latent.loc == u.loc);
  const auto exo = run(InferenceMode::exogenous).latent;
  CHECK(exo.scale(1, 0) == doctest::Approx(0.6));
  CHECK(exo.scale(0, 1) == doctest::Approx(0.3));
  CHECK(run(InferenceMode::endogenous).latent.scale == u.scale);
  const auto std_mode = run(InferenceMode::standard).latent;
  CHECK(std_mode.scale(1, 0) == doctest::Approx(2.6));
  CHECK(std_mode.loc == u.loc);
  std::mt19937_64 r1(5), r2(5);
  const auto s1 = run(InferenceMode::sampling, &r1);
  const auto s2 = run(InferenceMode::sampling, &r2);
  CHECK(s1.latent.loc == s2.latent.loc);  // seeded
  CHECK(s1.latent.scale == u.scale);
  CHECK(s1.latent.loc(1, 0) == doctest::Approx(3 + 0.6 * s1.draws(1, 0)));
  std::mt19937_64 r3(6);
  const auto cs = run(InferenceMode::causal_sample, &r3);
  CHECK(cs.latent.scale.isZero(0));
  CHECK(cs.latent.loc(0, 1) == doctest::Approx(-2 + 1 * cs.draws(0, 1)));
  CHECK_THROWS_AS(run(InferenceMode::sampling), causalqwen::error);  // no generator
  CHECK_THROWS_AS(perturb(u, b, {InferenceMode::standard, -1.0}), causalqwen::error);
  CHECK_THROWS_AS(perturb(u, Vector<double>(Vector<double>::Zero(3)), NoiseSettings<double>{}), causalqwen::error);
  CHECK(parse_inference_mode("causal-sample") == InferenceMode::causal_sample);
  CHECK(parse_inference_mode(to_string(InferenceMode::standard)) == InferenceMode::standard);
  CHECK_THROWS_AS(parse_inference_mode("greedy"), causalqwen::error);
}

TEST_CASE("standard mode default, point modes decide by margin and have no loss") {
  std::mt19937_64 rng(8);
  auto head = causalqwen::head::testing::random_head<double, ExpLink, LearnedThresholds>(6, 4, 5, rng);
  CHECK(head.noise_settings().mode == InferenceMode::standard);
  const auto h = causalqwen::head::testing::random_hidden<double>(10, 6, rng);
  const auto targets = causalqwen::head::testing::random_targets<double>(10, 5, rng);
  head.set_noise_settings({InferenceMode::deterministic, 1.0});
  const auto f = head.forward(h);
  const auto pred = head.decide(f.action);
  const auto& c = head.action().params().threshold;
  for (Eigen::Index i = 0; i < 10; ++i) {
    Eigen::Index best;
    (f.action.class_loc.row(i) - c.transpose()).maxCoeff(&best);
    CHECK(pred.classes[static_cast<std::size_t>(i)] == best);
  }
  CHECK_THROWS_WITH_AS(head.loss(h, targets, {}), doctest::Contains("non-positive scale"), causalqwen::error);
  head.set_noise_settings({InferenceMode::causal_sample, 1.0});
  std::mt19937_64 r(1);
  CHECK(head.predict(h, &r).classes.size() == 10);
  CHECK_THROWS_AS(head.set_noise_settings({InferenceMode::standard, std::nan("")}), causalqwen::error);
}

TEST_CASE_TEMPLATE("the random modes draw with the library's sampler (cauchy/sampling.hpp)", T, float, double) {
  Latent<T> u{RowMatrix<T>::Zero(3, 4), RowMatrix<T>::Ones(3, 4)};
  const Vector<T> b = Vector<T>::Ones(4);
  std::mt19937_64 rng(21), replay(21);
  const auto drawn = perturb(u, b, {InferenceMode::sampling, T(1)}, &rng);
  for (Eigen::Index i = 0; i < drawn.draws.size(); ++i)
    CHECK(drawn.draws.data()[i] == sample(Cauchy<T>(0, 1), replay).d_scale);
  // The smallest uniform draw is the far lower tail: a naive tan(pi (0 - 1/2)) is a huge value of
  // either sign (in float, pi/2 rounds up and the tangent is +2e7).
  struct ZeroBits {
    using result_type = std::uint64_t;
    static constexpr result_type min() { return 0; }
    static constexpr result_type max() { return ~result_type{0}; }
    result_type operator()() { return 0; }
  } zero;
  const auto low = perturb(u, b, {InferenceMode::causal_sample, T(1)}, &zero);
  CHECK((low.draws.array() < T(0)).all());
  CHECK(low.draws.allFinite());
}

}  // namespace causalqwen_tests_head_ovr_inference
