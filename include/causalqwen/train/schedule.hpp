#pragma once
// The learning rate as a function of the optimiser step: constant, or a linear warm-up followed
// by a cosine decay. Both have an optional warm-up, because Adam's first steps divide by a
// second moment estimated from a handful of gradients and a full-size step there can throw a
// pretrained head far from where it started. The factor multiplies AdamWOptions::learning_rate;
// it is a function of the step alone, so a resumed run follows the same curve.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numbers>

namespace causalqwen::train {

enum class ScheduleKind { constant, cosine };

template <Real T>
struct LearningRateSchedule {
  ScheduleKind kind = ScheduleKind::constant;
  std::size_t warmup_steps = 0;  ///< the factor ramps linearly from 1/warmup_steps to 1 over these steps
  std::size_t total_steps = 0;   ///< cosine: the step at which the factor reaches final_fraction
  T final_fraction = 0;          ///< cosine: the factor from total_steps on, in [0, 1]

  void validate() const {
    require(std::isfinite(final_fraction) && final_fraction >= 0 && final_fraction <= 1,
            "LearningRateSchedule: final_fraction must be in [0, 1], got ", final_fraction);
    if (kind == ScheduleKind::cosine)
      require(total_steps > warmup_steps, "LearningRateSchedule: cosine needs total_steps (", total_steps,
              ") > warmup_steps (", warmup_steps, ")");
  }

  /// The factor of optimiser step `step` (1 for the first step taken).
  T factor(std::size_t step) const {
    if (warmup_steps > 0 && step <= warmup_steps) return T(step) / T(warmup_steps);
    if (kind == ScheduleKind::constant) return T(1);
    const T progress = std::min(T(1), T(step - warmup_steps) / T(total_steps - warmup_steps));
    return final_fraction + (T(1) - final_fraction) * T(0.5) * (T(1) + std::cos(std::numbers::pi_v<T> * progress));
  }
};

}  // namespace causalqwen::train
