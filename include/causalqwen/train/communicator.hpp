#pragma once
// How the processes of a data-parallel run talk: each of `size()` processes (ranks) computes the
// gradient of its share of the global batch and the sums are made the same on every rank. A
// one-process run uses SingleProcess, whose sums are the identity; MpiCommunicator
// (train/mpi_communicator.hpp) is the same interface over MPI.

#include <causalqwen/core/real.hpp>
#include <causalqwen/head/parameters.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <span>
#include <tuple>
#include <vector>

namespace causalqwen::train {

template <class C>
concept Communicator = requires(C& c, std::span<float> f, std::span<double> d) {
  { c.rank() } -> std::convertible_to<int>;
  { c.size() } -> std::convertible_to<int>;
  c.sum(f);  ///< element-wise sum over the ranks, in place, the same result on every rank
  c.sum(d);
  c.barrier();
};

struct SingleProcess {
  int rank() const { return 0; }
  int size() const { return 1; }
  template <Real T>
  void sum(std::span<T>) {}
  void barrier() {}
};

/// The items [begin, end) of a global batch of `count` items that `rank` of `size` computes:
/// contiguous, as equal as possible, together exactly the batch.
struct Share {
  std::size_t begin, end;
};
inline Share share_of(std::size_t count, int rank, int size) {
  const auto r = static_cast<std::size_t>(rank), n = static_cast<std::size_t>(size);
  return {count * r / n, count * (r + 1) / n};
}

/// Sums every block of `params` over the ranks in place. Blocks of at least `bucket` entries are
/// reduced where they are; smaller ones are packed into buckets of about `bucket` entries, so a
/// model's many small blocks (norms, biases) cost a few messages instead of one each.
template <Communicator C, head::ParameterSet P>
void sum_over_ranks(C& communicator, P& params, std::size_t bucket = std::size_t(1) << 20) {
  using T = typename P::scalar_type;
  if (communicator.size() == 1) return;
  std::vector<T> packed;
  std::vector<std::span<T>> members;
  const auto flush = [&] {
    if (packed.empty()) return;
    communicator.sum(std::span<T>(packed));
    std::size_t offset = 0;
    for (std::span<T> m : members) {
      std::copy_n(packed.begin() + std::ptrdiff_t(offset), m.size(), m.begin());
      offset += m.size();
    }
    packed.clear();
    members.clear();
  };
  std::apply(
      [&](auto&... block) {
        const auto one = [&](auto& b) {
          const std::span<T> entries(b.data(), static_cast<std::size_t>(b.size()));
          if (entries.size() >= bucket) {
            communicator.sum(entries);
            return;
          }
          if (packed.size() + entries.size() > bucket) flush();
          packed.insert(packed.end(), entries.begin(), entries.end());
          members.push_back(entries);
        };
        (one(block), ...);
      },
      params.blocks());
  flush();
}

}  // namespace causalqwen::train
