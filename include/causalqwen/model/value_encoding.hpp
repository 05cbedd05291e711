#pragma once
// How the value of a <NUM> position enters the backbone: a policy that turns the value into that
// position's input embedding (written in place of the token's row through the backbone's
// embedding hook).
//
//   SigmoidValueEncoding    e(v) = embedding(<NUM>) * sigma(v)                      (the design's form)
//   LogSignedValueEncoding  e(v) = embedding(<NUM>) + sign(v) ln(1 + |v|) w_num     (the reference
//                                                                                    implementation's form)
//
// Why the sigmoid form loses the value: sigma(v) = 1 / (1 + e^-v) is within 2^-24 of 1 (the spacing
// of floats just below 1) once v > ~16.6, and within 2^-53 (doubles) once v > ~36.7, so in float
// sigma(99.9) == sigma(1e6) == 1.0f exactly and every price, year or population writes the same
// embedding; negative values below ~-88 all underflow to 0 (an all-zero embedding). Only values of
// order one are told apart. The log-signed form is monotone and never saturates: ln(1 + |v|) grows
// without bound but slowly (1e6 -> 13.8, 1e-3 -> ~1e-3), it is odd in v, and v = 0 gives the plain
// <NUM> embedding. w_num is a learned direction; it starts as a fixed random direction with the
// typical size of an embedding entry.
//
// Training: both encodings are TrainableValueEncodings. The gradient that reaches a <NUM> input
// row (dL/de) flows into embedding(<NUM>) and, for the log-signed form, into w_num; the value
// itself is data and gets none.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/head/parameters.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace causalqwen::model {

/// A value encoding: the <NUM> input embedding of a finite value (non-finite -> causalqwen::error).
template <class E>
concept ValueEncoding = requires(const E& e, double value) {
  typename E::scalar_type;
  requires Real<typename E::scalar_type>;
  { E::name() } -> std::convertible_to<std::string_view>;
  { e.encode(value) } -> std::same_as<RowVector<typename E::scalar_type>>;
  { e.num_embedding() } -> std::convertible_to<const RowVector<typename E::scalar_type>&>;
  /// The starting encoding of a model: embedding(<NUM>) and the typical size of an embedding
  /// entry (root mean square), from which learned parts take their scale; `seed` draws them.
  { E::initial(RowVector<typename E::scalar_type>{}, typename E::scalar_type{}, std::uint64_t{}) } -> std::same_as<E>;
};

/// A value encoding whose parts are learned: its parameters form a head::ParameterSet (the type of
/// their gradient too, so AdamW steps them), it is rebuilt from them, and backward() adds the
/// gradient of its parameters given dL/de(value) (the gradient at a <NUM> input row).
template <class E>
concept TrainableValueEncoding =
    ValueEncoding<E> && head::ParameterSet<typename E::params_type> &&
    std::constructible_from<E, typename E::params_type> &&
    requires(const E& e, double value, const RowVector<typename E::scalar_type>& d_embedding,
             typename E::params_type& gradient) {
      { e.params() } -> std::convertible_to<typename E::params_type>;
      e.backward(value, d_embedding, gradient);
    };

namespace detail {
inline void require_finite_value(double value) {
  require(std::isfinite(value), "<NUM> value ", value, " is not finite; a <NUM> position needs a finite value");
}
template <Real T>
void require_finite_row(const RowVector<T>& row, std::string_view what) {
  require(row.size() > 0 && row.allFinite(), what, " must be non-empty and finite");
}
}  // namespace detail

/// The learned part of SigmoidValueEncoding: embedding(<NUM>).
template <Real T>
struct SigmoidEncodingParams {
  using scalar_type = T;
  RowVector<T> num_embedding;
  auto blocks() { return std::tie(num_embedding); }
  auto blocks() const { return std::tie(num_embedding); }
  static std::vector<std::string> block_names() { return {"num_embedding"}; }
};

template <Real T>
class SigmoidValueEncoding {
 public:
  using scalar_type = T;
  using params_type = SigmoidEncodingParams<T>;
  explicit SigmoidValueEncoding(RowVector<T> num_embedding) : num_(std::move(num_embedding)) {
    detail::require_finite_row(num_, "SigmoidValueEncoding: embedding(<NUM>)");
  }
  explicit SigmoidValueEncoding(params_type params) : SigmoidValueEncoding(std::move(params.num_embedding)) {}
  params_type params() const { return {num_}; }
  static constexpr std::string_view name() { return "sigmoid"; }
  static SigmoidValueEncoding initial(RowVector<T> num_embedding, T, std::uint64_t) {
    return SigmoidValueEncoding(std::move(num_embedding));
  }
  const RowVector<T>& num_embedding() const { return num_; }

  /// sigma(value) in T; saturates to exactly 1 (or 0) for |value| beyond ~17 (float) / ~37 (double).
  static T sigmoid(double value) { return T(1) / (T(1) + std::exp(-T(value))); }

  RowVector<T> encode(double value) const {
    detail::require_finite_value(value);
    return num_ * sigmoid(value);
  }
  /// e = num sigma(v): d num += sigma(v) d_e (zero once sigma saturates to 0, as e does).
  void backward(double value, const RowVector<T>& d_embedding, params_type& gradient) const {
    detail::require_finite_value(value);
    require(d_embedding.size() == num_.size() && gradient.num_embedding.size() == num_.size(),
            "SigmoidValueEncoding::backward: gradient rows of width ", d_embedding.size(), " and ",
            gradient.num_embedding.size(), " for an embedding of ", num_.size());
    gradient.num_embedding += sigmoid(value) * d_embedding;
  }

 private:
  RowVector<T> num_;
};

/// The learned parts of LogSignedValueEncoding: embedding(<NUM>) and the direction w_num.
template <Real T>
struct LogSignedEncodingParams {
  using scalar_type = T;
  RowVector<T> num_embedding;
  RowVector<T> w_num;
  auto blocks() { return std::tie(num_embedding, w_num); }
  auto blocks() const { return std::tie(num_embedding, w_num); }
  static std::vector<std::string> block_names() { return {"num_embedding", "w_num"}; }
};

template <Real T>
class LogSignedValueEncoding {
 public:
  using scalar_type = T;
  using params_type = LogSignedEncodingParams<T>;
  LogSignedValueEncoding(RowVector<T> num_embedding, RowVector<T> direction)
      : num_(std::move(num_embedding)), direction_(std::move(direction)) {
    detail::require_finite_row(num_, "LogSignedValueEncoding: embedding(<NUM>)");
    detail::require_finite_row(direction_, "LogSignedValueEncoding: w_num");
    require(num_.size() == direction_.size(), "LogSignedValueEncoding: embedding(<NUM>) has ", num_.size(),
            " entries but w_num has ", direction_.size());
  }
  explicit LogSignedValueEncoding(params_type params)
      : LogSignedValueEncoding(std::move(params.num_embedding), std::move(params.w_num)) {}
  params_type params() const { return {num_, direction_}; }
  static constexpr std::string_view name() { return "log-signed"; }
  /// w_num: a random unit direction times `entry_rms` * sqrt(H), i.e. a typical embedding's length.
  static LogSignedValueEncoding initial(RowVector<T> num_embedding, T entry_rms, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<T> normal(0, 1);
    RowVector<T> direction(num_embedding.size());
    for (Eigen::Index i = 0; i < direction.size(); ++i) direction(i) = normal(rng);
    direction *= entry_rms * std::sqrt(T(direction.size())) / direction.norm();
    return LogSignedValueEncoding(std::move(num_embedding), std::move(direction));
  }
  const RowVector<T>& num_embedding() const { return num_; }
  const RowVector<T>& direction() const { return direction_; }

  /// sign(v) ln(1 + |v|): odd, strictly increasing, ~v near 0, 13.8 at 1e6.
  static T magnitude(double value) { return T(std::copysign(std::log1p(std::abs(value)), value)); }

  RowVector<T> encode(double value) const {
    detail::require_finite_value(value);
    return num_ + magnitude(value) * direction_;
  }
  /// e = num + m(v) w_num: d num += d_e, d w_num += m(v) d_e.
  void backward(double value, const RowVector<T>& d_embedding, params_type& gradient) const {
    detail::require_finite_value(value);
    require(d_embedding.size() == num_.size() && gradient.num_embedding.size() == num_.size() &&
                gradient.w_num.size() == num_.size(),
            "LogSignedValueEncoding::backward: gradient rows of width ", d_embedding.size(), ", ",
            gradient.num_embedding.size(), " and ", gradient.w_num.size(), " for an embedding of ", num_.size());
    gradient.num_embedding += d_embedding;
    gradient.w_num += magnitude(value) * d_embedding;
  }

 private:
  RowVector<T> num_;
  RowVector<T> direction_;
};

static_assert(ValueEncoding<SigmoidValueEncoding<float>> && ValueEncoding<LogSignedValueEncoding<double>>);
static_assert(TrainableValueEncoding<SigmoidValueEncoding<double>> && TrainableValueEncoding<LogSignedValueEncoding<float>>);

}  // namespace causalqwen::model
