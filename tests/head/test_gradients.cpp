// Analytic gradients of the causal head against central finite differences in double, for every
// parameter block, every scale link, both threshold policies, every trainable noise mode and the
// loss options (gate alpha, gate gradient on/off, class reduction, ignore mask).
#include "fixtures.hpp"

#include <causalqwen/head/causal_head.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace causalqwen_tests_head_gradients {

using namespace causalqwen;
using namespace causalqwen::head;
using causalqwen::head::testing::random_head;
using causalqwen::head::testing::random_hidden;
using causalqwen::head::testing::random_targets;

namespace {

constexpr std::size_t H = 5, D = 4, K1 = 6, N = 9;

/// |a - b| / max(|a|, |b|, 1e-8) over a whole block, with norms in place of absolute values.
double block_relative_error(const Eigen::ArrayXd& analytic, const Eigen::ArrayXd& numeric) {
  const double diff = (analytic - numeric).matrix().norm();
  return diff / std::max({analytic.matrix().norm(), numeric.matrix().norm(), 1e-8});
}

template <class Head>
double loss_at(const Head& head, const RowMatrix<double>& h, const Targets<double>& t, const LossOptions<double>& o) {
  std::mt19937_64 rng(77);  // the same draws in every evaluation (sampling mode)
  return head.loss(h, t, o, &rng).total;
}

template <class Link, class Th>
void check_head(NoiseSettings<double> settings, LossOptions<double> options, std::size_t ignore_every,
                unsigned seed) {
  std::mt19937_64 rng(seed);
  auto head = random_head<double, Link, Th>(H, D, K1, rng, settings);
  const auto h = random_hidden<double>(N, H, rng);
  const auto targets = random_targets<double>(N, K1, rng, ignore_every);
  std::mt19937_64 draw(77);
  const auto [value, grad] = head.loss_and_gradient(h, targets, options, &draw);
  CHECK(value.total == doctest::Approx(loss_at(head, h, targets, options)).epsilon(1e-14));

  const double step = 1e-5;
  auto base = head.params();
  auto names = HeadParams<double>::block_names();
  std::vector<double> errors;
  std::size_t block_index = 0;
  for_each_block_pair(base, grad.params, [&](const std::string& name, const auto& block, const auto& analytic) {
    const bool fixed_threshold = !Th::learnable && name == "action.threshold";
    Eigen::ArrayXd numeric = Eigen::ArrayXd::Zero(block.size()), exact(block.size());
    for (Eigen::Index j = 0; j < block.size(); ++j) {
      exact(j) = analytic.data()[j];
      if (fixed_threshold) continue;  // C is not a parameter under ZeroThresholds
      auto perturbed = [&](double delta) {
        auto q = base;
        std::size_t bi = 0;
        for_each_block(q, [&](const std::string&, auto& b) {
          if (bi++ == block_index) b.data()[j] += delta;
        });
        auto copy = head;
        copy.set_params(std::move(q));
        return loss_at(copy, h, targets, options);
      };
      numeric(j) = (perturbed(step) - perturbed(-step)) / (2 * step);
    }
    if (fixed_threshold) {
      CHECK(exact.matrix().norm() == 0.0);
    } else {
      const double err = block_relative_error(exact, numeric);
      INFO("block ", name, " link ", Link::name(), " mode ", to_string(settings.mode), " rel err ", err);
      CHECK(err <= 1e-6);
      errors.push_back(err);
    }
    ++block_index;
  });
  CHECK(block_index == names.size());

  // dL/dh.
  Eigen::ArrayXd numeric(h.size()), exact(h.size());
  for (Eigen::Index j = 0; j < h.size(); ++j) {
    auto hp = h, hm = h;
    hp.data()[j] += step;
    hm.data()[j] -= step;
    numeric(j) = (loss_at(head, hp, targets, options) - loss_at(head, hm, targets, options)) / (2 * step);
    exact(j) = grad.hidden.data()[j];
  }
  const double err = block_relative_error(exact, numeric);
  INFO("dL/dh link ", Link::name(), " mode ", to_string(settings.mode), " rel err ", err);
  CHECK(err <= 1e-6);
}

template <class Link>
void check_link() {
  LossOptions<double> gated;
  gated.gate_alpha = 0.25;
  gated.lambda = 0.8;
  unsigned seed = 1;
  for (const auto mode : {InferenceMode::standard, InferenceMode::endogenous, InferenceMode::exogenous,
                          InferenceMode::sampling}) {
    NoiseSettings<double> s{mode, 0.7};
    SUBCASE((std::string(Link::name()) + " " + std::string(to_string(mode))).c_str()) {
      check_head<Link, LearnedThresholds>(s, gated, 4, seed++);
    }
  }
  SUBCASE("pure gate, mean reduction, zero thresholds") {
    LossOptions<double> o;
    o.gate_alpha = 0;
    o.class_reduction = ClassReduction::mean;
    check_head<Link, ZeroThresholds>({InferenceMode::standard, 1.3}, o, 0, 11);
  }
  SUBCASE("pure gate with gate gradient, sum reduction") {
    check_head<Link, LearnedThresholds>({InferenceMode::standard, 0.5}, LossOptions<double>{}, 3, 12);
  }
  SUBCASE("no gate (alpha = 1)") {
    LossOptions<double> o;
    o.gate_alpha = 1;
    o.lambda = 2;
    check_head<Link, LearnedThresholds>({InferenceMode::standard, 1.0}, o, 0, 13);
  }
}

}  // namespace

TEST_CASE("finite differences: exp link") { check_link<ExpLink>(); }
TEST_CASE("finite differences: softplus link") { check_link<SoftplusLink>(); }
TEST_CASE("finite differences: identity link") { check_link<IdentityLink>(); }

TEST_CASE("a detached gate passes no gradient to P_<NUM>, and only there differs from the attached one") {
  std::mt19937_64 rng(5);
  auto head = random_head<double, ExpLink, LearnedThresholds>(H, D, K1, rng);
  const auto h = random_hidden<double>(N, H, rng);
  const auto targets = random_targets<double>(N, K1, rng);
  LossOptions<double> attached;
  attached.gate_alpha = 0.2;
  auto detached = attached;
  detached.gate_gradient = false;
  const auto f = head.forward(h);
  const auto a = causal_loss(f.action, head.action().params().threshold, targets, attached);
  const auto b = causal_loss(f.action, head.action().params().threshold, targets, detached);
  CHECK(a.value.total == b.value.total);
  const auto num = static_cast<Eigen::Index>(K1 - 1);
  CHECK(a.gradient.class_loc.leftCols(num) == b.gradient.class_loc.leftCols(num));
  CHECK(a.gradient.class_scale.leftCols(num) == b.gradient.class_scale.leftCols(num));
  CHECK(a.gradient.value_loc == b.gradient.value_loc);
  CHECK(a.gradient.value_scale == b.gradient.value_scale);
  // The difference at <NUM> is exactly lambda * NLL * (1 - alpha) * dP/d(loc, scale) / N at <NUM> targets.
  const auto& p = head.action().params();
  for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(N); ++i) {
    const double margin = f.action.class_loc(i, num) - p.threshold(num);
    const double scale = f.action.class_scale(i, num);
    const bool is_num = targets.classes[static_cast<std::size_t>(i)] == static_cast<std::int32_t>(num);
    const double nll = is_num ? stable::cauchy_nll(targets.values(i), f.action.value_loc(i), f.action.value_scale(i)) : 0;
    const double factor = attached.lambda * nll * (1 - attached.gate_alpha) / double(N) / std::numbers::pi;
    const double d_loc = factor * scale / (margin * margin + scale * scale);
    const double d_scale = -factor * margin / (margin * margin + scale * scale);
    CHECK(a.gradient.class_loc(i, num) - b.gradient.class_loc(i, num) == doctest::Approx(d_loc).epsilon(1e-12));
    CHECK(a.gradient.class_scale(i, num) - b.gradient.class_scale(i, num) == doctest::Approx(d_scale).epsilon(1e-12));
  }
}

TEST_CASE("a training loop's workspace: reused buffers give the results of fresh ones, across batch sizes") {
  std::mt19937_64 rng(5);
  const NoiseSettings<double> settings{InferenceMode::standard, 1.0};
  const auto head = random_head<double, ExpLink, LearnedThresholds>(H, D, K1, rng, settings);
  const auto h = random_hidden<double>(N, H, rng);
  const auto targets = random_targets<double>(N, K1, rng, 4);
  const auto small_h = random_hidden<double>(3, H, rng);
  const auto small_targets = random_targets<double>(3, K1, rng);
  const LossOptions<double> options;
  const auto [value, fresh] = head.loss_and_gradient(h, targets, options);

  HeadWorkspace<double> workspace;
  const auto first = head.loss_and_gradient(h, targets, options, workspace);
  head.loss_and_gradient(small_h, small_targets, options, workspace);  // other shapes in between
  CHECK(workspace.gradient.hidden.rows() == 3);
  const auto again = head.loss_and_gradient(h, targets, options, workspace);
  for (const auto& v : {first, again}) {
    CHECK(v.total == value.total);
    CHECK(v.positions == value.positions);
  }
  for_each_block_pair(fresh.params, workspace.gradient.params,
                      [](const std::string& name, const auto& expected, const auto& got) {
                        INFO(name);
                        CHECK(got == expected);
                      });
  CHECK(workspace.gradient.hidden == fresh.hidden);
  const auto forward = head.forward(h);
  CHECK(workspace.forward.action.class_loc == forward.action.class_loc);
  CHECK(workspace.forward.action.class_scale == forward.action.class_scale);
  CHECK(workspace.forward.action.value_scale == forward.action.value_scale);
}

}  // namespace causalqwen_tests_head_gradients
