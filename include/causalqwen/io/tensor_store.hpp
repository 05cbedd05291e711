#pragma once
// Tensors held in memory under their names: what a safetensors file will contain before it is
// written, or a model's weights made in memory (tests, benchmarks). Views stay valid while the
// store lives, whatever is added later.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/dtype.hpp>
#include <causalqwen/io/tensor.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causalqwen::io {

class TensorStore {
 public:
  void set_metadata(std::string key, std::string value) { metadata_[std::move(key)] = std::move(value); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  /// Stored as F32 (float) or F64 (double), shape [rows, cols]; the round trip is bit-exact.
  template <Real T>
  void add(std::string name, const RowMatrix<T>& m) {
    add_as(std::move(name), native_dtype<T>(), m);
  }
  template <Real T>
  void add(std::string name, const Vector<T>& v) {
    add_as(std::move(name), native_dtype<T>(), v);
  }

  /// Stores a matrix in any floating dtype (F16/BF16 round to nearest even).
  template <Real T>
  void add_as(std::string name, DType dtype, const RowMatrix<T>& m) {
    store(std::move(name), dtype, {static_cast<std::int64_t>(m.rows()), static_cast<std::int64_t>(m.cols())}, m.data(),
          static_cast<std::size_t>(m.size()));
  }
  template <Real T>
  void add_as(std::string name, DType dtype, const Vector<T>& v) {
    store(std::move(name), dtype, {static_cast<std::int64_t>(v.size())}, v.data(), static_cast<std::size_t>(v.size()));
  }

  void add_raw(std::string name, DType dtype, std::vector<std::int64_t> shape, std::span<const std::byte> bytes) {
    check_new(name, shape);
    std::uint64_t elements = 1;
    for (std::int64_t extent : shape) elements *= static_cast<std::uint64_t>(extent);
    require(elements * dtype_size(dtype) == bytes.size(), "tensor '", name, "' has ", bytes.size(),
            " bytes but its shape and dtype ", dtype_name(dtype), " need ", elements * dtype_size(dtype));
    insert(std::move(name), dtype, std::move(shape), std::vector<std::byte>(bytes.begin(), bytes.end()));
  }

  bool contains(std::string_view name) const { return index_.find(name) != index_.end(); }
  const TensorView& tensor(std::string_view name) const {
    const auto found = index_.find(name);
    if (found == index_.end()) fail("tensor store: no tensor named '", name, "'");
    return entries_[found->second].view;
  }
  /// Tensor names in the order they were added.
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& entry : entries_) out.push_back(entry.view.name);
    return out;
  }

 private:
  struct Entry {
    std::vector<std::byte> bytes;
    TensorView view;
  };

  void check_new(const std::string& name, const std::vector<std::int64_t>& shape) const {
    require(!name.empty() && name != "__metadata__", "invalid tensor name '", name, "'");
    require(!contains(name), "tensor '", name, "' added twice");
    for (std::int64_t extent : shape) require(extent >= 0, "tensor '", name, "' has a negative extent");
  }

  template <Real T>
  void store(std::string name, DType dtype, std::vector<std::int64_t> shape, const T* values, std::size_t count) {
    require(is_floating(dtype), "tensor '", name, "': floating values cannot be stored as ", dtype_name(dtype));
    check_new(name, shape);
    std::vector<std::byte> bytes(count * dtype_size(dtype));
    store_elements(dtype, values, count, bytes.data());
    insert(std::move(name), dtype, std::move(shape), std::move(bytes));
  }

  void insert(std::string name, DType dtype, std::vector<std::int64_t> shape, std::vector<std::byte> bytes) {
    index_.emplace(name, entries_.size());
    Entry& entry = entries_.emplace_back();
    entry.bytes = std::move(bytes);
    entry.view = TensorView{std::move(name), dtype, std::move(shape), std::span<const std::byte>(entry.bytes)};
  }

  std::map<std::string, std::string> metadata_;
  std::deque<Entry> entries_;  // a deque never moves its elements, so views stay valid
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace causalqwen::io
