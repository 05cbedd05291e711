#pragma once
// Keys and values of every position a model has already seen, per layer, so that decoding one
// more token costs one position's work instead of re-running the whole sequence. The storage
// belongs to the backend (host memory for CpuBackend) and grows geometrically on demand.

#include <causalqwen/backend/backend.hpp>
#include <causalqwen/core/error.hpp>

#include <cstdint>
#include <vector>

namespace causalqwen {

template <Backend B>
class KvCache {
 public:
  using Matrix = typename B::Matrix;

  KvCache(std::int64_t layers, std::int64_t width) : width_(width), keys_(layers), values_(layers) {}

  /// Number of positions cached; the next token fed is at this position.
  std::int64_t length() const { return length_; }
  std::int64_t layers() const { return static_cast<std::int64_t>(keys_.size()); }
  std::int64_t width() const { return width_; }

  /// Forgets positions from `length` on (e.g. to re-decode from an earlier point).
  void truncate(std::int64_t length) {
    require(length >= 0 && length <= length_, "KvCache: cannot truncate ", length_, " positions to ", length);
    length_ = length;
  }
  void clear() { length_ = 0; }

  /// Stores the keys and values of `count` new positions of `layer`, which follow the cached ones.
  void store(const B& backend, std::int64_t layer, const Matrix& keys, const Matrix& values) {
    const std::int64_t count = backend.rows(keys);
    backend.grow_rows(keys_[layer], length_ + count, width_);
    backend.grow_rows(values_[layer], length_ + count, width_);
    backend.copy_rows(keys, keys_[layer], length_);
    backend.copy_rows(values, values_[layer], length_);
  }
  /// Marks `count` stored positions as cached once every layer holds them.
  void advance(std::int64_t count) { length_ += count; }

  const Matrix& keys(std::int64_t layer) const { return keys_[layer]; }
  const Matrix& values(std::int64_t layer) const { return values_[layer]; }

 private:
  std::int64_t width_;
  std::int64_t length_ = 0;
  std::vector<Matrix> keys_;
  std::vector<Matrix> values_;
};

}  // namespace causalqwen
