// Abduction and action layers: shapes, initialisations, closure formulas, the blocked |A| kernel
// against a naive reference, bad input.
#include "fixtures.hpp"

#include <causalqwen/head/abduction.hpp>
#include <causalqwen/head/action.hpp>
#include <causalqwen/head/scale_link.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>

namespace causalqwen_tests_head_layers {

using namespace causalqwen;
using namespace causalqwen::head;
using causalqwen::head::testing::random_hidden;

TEST_CASE("scale links: values, derivatives, inverses, names") {
  CHECK(ExpLink::apply(0.5) == doctest::Approx(std::exp(0.5)));
  CHECK(ExpLink::inverse(ExpLink::apply(0.3)) == doctest::Approx(0.3));
  CHECK(SoftplusLink::apply(800.0) == 800.0);  // no overflow
  CHECK(SoftplusLink::apply(-800.0) >= 0.0);
  CHECK(SoftplusLink::apply(0.0) == doctest::Approx(std::log(2.0)));
  CHECK(SoftplusLink::derivative(0.0) == doctest::Approx(0.5));
  CHECK(SoftplusLink::apply(SoftplusLink::inverse(1e-6)) == doctest::Approx(1e-6).epsilon(1e-9));
  CHECK(SoftplusLink::apply(SoftplusLink::inverse(50.0)) == doctest::Approx(50.0));
  CHECK(IdentityLink::apply(2.0) == 2.0);
  CHECK_THROWS_AS(IdentityLink::apply(0.0), causalqwen::error);
  CHECK_THROWS_AS(IdentityLink::apply(-1.0f), causalqwen::error);
  CHECK_THROWS_AS(ExpLink::inverse(0.0), causalqwen::error);
  CHECK(ExpLink::name() == "exp");
  CHECK(SoftplusLink::name() == "softplus");
  CHECK(IdentityLink::name() == "identity");
}

TEST_CASE_TEMPLATE("abduction: identity init gives loc = h and a constant scale", Link, ExpLink, SoftplusLink,
                   IdentityLink) {
  std::mt19937_64 rng(1);
  const auto net = AbductionNetwork<double, Link>::identity(8, 8, 0.25);
  const auto h = random_hidden<double>(5, 8, rng);
  const auto out = net.forward(h);
  CHECK((out.loc - h).cwiseAbs().maxCoeff() == 0.0);
  CHECK((out.scale.array() - 0.25).abs().maxCoeff() < 1e-15);
  // D < H keeps the first D coordinates.
  const auto narrow = AbductionNetwork<double, Link>::identity(8, 3, 2.0);
  CHECK((narrow.forward(h).loc - h.leftCols(3)).cwiseAbs().maxCoeff() == 0.0);
}

TEST_CASE("abduction: batch rows equal single-row forwards; random init is seeded") {
  std::mt19937_64 a(9), b(9);
  AbductionInit<float> init;
  init.scale_weight_std = 0.05f;
  const auto net = AbductionNetwork<float>::random(6, 4, a, init);
  const auto same = AbductionNetwork<float>::random(6, 4, b, init);
  CHECK(net.params().loc_weight == same.params().loc_weight);
  CHECK(net.params().scale_weight == same.params().scale_weight);
  std::mt19937_64 rng(3);
  const auto h = random_hidden<float>(7, 6, rng);
  const auto batch = net.forward(h);
  for (Eigen::Index i = 0; i < h.rows(); ++i) {
    const auto one = net.forward_row(h.row(i));
    CHECK((one.loc.row(0) - batch.loc.row(i)).cwiseAbs().maxCoeff() <= 1e-6f);
    CHECK((one.scale.row(0) - batch.scale.row(i)).cwiseAbs().maxCoeff() <= 1e-6f);
  }
  CHECK((batch.scale.array() > 0).all());
}

TEST_CASE("abduction params: +, -, scalar *, norms (domain deltas)") {
  auto base = AbductionParams<double>::zeros(3, 2);
  base.loc_weight.setConstant(1.0);
  auto delta = zeros_like(base);
  delta.loc_bias << 0.5, -0.5;
  delta.scale_weight(1, 2) = 2.0;
  const auto fused = base + 0.5 * delta;
  CHECK(fused.loc_bias(0) == 0.25);
  CHECK(fused.scale_weight(1, 2) == 1.0);
  CHECK((fused - base).loc_bias(1) == -0.25);
  CHECK(squared_norm(delta) == doctest::Approx(0.25 + 0.25 + 4.0));
  CHECK(parameter_count(delta) == 3 * 2 * 2 + 2 * 2);
  auto other = AbductionParams<double>::zeros(4, 2);
  CHECK_THROWS_AS(base + other, causalqwen::error);
}

TEST_CASE("abduction: bad shapes, NaN and non-positive identity scales are errors") {
  const auto net = AbductionNetwork<double>::identity(4, 4);
  CHECK_THROWS_AS(net.forward(RowMatrix<double>::Zero(3, 5)), causalqwen::error);
  RowMatrix<double> h = RowMatrix<double>::Zero(2, 4);
  h(1, 2) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(net.forward(h), causalqwen::error);
  auto p = net.params();
  p.loc_bias.resize(3);
  CHECK_THROWS_AS(AbductionNetwork<double>{p}, causalqwen::error);
  auto q = net.params();
  q.scale_weight(0, 0) = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(AbductionNetwork<double>{q}, causalqwen::error);
  // Identity link: scale = W h + b; h = -2 e_0 with W_scale = e_0 e_0^T, b = 1 gives scale -1.
  auto r = AbductionParams<double>::zeros(4, 4);
  r.scale_weight(0, 0) = 1.0;
  r.scale_bias.setConstant(1.0);
  const AbductionNetwork<double, IdentityLink> lin(r);
  RowMatrix<double> x = RowMatrix<double>::Zero(1, 4);
  x(0, 0) = -2.0;
  CHECK_THROWS_WITH_AS(lin.forward(x), doctest::Contains("IdentityLink"), causalqwen::error);
  x(0, 0) = 2.0;
  CHECK(lin.forward(x).scale(0, 0) == 3.0);
  CHECK_THROWS_AS(net.backward(x, net.forward(x), RowMatrix<double>::Zero(2, 4), RowMatrix<double>::Zero(1, 4)),
                  causalqwen::error);
}

TEST_CASE("action: closure formulas with |A| and the blocked kernel equal a naive reference") {
  std::mt19937_64 rng(4);
  // 300 classes: more than two row blocks, with a partial last block.
  auto net = ActionNetwork<double>::random(300, 5, rng);
  auto p = net.params();
  std::normal_distribution<double> normal(0, 1);
  for (Eigen::Index i = 0; i < p.class_bias.size(); ++i) p.class_bias(i) = normal(rng);
  p.value_bias(0) = -1.5;
  net.set_params(p);
  Latent<double> u{random_hidden<double>(7, 5, rng), random_hidden<double>(7, 5, rng).cwiseAbs()};
  const auto out = net.forward(u);
  const RowMatrix<double> loc = (u.loc * p.class_weight.transpose()).rowwise() + p.class_bias.transpose();
  const RowMatrix<double> scale = u.scale * p.class_weight.cwiseAbs().transpose();
  CHECK((out.class_loc - loc).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((out.class_scale - scale).cwiseAbs().maxCoeff() < 1e-12);
  // The wrong closure |A scale| differs: a test that would catch it.
  CHECK((out.class_scale - (u.scale * p.class_weight.transpose()).cwiseAbs()).cwiseAbs().maxCoeff() > 1e-3);
  const Vector<double> y_loc = (u.loc * p.value_weight).array() - 1.5;
  CHECK((out.value_loc - y_loc).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((out.value_scale - u.scale * p.value_weight.cwiseAbs()).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("action: init from an output layer copies A") {
  std::mt19937_64 rng(2);
  const RowMatrix<float> lm_head = random_hidden<float>(10, 4, rng);
  const auto full = ActionNetwork<float>::from_output_layer(lm_head, 10, rng);
  CHECK(full.params().class_weight == lm_head);
  const auto plus_num = ActionNetwork<float>::from_output_layer(lm_head, 11, rng);
  CHECK(plus_num.params().class_weight.topRows(10) == lm_head);
  CHECK(plus_num.params().class_weight.row(10).norm() > 0);
  CHECK(plus_num.num_class() == 10);
  CHECK_THROWS_AS(ActionNetwork<float>::from_output_layer(lm_head, 13, rng), causalqwen::error);
}

TEST_CASE("action: zero thresholds are enforced, bad input rejected") {
  std::mt19937_64 rng(2);
  auto net = ActionNetwork<double, ZeroThresholds>::random(4, 3, rng);
  auto p = net.params();
  p.threshold(1) = 0.5;
  CHECK_THROWS_AS(net.set_params(p), causalqwen::error);
  Latent<double> u{RowMatrix<double>::Zero(2, 3), RowMatrix<double>::Ones(2, 3)};
  u.scale(0, 0) = -1;
  CHECK_THROWS_AS(net.forward(u), causalqwen::error);
  u.scale(0, 0) = 1;
  u.loc(1, 1) = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_AS(net.forward(u), causalqwen::error);
  CHECK_THROWS_AS(net.forward(Latent<double>{RowMatrix<double>::Zero(2, 4), RowMatrix<double>::Ones(2, 4)}),
                  causalqwen::error);
  CHECK_THROWS_AS(ActionNetwork<double>::random(1, 3, rng), causalqwen::error);
}

}  // namespace causalqwen_tests_head_layers
