#pragma once
// AdamW (Loshchilov & Hutter: Adam moments, bias correction, weight decay decoupled from the
// gradient) over a named parameter set, with clipping of the global gradient norm, a learning
// rate schedule and frozen blocks. A block is frozen by name prefix ("action." freezes the whole
// action layer): its gradient neither moves it nor counts in the clipping norm, which is what
// fine-tuning the abduction alone with the action fixed needs.
//
// The moments are allocated once, from the parameters' shapes at construction: for a head the
// size of an lm_head they are two copies of it, and the steady-state step must not allocate.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/parameters.hpp>
#include <causalqwen/train/schedule.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace causalqwen::train {

template <Real T>
struct AdamWOptions {
  T learning_rate = T(1e-2);  ///< the peak rate; step s uses learning_rate * schedule.factor(s)
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  T epsilon = T(1e-8);
  T weight_decay = 0;    ///< decoupled: p -= lr * weight_decay * p
  T max_grad_norm = 0;   ///< clip the global norm of the unfrozen gradients to this; <= 0: no clipping
  LearningRateSchedule<T> schedule{};

  void validate() const {
    require(learning_rate > 0 && std::isfinite(learning_rate), "AdamW: learning rate must be > 0, got ", learning_rate);
    require(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "AdamW: betas must be in [0, 1), got ", beta1, ", ",
            beta2);
    require(epsilon > 0, "AdamW: epsilon must be > 0, got ", epsilon);
    require(weight_decay >= 0, "AdamW: weight decay must be >= 0, got ", weight_decay);
    require(std::isfinite(max_grad_norm), "AdamW: max_grad_norm must be finite");
    schedule.validate();
  }
};

template <Real T>
struct StepInfo {
  T gradient_norm;  ///< global norm of the unfrozen gradients before clipping
  bool clipped;
  T learning_rate;  ///< the rate this step used (after the schedule)
};

template <head::ParameterSet P>
class AdamW {
 public:
  using T = typename P::scalar_type;
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;

  /// Moments of the shapes of `params` (zero), allocated here and nowhere else.
  explicit AdamW(const P& params, AdamWOptions<T> options = {})
      : options_(options), names_(P::block_names()), frozen_(names_.size(), false) {
    options_.validate();
    each_block([&](std::size_t, const auto& p) {
      first_.push_back(Array::Zero(p.size()));
      second_.push_back(Array::Zero(p.size()));
    }, params);
  }

  const AdamWOptions<T>& options() const { return options_; }
  void set_learning_rate(T lr) {
    auto o = options_;
    o.learning_rate = lr;
    o.validate();
    options_ = o;
  }

  /// Blocks whose name starts with `prefix` stop moving (their moments are kept).
  void freeze(std::string prefix) {
    prefixes_.push_back(std::move(prefix));
    update_frozen();
  }
  void unfreeze(std::string_view prefix) {
    std::erase(prefixes_, std::string(prefix));
    update_frozen();
  }
  bool frozen(std::string_view name) const {
    for (const auto& prefix : prefixes_)
      if (name.starts_with(prefix)) return true;
    return false;
  }
  std::size_t steps() const { return steps_; }

  /// The moments and the step count: what resuming a run needs besides the parameters.
  struct State {
    std::size_t steps = 0;
    std::vector<Array> first, second;  ///< per block, in block order
  };
  State state() const { return {steps_, first_, second_}; }
  /// Replaces the state; the moments must have the shapes this optimiser was built for.
  void restore(State state) {
    require(state.first.size() == first_.size() && state.second.size() == first_.size(), "AdamW: state has ",
            state.first.size(), " first and ", state.second.size(), " second moments, the parameters have ",
            first_.size(), " blocks");
    for (std::size_t i = 0; i < first_.size(); ++i)
      require(state.first[i].size() == first_[i].size() && state.second[i].size() == first_[i].size() &&
                  all_finite(state.first[i]) && all_finite(state.second[i]) && (state.second[i] >= 0).all(),
              "AdamW: moments of ", names_[i], " have the wrong size or are not finite and non-negative");
    steps_ = state.steps;
    first_ = std::move(state.first);
    second_ = std::move(state.second);
  }

  /// One update of `params` from `grads` (same struct type and shapes). A non-finite gradient
  /// is an error and leaves the parameters untouched.
  StepInfo<T> step(P& params, const P& grads) {
    // One pass over each gradient block gives its squared norm; a NaN or infinity anywhere makes
    // that sum non-finite, so only then is the block searched to tell it from an overflow.
    T squared = 0;
    each_block([&](std::size_t i, const auto& p, const auto& g) {
      if (p.rows() != g.rows() || p.cols() != g.cols() || first_[i].size() != p.size())
        fail("AdamW: parameter block ", names_[i], " is ", p.rows(), "x", p.cols(), ", its gradient ", g.rows(), "x",
             g.cols(), ", its moments ", first_[i].size(), " entries");
      if (frozen_[i]) return;
      const T s = g.squaredNorm();
      if (!std::isfinite(s) && !g.allFinite()) fail("AdamW: gradient of ", names_[i], " is not finite");
      squared += s;
    }, params, grads);
    const T norm = std::sqrt(squared);
    const bool clip = options_.max_grad_norm > 0 && norm > options_.max_grad_norm;
    const T factor = clip ? options_.max_grad_norm / norm : T(1);

    ++steps_;
    const T correction1 = T(1) - std::pow(options_.beta1, T(steps_));
    const T correction2 = T(1) - std::pow(options_.beta2, T(steps_));
    const T lr = options_.learning_rate * options_.schedule.factor(steps_);
    // The three updates run chunk by chunk, so that each chunk of the parameter, its gradient
    // and its moments is read from memory once: at the lm_head shape the step streams 3.8 GB
    // instead of 6.
    constexpr Eigen::Index chunk = 4096;
    each_block([&](std::size_t i, auto& p, const auto& g) {
      if (frozen_[i]) return;
      const Eigen::Index size = p.size();
      for (Eigen::Index begin = 0; begin < size; begin += chunk) {
        const Eigen::Index length = std::min(chunk, size - begin);
        Eigen::Map<Array> value(p.data() + begin, length);
        const Eigen::Map<const Array> gradient(g.data() + begin, length);
        auto first = first_[i].segment(begin, length);
        auto second = second_[i].segment(begin, length);
        first = options_.beta1 * first + (T(1) - options_.beta1) * factor * gradient;
        second = options_.beta2 * second + (T(1) - options_.beta2) * (factor * gradient).square();
        if (options_.weight_decay > 0) value *= T(1) - lr * options_.weight_decay;
        value -= lr * (first / correction1) / ((second / correction2).sqrt() + options_.epsilon);
      }
    }, params, grads);
    return {norm, clip, lr};
  }

 private:
  // f(block index, block of every set): the step walks blocks by index, with the names cached in
  // names_, because head::for_each_block rebuilds the names (strings) on every call.
  template <class F, class... Sets>
  static void each_block(F&& f, Sets&... sets) {
    auto blocks = std::make_tuple(sets.blocks()...);
    constexpr std::size_t count = std::tuple_size_v<decltype(std::declval<const P&>().blocks())>;
    const auto visit = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      std::apply([&](auto&... of_set) { f(I, std::get<I>(of_set)...); }, blocks);
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (visit(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<count>{});
  }

  void update_frozen() {
    for (std::size_t i = 0; i < names_.size(); ++i) frozen_[i] = frozen(names_[i]);
  }

  AdamWOptions<T> options_;
  std::vector<std::string> names_;
  std::vector<std::string> prefixes_;
  std::vector<bool> frozen_;  ///< per block, from prefixes_
  std::vector<Array> first_;
  std::vector<Array> second_;
  std::size_t steps_ = 0;
};

}  // namespace causalqwen::train
