#pragma once
// AdamW (Loshchilov & Hutter: Adam moments, bias correction, weight decay decoupled from the
// gradient) over a named parameter set, with clipping of the global gradient norm and frozen
// blocks. A block is frozen by name prefix ("action." freezes the whole action layer): its
// gradient neither moves it nor counts in the clipping norm, which is what fine-tuning the
// abduction alone with the action fixed needs.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/parameters.hpp>

#include <Eigen/Core>

#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct AdamWOptions {
  T learning_rate = T(1e-2);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T epsilon = T(1e-8);
  T weight_decay = 0;    ///< decoupled: p -= lr * weight_decay * p
  T max_grad_norm = 0;   ///< clip the global norm of the unfrozen gradients to this; <= 0: no clipping

  void validate() const {
    require(learning_rate > 0 && std::isfinite(learning_rate), "AdamW: learning rate must be > 0, got ", learning_rate);
    require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdamW: betas must be in [0, 1), got ", beta1, ", ",
            beta2);
    require(epsilon > 0, "AdamW: epsilon must be > 0, got ", epsilon);
    require(weight_decay >= 0, "AdamW: weight decay must be >= 0, got ", weight_decay);
    require(std::isfinite(max_grad_norm), "AdamW: max_grad_norm must be finite");
  }
};

template <Real T>
struct StepInfo {
  T gradient_norm;  ///< global norm of the unfrozen gradients before clipping
  bool clipped;
};

template <head::ParameterSet P>
class AdamW {
 public:
  using T = typename P::scalar_type;

  explicit AdamW(AdamWOptions<T> options = {}) : options_(options) { options_.validate(); }

  const AdamWOptions<T>& options() const { return options_; }
  void set_learning_rate(T lr) {
    auto o = options_;
    o.learning_rate = lr;
    o.validate();
    options_ = o;
  }

  /// Blocks whose name starts with `prefix` stop moving (their moments are kept).
  void freeze(std::string prefix) { frozen_.push_back(std::move(prefix)); }
  void unfreeze(std::string_view prefix) { std::erase(frozen_, std::string(prefix)); }
  bool frozen(std::string_view name) const {
    for (const auto& prefix : frozen_)
      if (name.starts_with(prefix)) return true;
    return false;
  }
  std::size_t steps() const { return steps_; }

  /// The moments and the step count: what resuming a run needs besides the parameters.
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  struct State {
    std::size_t steps = 0;
    std::vector<Array> first, second;  ///< per block, in block order; empty before the first step
  };
  State state() const { return {steps_, first_, second_}; }
  void restore(State state) {
    require(state.first.size() == state.second.size(), "AdamW: state has ", state.first.size(), " first and ",
            state.second.size(), " second moments");
    for (std::size_t i = 0; i < state.first.size(); ++i)
      require(state.first[i].size() == state.second[i].size() && state.first[i].allFinite() &&
                  state.second[i].allFinite() && (state.second[i] >= 0).all(),
              "AdamW: moments of block ", i, " are inconsistent or not finite");
    steps_ = state.steps;
    first_ = std::move(state.first);
    second_ = std::move(state.second);
  }

  /// One update of `params` from `grads` (same struct type and shapes). A non-finite gradient
  /// is an error and leaves the parameters untouched.
  StepInfo<T> step(P& params, const P& grads) {
    T squared = 0;
    head::for_each_block(grads, [&](const std::string& name, const auto& g) {
      if (frozen(name)) return;
      require(g.allFinite(), "AdamW: gradient of ", name, " is not finite");
      squared += g.squaredNorm();
    });
    const T norm = std::sqrt(squared);
    const bool clip = options_.max_grad_norm > 0 && norm > options_.max_grad_norm;
    const T factor = clip ? options_.max_grad_norm / norm : T(1);

    if (first_.empty()) {
      head::for_each_block(params, [&](const std::string&, const auto& p) {
        first_.push_back(Array::Zero(p.size()));
        second_.push_back(Array::Zero(p.size()));
      });
    }
    ++steps_;
    const T correction1 = T(1) - std::pow(options_.beta1, T(steps_));
    const T correction2 = T(1) - std::pow(options_.beta2, T(steps_));
    const T lr = options_.learning_rate;
    std::size_t index = 0;
    head::for_each_block_pair(params, grads, [&](const std::string& name, auto& p, const auto& g) {
      const std::size_t i = index++;
      require(first_[i].size() == p.size(), "AdamW: parameter block ", name, " changed size since the first step");
      if (frozen(name)) return;
      Eigen::Map<Array> value(p.data(), p.size());
      const Eigen::Map<const Array> gradient(g.data(), g.size());
      first_[i] = options_.beta1 * first_[i] + (T(1) - options_.beta1) * factor * gradient;
      second_[i] = options_.beta2 * second_[i] + (T(1) - options_.beta2) * (factor * gradient).square();
      if (options_.weight_decay > 0) value *= T(1) - lr * options_.weight_decay;
      value -= lr * (first_[i] / correction1) / ((second_[i] / correction2).sqrt() + options_.epsilon);
    });
    return {norm, clip};
  }

 private:
  AdamWOptions<T> options_;
  std::vector<std::string> frozen_;
  std::vector<Array> first_;
  std::vector<Array> second_;
  std::size_t steps_ = 0;
};

}  // namespace causalqwen::train
