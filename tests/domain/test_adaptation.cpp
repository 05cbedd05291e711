// KL-anchored adaptation of the abduction: lambda = 0 is plain fine-tuning, a huge lambda keeps the
// delta at 0, budget mode lands within 5 % of its budget, and the anchor's gradient is right.
#include "fixtures.hpp"

#include <causalqwen/domain/adaptation.hpp>
#include <causalqwen/domain/kl_anchor.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/train/head_training.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>

namespace causalqwen_tests_domain_adaptation {

using namespace causalqwen;
using namespace causalqwen::domain;

namespace {

AdaptationOptions<double> options(double lambda) {
  AdaptationOptions<double> o;
  o.epochs = 6;
  o.batch_size = 50;
  o.optimizer.learning_rate = 0.02;
  o.kl_weight = lambda;
  o.seed = 11;
  return o;
}

double delta_norm(const head::AbductionParams<double>& a, const head::AbductionParams<double>& b) {
  return std::sqrt(head::squared_norm(a - b));
}

struct Setup {
  train::SyntheticTask<double> task{domain::testing::small_task()};
  train::Dataset<double> domain_data = domain::testing::shifted_domain(task, 3).sample(600, 5);
  head::CausalHead<double> base = domain::testing::base_head(task);
};

}  // namespace

TEST_CASE("lambda = 0 is plain fine-tuning of the abduction (train::train_head with action and noise frozen)") {
  Setup s;
  const auto adapted = adapt_abduction(s.base, s.domain_data, options(0.0));

  auto plain = s.base;
  train::HeadTrainingOptions<double> t;
  t.epochs = 6;
  t.batch_size = 50;
  t.optimizer.learning_rate = 0.02;
  t.seed = 11;
  t.frozen = {"action.", "noise."};
  train::train_head(plain, s.domain_data, t);

  CHECK(adapted.steps == 6 * 12);
  const double moved = delta_norm(adapted.adapted, s.base.abduction().params());
  CHECK(moved > 0.05);
  CHECK(delta_norm(adapted.adapted, plain.abduction().params()) <= 1e-12 * moved);
  CHECK(adapted.kl_weight == 0);
  CHECK(adapted.mean_kl > 0);
  CHECK(adapted.max_kl >= adapted.mean_kl);
}

TEST_CASE("a large lambda keeps the delta near 0; the delta shrinks as lambda grows") {
  Setup s;
  const auto& w0 = s.base.abduction().params();
  double previous = delta_norm(adapt_abduction(s.base, s.domain_data, options(0.0)).adapted, w0);
  double previous_kl = 1e300;
  for (const double lambda : {1.0, 100.0, 1e6}) {
    auto o = options(lambda);
    if (lambda >= 1e6) o.optimizer.learning_rate = 1e-4;  // Adam's step does not shrink with the gradient
    const auto r = adapt_abduction(s.base, s.domain_data, o);
    const double norm = delta_norm(r.adapted, w0);
    INFO("lambda = ", lambda, ": |delta| = ", norm, ", mean KL = ", r.mean_kl);
    CHECK(norm < previous);
    CHECK(r.mean_kl < previous_kl);
    previous = norm;
    previous_kl = r.mean_kl;
  }
  CHECK(previous < 1e-2);
  CHECK(previous_kl < 1e-5);
}

TEST_CASE("budget mode ends within 5 % of its budget on the training data") {
  Setup s;
  const auto plain = adapt_abduction(s.base, s.domain_data, options(0.0));
  for (const double share : {0.05, 0.3}) {
    auto o = options(0.0);
    const double eps = share * plain.mean_kl;
    o.kl_budget = eps;
    const auto r = adapt_abduction(s.base, s.domain_data, o);
    // The achieved KL is measured independently of the trainer.
    auto adapted = s.base;
    adapted.abduction().set_params(r.adapted);
    const auto kl = kl_anchor(s.base.abduction().forward(s.domain_data.hidden).latent(),
                              adapted.abduction().forward(s.domain_data.hidden).latent());
    INFO("eps = ", eps, ", achieved ", kl.mean, ", lambda ", r.kl_weight, ", delta scale ", r.delta_scale);
    CHECK(kl.mean == doctest::Approx(r.mean_kl).epsilon(1e-12));
    CHECK(kl.max == doctest::Approx(r.max_kl).epsilon(1e-12));
    CHECK(kl.mean <= eps);
    CHECK(kl.mean >= 0.95 * eps);
    CHECK(r.kl_weight > 0);
    CHECK(r.task_loss < plain.task_loss * 2);
  }
}

TEST_CASE("the anchor's gradient matches central differences") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0, 1);
  const Eigen::Index n = 5, d = 3;
  head::Latent<double> base{RowMatrix<double>(n, d), RowMatrix<double>(n, d)};
  head::Latent<double> adapted = base;
  for (Eigen::Index i = 0; i < n * d; ++i) {
    base.loc.data()[i] = normal(rng);
    base.scale.data()[i] = std::exp(0.5 * normal(rng));
    adapted.loc.data()[i] = base.loc.data()[i] + 0.7 * normal(rng);
    adapted.scale.data()[i] = base.scale.data()[i] * std::exp(0.4 * normal(rng));
  }
  const double weight = 2.5;
  const auto a = kl_anchor(base, adapted, weight);
  CHECK(a.mean == doctest::Approx(a.per_position.sum() / double(n)));
  const double h = 1e-6;
  for (Eigen::Index i = 0; i < n * d; ++i) {
    for (int which = 0; which < 2; ++which) {
      auto plus = adapted, minus = adapted;
      (which ? plus.scale : plus.loc).data()[i] += h;
      (which ? minus.scale : minus.loc).data()[i] -= h;
      const double fd = weight * (kl_anchor(base, plus).mean - kl_anchor(base, minus).mean) / (2 * h);
      const double analytic = (which ? a.d_scale : a.d_loc).data()[i];
      CHECK(analytic == doctest::Approx(fd).epsilon(1e-6));
    }
  }
  CHECK_THROWS_AS(kl_anchor(base, head::Latent<double>{RowMatrix<double>(n, d + 1), RowMatrix<double>(n, d + 1)}),
                  causalqwen::error);
}

TEST_CASE("bad options are errors") {
  Setup s;
  auto o = options(-1.0);
  CHECK_THROWS_AS(adapt_abduction(s.base, s.domain_data, o), causalqwen::error);
  o = options(0.0);
  o.kl_budget = 0.0;
  CHECK_THROWS_AS(adapt_abduction(s.base, s.domain_data, o), causalqwen::error);
  o = options(0.0);
  o.batch_size = 0;
  CHECK_THROWS_AS(adapt_abduction(s.base, s.domain_data, o), causalqwen::error);
}

}  // namespace causalqwen_tests_domain_adaptation
