#pragma once
// A stand-in backbone for mock mode: deterministic pseudo-random hidden states of the right
// shape. The state at position t is a function of (seed, tokens[0..t]) only — like a causal
// language model's, it depends on the prefix and not on what follows — and its entries are
// standard normal. It uses its own splitmix64/Box-Muller stream, so the numbers are the same on
// every platform and standard library.

#include <causalqwen/backbone/backbone.hpp>
#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <span>

namespace causalqwen {

template <Real T = float>
class MockBackbone {
 public:
  using scalar_type = T;

  explicit MockBackbone(std::size_t hidden_size, std::uint64_t seed = 0) : hidden_(hidden_size), seed_(seed) {
    require(hidden_size > 0, "MockBackbone: hidden size must be > 0");
  }

  std::size_t hidden_size() const { return hidden_; }

  RowMatrix<T> hidden_states(std::span<const TokenId> tokens) const {
    RowMatrix<T> out(static_cast<Eigen::Index>(tokens.size()), static_cast<Eigen::Index>(hidden_));
    std::uint64_t prefix = mix(seed_ ^ 0x6d6f636b'6261636bULL);
    for (std::size_t t = 0; t < tokens.size(); ++t) {
      require(tokens[t] >= 0, "MockBackbone: negative token id ", tokens[t], " at position ", t);
      prefix = mix(prefix ^ (static_cast<std::uint64_t>(tokens[t]) + 0x9e3779b97f4a7c15ULL));
      std::uint64_t state = prefix;
      for (std::size_t j = 0; j < hidden_; j += 2) {
        // Box-Muller: two uniforms in (0, 1] -> two independent standard normals.
        const double u1 = (double((next(state) >> 11) + 1)) * 0x1.0p-53;
        const double u2 = double(next(state) >> 11) * 0x1.0p-53;
        const double radius = std::sqrt(-2.0 * std::log(u1));
        const double angle = 2.0 * std::numbers::pi * u2;
        out(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(j)) = static_cast<T>(radius * std::cos(angle));
        if (j + 1 < hidden_)
          out(static_cast<Eigen::Index>(t), static_cast<Eigen::Index>(j + 1)) = static_cast<T>(radius * std::sin(angle));
      }
    }
    return out;
  }

 private:
  static std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::uint64_t next(std::uint64_t& state) { return mix(state += 0x9e3779b97f4a7c15ULL); }

  std::size_t hidden_;
  std::uint64_t seed_;
};

static_assert(Backbone<MockBackbone<float>> && Backbone<MockBackbone<double>>);

}  // namespace causalqwen
