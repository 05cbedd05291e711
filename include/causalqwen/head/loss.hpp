#pragma once
// The causal head's training loss over a batch of N positions (ignored positions excluded):
//
//   L_i = R( sum_k BCE(P_ik, y_ik) ) + lambda * 1[t_i = <NUM>] * g_i * CauchyNLL(v_i | loc_Y_i, scale_Y_i)
//   g_i = alpha + (1 - alpha) * P_i,<NUM>          L = (1 / N_valid) sum_i L_i
//
// with P_ik = P(S_ik > C_k), y_ik = 1[t_i = k] and R the class reduction: `sum` (the design's
// sum over the K+1 classes; each class weighs 1, so lambda competes with K+1 BCE terms) or `mean`
// (divides by K+1; the class term stays O(1) whatever the vocabulary, and lambda must shrink
// accordingly to keep the same balance). alpha = 0 is the design's pure gate (the value only
// counts as much as the model believes in <NUM>); alpha = 1 switches gating off. With
// `gate_gradient` (default, as in the design) the gate passes gradient to P_<NUM>: a large NLL
// then also pushes P_<NUM> down; without it g is a constant weight.
// Gradients are analytic, w.r.t. every output of the action (ActionUpstream); the layers carry
// them further. Per-class formulas: docs/math.md (e).

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/backend/cpu_backend.hpp>
#include <causalqwen/cauchy/stable.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/action.hpp>
#include <causalqwen/head/targets.hpp>

#include <cmath>
#include <cstddef>
#include <numbers>
#include <string_view>
#include <vector>

namespace causalqwen::head {

enum class ClassReduction { sum, mean };

inline constexpr std::string_view to_string(ClassReduction r) { return r == ClassReduction::sum ? "sum" : "mean"; }

template <Real T>
struct LossOptions {
  T lambda = 1;                                       ///< weight of the <NUM> value term
  T gate_alpha = 0;                                   ///< alpha in [0, 1]
  bool gate_gradient = true;                          ///< does P_<NUM> receive gradient through the gate?
  ClassReduction class_reduction = ClassReduction::sum;
};

template <Real T>
struct LossValue {
  T total = 0;           ///< L
  T classification = 0;  ///< the class term's share of L
  T regression = 0;      ///< the gated value term's share of L
  std::size_t positions = 0;  ///< N_valid
};

template <Real T>
struct LossResult {
  LossValue<T> value;
  ActionUpstream<T> gradient;  ///< dL/d(class_loc, class_scale, value_loc, value_scale)
};

namespace detail {
/// L and, with `gradient`, dL/d(outputs) written into it (its [N x (K+1)] buffers reused).
template <Real T, Backend B>
LossValue<T> causal_loss(const ActionOutput<T>& out, const Vector<T>& threshold, const Targets<T>& targets,
                         const LossOptions<T>& options, ActionUpstream<T>* gradient, const B& backend) {
  const auto n = out.class_loc.rows();
  const auto k = out.class_loc.cols();
  require(out.class_scale.rows() == n && out.class_scale.cols() == k && out.value_loc.size() == n &&
              out.value_scale.size() == n,
          "causal_loss: action outputs have inconsistent shapes");
  require(threshold.size() == k, "causal_loss: ", threshold.size(), " thresholds for ", k, " classes");
  require(k >= 2, "causal_loss: need at least 2 classes");
  targets.validate(static_cast<std::size_t>(n), static_cast<std::size_t>(k), "causal_loss");
  require(std::isfinite(options.lambda) && options.lambda >= 0, "causal_loss: lambda must be >= 0, got ",
          options.lambda);
  require(options.gate_alpha >= 0 && options.gate_alpha <= 1, "causal_loss: gate alpha must be in [0, 1], got ",
          options.gate_alpha);

  const auto num = k - 1;
  const T reduce = options.class_reduction == ClassReduction::sum ? T(1) : T(1) / T(k);
  std::vector<std::int32_t> row_targets(static_cast<std::size_t>(n));
  std::size_t valid = 0;
  for (std::size_t i = 0; i < row_targets.size(); ++i) {
    row_targets[i] = targets.ignored(i) ? -1 : targets.classes[i];
    valid += targets.ignored(i) ? 0 : 1;
  }
  const T per_position = valid ? T(1) / T(valid) : T(0);

  LossValue<T> value;
  value.positions = valid;
  const std::vector<T> class_sums =
      backend.ovr_cross_entropy_rows(out.class_loc, out.class_scale, threshold, row_targets, per_position * reduce,
                                     gradient ? &gradient->class_loc : nullptr,
                                     gradient ? &gradient->class_scale : nullptr);
  if (gradient) {
    gradient->value_loc.setZero(n);
    gradient->value_scale.setZero(n);
  }
  const auto reject = [](Eigen::Index i) {
    fail("causal_loss: position ", i,
         " has a non-positive scale; the loss needs a likelihood (not a point mode such as deterministic or "
         "causal-sample)");
  };
  for (Eigen::Index i = 0; i < n; ++i) {
    const auto si = static_cast<std::size_t>(i);
    if (row_targets[si] < 0) continue;
    if (std::isnan(class_sums[si])) reject(i);
    value.classification += per_position * reduce * class_sums[si];
    if (row_targets[si] != num || options.lambda == 0) continue;
    const T y_scale = out.value_scale(i);
    if (!(y_scale > 0)) reject(i);
    const T y = targets.values(i);
    const T nll = stable::cauchy_nll(y, out.value_loc(i), y_scale);
    const T margin = out.class_loc(i, num) - threshold(num);
    const T scale = out.class_scale(i, num);
    const T p_num = stable::ovr_probability(margin, scale);
    const T gate = options.gate_alpha + (T(1) - options.gate_alpha) * p_num;
    value.regression += per_position * options.lambda * gate * nll;
    if (!gradient) continue;
    auto& grad = *gradient;
    const auto g = stable::cauchy_nll_gradient(y, out.value_loc(i), y_scale);
    grad.value_loc(i) = per_position * options.lambda * gate * g.d_loc;
    grad.value_scale(i) = per_position * options.lambda * gate * g.d_scale;
    if (options.gate_gradient && options.gate_alpha < 1) {
      // dP/dm = s / (pi (m^2 + s^2)), dP/ds = -m / (pi (m^2 + s^2)), via hypot to avoid overflow.
      const T h = std::hypot(margin, scale);
      const T d_p = per_position * options.lambda * nll * (T(1) - options.gate_alpha) / std::numbers::pi_v<T>;
      grad.class_loc(i, num) += d_p * (scale / h) / h;
      grad.class_scale(i, num) -= d_p * (margin / h) / h;
    }
  }
  value.total = value.classification + value.regression;
  require(std::isfinite(value.total), "causal_loss: loss is not finite (", value.total, ")");
  return value;
}
}  // namespace detail

/// L and, if `with_gradient`, dL/d(outputs). `threshold` is C; a position needs every class
/// scale > 0 (and, at <NUM>, value scale > 0): point modes (deterministic, causal-sample) have
/// no likelihood and are rejected here. The [N x (K+1)] class term runs on `backend`.
template <Real T, Backend B = CpuBackend<T>>
LossResult<T> causal_loss(const ActionOutput<T>& out, const Vector<T>& threshold, const Targets<T>& targets,
                          const LossOptions<T>& options, bool with_gradient = true, const B& backend = B{}) {
  LossResult<T> result;
  result.value = detail::causal_loss(out, threshold, targets, options, with_gradient ? &result.gradient : nullptr, backend);
  return result;
}

/// L, with dL/d(outputs) written into `gradient`: a training loop passes the same upstream every
/// step, so the vocabulary-sized gradients are not allocated again.
template <Real T, Backend B = CpuBackend<T>>
LossValue<T> causal_loss(const ActionOutput<T>& out, const Vector<T>& threshold, const Targets<T>& targets,
                         const LossOptions<T>& options, ActionUpstream<T>& gradient, const B& backend = B{}) {
  return detail::causal_loss(out, threshold, targets, options, &gradient, backend);
}

}  // namespace causalqwen::head
