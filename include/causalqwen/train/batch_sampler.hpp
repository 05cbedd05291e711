#pragma once
// The minibatches of every training run. Step s draws its batch — and the step itself draws any
// noise of a random inference mode — from a generator seeded by (seed, s) alone, so a run is a
// function of the seed and the step, not of where it was interrupted: a resumed run reproduces
// the uninterrupted one bit for bit. A batch is uniform without repeats (a partial Fisher-Yates
// shuffle); batches of different steps are independent.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/train/dataset.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

namespace causalqwen::train {

/// The generator every random draw of a training step comes from.
using StepGenerator = std::mt19937_64;

/// What a training loop samples from: a set of items (a head's positions, a model's token
/// sequences) that yields the sub-set of given indices, in that order.
template <class D>
concept SampledData = requires(const D& data, const std::vector<std::size_t>& index) {
  { data.size() } -> std::convertible_to<std::size_t>;
  { data.select(index) } -> std::same_as<D>;
};

/// A step's items (indices into the data set, in batch order) and their data.
template <SampledData Data>
struct Minibatch {
  std::vector<std::size_t> index;
  Data data;
};

/// Steps in `epochs` passes over `data_size` positions in batches of `batch_size`.
inline std::size_t steps_for_epochs(std::size_t epochs, std::size_t data_size, std::size_t batch_size) {
  require(batch_size > 0, "steps_for_epochs: batch size must be > 0");
  return epochs * ((data_size + batch_size - 1) / batch_size);
}

class BatchSampler {
 public:
  /// Batches of min(batch_size, data_size) positions of a data set of `data_size`.
  BatchSampler(std::size_t data_size, std::size_t batch_size, std::uint64_t seed)
      : batch_(std::min(batch_size, data_size)), seed_(seed), order_(data_size), swaps_(batch_) {
    require(batch_size > 0, "BatchSampler: batch size must be > 0");
    require(data_size > 0, "BatchSampler: empty data set");
    std::iota(order_.begin(), order_.end(), std::size_t{0});
  }

  std::size_t batch_size() const { return batch_; }
  std::size_t data_size() const { return order_.size(); }

  /// The generator of step `step` (0 for the first step).
  StepGenerator generator(std::size_t step) const {
    std::seed_seq seeds{std::uint32_t(seed_), std::uint32_t(seed_ >> 32), std::uint32_t(step),
                        std::uint32_t(std::uint64_t(step) >> 32)};
    return StepGenerator(seeds);
  }

  /// The positions of a batch, drawn from `rng` (the step's generator).
  std::vector<std::size_t> draw(StepGenerator& rng) {
    const std::size_t n = order_.size();
    for (std::size_t i = 0; i < batch_; ++i) {
      swaps_[i] = std::uniform_int_distribution<std::size_t>(i, n - 1)(rng);
      std::swap(order_[i], order_[swaps_[i]]);
    }
    std::vector<std::size_t> index(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(batch_));
    // Undoing the swaps restores the identity in O(batch) instead of O(data set) per step.
    for (std::size_t i = batch_; i-- > 0;) std::swap(order_[i], order_[swaps_[i]]);
    return index;
  }

  /// The batch of a step: its positions drawn from `rng`, and their data.
  template <SampledData Data>
  Minibatch<Data> draw(const Data& data, StepGenerator& rng) {
    require(data.size() == order_.size(), "BatchSampler: data set has ", data.size(), " items, the sampler ",
            order_.size());
    Minibatch<Data> batch{draw(rng), {}};
    batch.data = data.select(batch.index);
    return batch;
  }

  /// Completed passes' worth of positions before step `step` (0-based).
  std::size_t epoch(std::size_t step) const { return step * batch_ / order_.size(); }

 private:
  std::size_t batch_;
  std::uint64_t seed_;
  std::vector<std::size_t> order_;  ///< the identity between draws
  std::vector<std::size_t> swaps_;
};

}  // namespace causalqwen::train
