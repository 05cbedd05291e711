#pragma once
// Reading the library's own safetensors files (head checkpoints, knowledge deltas): required
// metadata fields, numbers stored in them, and tensors whose shape the metadata implies. Every
// error names the file, and a missing field says which kind of file was expected, so a wrong file
// is refused with a message rather than misread.

#include <causalqwen/core/error.hpp>
#include <causalqwen/core/matrix.hpp>
#include <causalqwen/core/real.hpp>
#include <causalqwen/io/safetensors.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace causalqwen::io {

/// The shortest decimal that reads back as exactly `value` (numbers in metadata round-trip).
template <Real T>
std::string shortest(T value) {
  char buffer[64];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, end);
}

/// Metadata field `key`; without it the file is "not a <kind>".
inline const std::string& required_metadata(const SafetensorsReader& reader, std::string_view kind,
                                             const std::string& key) {
  const auto& m = reader.metadata();
  const auto found = m.find(key);
  require(found != m.end(), reader.path().string(), ": not a ", kind, " (metadata field '", key, "' missing)");
  return found->second;
}

/// Metadata field `key` parsed whole as a Number (no trailing characters).
template <class Number>
Number metadata_number(const SafetensorsReader& reader, std::string_view kind, const std::string& key) {
  const std::string& text = required_metadata(reader, kind, key);
  Number value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  require(ec == std::errc() && end == text.data() + text.size(), reader.path().string(), ": metadata field '", key,
          "' is not a number: '", text, "'");
  return value;
}

/// Refuses any tensor not in `expected`: a file of a <kind> holds nothing else.
inline void require_only_tensors(const SafetensorsReader& reader, const std::vector<std::string>& expected,
                                 std::string_view kind) {
  for (const auto& name : reader.names())
    require(std::find(expected.begin(), expected.end(), name) != expected.end(), reader.path().string(),
            ": unexpected tensor '", name, "' in a ", kind);
}

/// Requires tensor `name` to exist with exactly the extents `shape` (computed from metadata sizes
/// by the caller, `implied_by` names them). Called before anything is allocated from those sizes:
/// the tensor's data lies in the file, so sizes that pass are bounded by the file's size.
inline void require_tensor_shape(const SafetensorsReader& reader, const std::string& name,
                                 std::initializer_list<std::uint64_t> shape, std::string_view implied_by) {
  const std::string where = reader.path().string();
  require(reader.contains(name), where, ": tensor '", name, "' is missing");
  const auto& view = reader.tensor(name);
  bool same = view.shape.size() == shape.size();
  for (std::size_t i = 0; same && i < shape.size(); ++i)
    same = view.shape[i] >= 0 && static_cast<std::uint64_t>(view.shape[i]) == shape.begin()[i];
  if (same) return;
  std::string want;
  for (const auto extent : shape) {
    if (!want.empty()) want += 'x';
    want += std::to_string(extent);
  }
  fail(where, ": tensor '", name, "' does not have the shape that ", implied_by, " implies (", want, ")");
}

/// Reads tensor `name` into `block`, which is already sized as the file's metadata implies; a
/// tensor of another shape is an error naming those sizes (`implied_by`, e.g. "H = 4, D = 2").
template <class Block>
  requires std::is_same_v<Block, Vector<typename Block::Scalar>> ||
           std::is_same_v<Block, RowMatrix<typename Block::Scalar>>
void read_sized(const SafetensorsReader& reader, const std::string& name, Block& block, std::string_view implied_by) {
  using T = typename Block::Scalar;
  constexpr bool is_vector = std::is_same_v<Block, Vector<T>>;
  const auto& view = reader.tensor(name);
  const bool shape_ok = is_vector ? view.shape.size() == 1 && view.shape[0] == block.size()
                                  : view.shape.size() == 2 && view.shape[0] == block.rows() &&
                                        view.shape[1] == block.cols();
  require(shape_ok, reader.path().string(), ": tensor '", name, "' does not have the shape that ", implied_by,
          " implies (", block.rows(), "x", block.cols(), ")");
  if constexpr (is_vector)
    block = reader.vector<T>(name);
  else
    block = reader.matrix<T>(name);
}

}  // namespace causalqwen::io
